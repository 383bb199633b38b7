package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CimdHostsTest {

    @Test
    void normalForms() {
        assertEquals("app.example.com", CimdHosts.normalize(" App.Example.COM "));
        assertEquals("*.example.com", CimdHosts.normalize("*.Example.com"));
        assertEquals("xn--bcher-kva.example", CimdHosts.normalize("bücher.example"));
        assertEquals("*.xn--bcher-kva.example", CimdHosts.normalize("*.bücher.example"));
        assertEquals("::1", CimdHosts.normalize("[::1]"));
        for (String bad : new String[] {"", " ", "https://x.example", "x.example/path", "x.example:443", "*", "*.", "a..b", "x_y.example", "*x.example"}) {
            assertThrows(IllegalArgumentException.class, () -> CimdHosts.normalize(bad), bad);
        }
    }

    @Test
    void matching() {
        assertTrue(CimdHosts.matches("app.example.com", "app.example.com"));
        assertFalse(CimdHosts.matches("app.example.com", "x.app.example.com"));
        assertTrue(CimdHosts.matches("*.example.com", "a.example.com"));
        assertTrue(CimdHosts.matches("*.example.com", "a.b.example.com"));
        assertFalse(CimdHosts.matches("*.example.com", "example.com"));
        assertFalse(CimdHosts.matches("*.example.com", "badexample.com"));
    }
}
