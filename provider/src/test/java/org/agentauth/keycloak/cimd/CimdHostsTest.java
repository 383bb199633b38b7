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

    @Test
    void displayTruncatesFromTheLeftSoThatTheRegistrableDomainStaysVisible() {
        assertEquals("app.example.com", CimdHosts.display("app.example.com"));
        assertEquals("app.example.com", CimdHosts.display("App.Example.COM"));
        assertEquals("xn--bcher-kva.example", CimdHosts.display("bücher.example"), "punycode, so look-alikes show");
        assertEquals("", CimdHosts.display(null));
        String exact = "a".repeat(CimdHosts.MAX_SHOWN - 12) + ".example.com";
        assertEquals(exact, CimdHosts.display(exact), "exactly the limit: whole");
        // a look-alike pushed to the left: the end stays, cut at a label boundary
        String spoof = "login.microsoftonline.com.account-verify-session-12345.evil.example";
        String shown = CimdHosts.display(spoof);
        assertTrue(shown.length() <= CimdHosts.MAX_SHOWN, shown);
        assertTrue(shown.startsWith("\u2026.") && shown.endsWith(".evil.example"), shown);
        assertEquals("\u2026.evil.example", shown, "the partial label account-verify-... is dropped");
        assertEquals("\u2026.account-verify-session-12345.evil.example", CimdHosts.display(spoof, 44));
        assertEquals("\u2026.example.com", CimdHosts.display("abcdefghijklmnop.example.com", 14));
        // one long label: the plain tail (a cut at its dot would leave only the top-level domain)
        assertEquals("\u2026" + "x".repeat(30) + ".example", CimdHosts.display("x".repeat(60) + ".example", 39));
        assertEquals("\u2026" + "b".repeat(20) + ".com", CimdHosts.display("a".repeat(50) + "b".repeat(20) + ".com", 25));
        for (int max = 2; max < 60; max++) {
            String d = CimdHosts.display(spoof, max);
            assertTrue(d.length() <= max && spoof.endsWith(d.substring(1)), max + ": " + d);
        }
    }
}
