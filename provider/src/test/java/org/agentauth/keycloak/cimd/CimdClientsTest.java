package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CimdClientsTest {

    @Test
    void consentTextMarksTheNameAsSelfDeclaredAndNamesTheRedirectHosts() {
        String t = CimdClients.consentText(new CimdDocument("https://app.example.com/c.json", "Example <b>App</b> ${x} 'q'",
                List.of("https://app.example.com/cb", "https://app.example.com/cb2", "com.example.app:/cb")));
        assertEquals("Calls itself \"Example ?b?App?/b? ??x? ?q?\" (self-declared, not verified); sends you back to app.example.com, com.example.app:", t);
        assertFalse(t.contains("<") || t.contains("$") || t.contains("{") || t.contains("'"));
        String loopback = CimdClients.consentText(new CimdDocument("https://app.example.com/c.json", "Tool",
                List.of("http://127.0.0.1/cb", "http://localhost:8000/cb")));
        assertTrue(loopback.endsWith("Every redirect is on this computer: continue only if you just started this application yourself"), loopback);
        assertTrue(loopback.contains("sends you back to 127.0.0.1, localhost"), loopback);
    }
}
