package org.agentauth.keycloak.resource;

import org.agentauth.keycloak.agent.ResourceServers;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class ResourceIndicatorsTest {

    @Test
    void normalizeLowerCasesSchemeAndHostOnly() {
        assertEquals("https://tools.example.com/MCP?x=Y", ResourceServers.normalize("HTTPS://Tools.Example.COM/MCP?x=Y"));
        assertEquals("http://localhost:3000/mcp", ResourceServers.normalize("HTTP://LocalHost:3000/mcp"));
        assertEquals("https://User@tools.example.com:8443", ResourceServers.normalize("https://User@TOOLS.example.com:8443"));
        assertEquals("urn:Example:Thing", ResourceServers.normalize("URN:Example:Thing"));
    }

    @Test
    void normalizeRefusesWhatIsNotAnAbsoluteUriWithoutFragment() {
        for (String bad : new String[] {"mcp", "/mcp", "", " ", "https://x.example.com/mcp#f", "not a uri"}) {
            assertThrows(IllegalArgumentException.class, () -> ResourceServers.normalize(bad), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> ResourceServers.normalize(null));
        assertThrows(IllegalArgumentException.class, () -> ResourceServers.normalize("https://x.example.com/" + "a".repeat(2000)));
    }

    @Test
    void listsRoundTrip() {
        assertEquals(List.of("https://a/x", "https://b/y"), ResourceIndicators.splitList(ResourceIndicators.join(List.of("https://a/x", "https://b/y"))));
        assertEquals(List.of(), ResourceIndicators.splitList(null));
        assertEquals(List.of("https://a/x"), ResourceIndicators.strings(List.of("https://a/x", 3)));
        assertEquals(List.of("https://a/x"), ResourceIndicators.strings("https://a/x"));
        assertEquals(List.of(), ResourceIndicators.strings(null));
    }
}
