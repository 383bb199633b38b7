package org.agentauth.keycloak.vault.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ProxyRulesTest {

    private static final String BASE = "https://api.example.com/v1";

    @Test
    void mapsThePathBelowTheBase() throws Exception {
        assertEquals("https://api.example.com/v1/users/me", ProxyRules.upstream(BASE, "/users/me", null).toString());
        assertEquals("https://api.example.com/v1", ProxyRules.upstream(BASE, "", null).toString());
        assertEquals("https://api.example.com/v1/a%20b?q=1&x=%2F", ProxyRules.upstream(BASE + "/", "/a%20b", "q=1&x=%2F").toString());
        assertEquals("https://api.example.com/v1/e?q=1", ProxyRules.upstream(BASE, "/e", "connection_id=abc&q=1").toString(),
                "connection_id is never forwarded");
        assertEquals("abc", ProxyRules.connectionParam("q=1&connection_id=abc"));
    }

    @Test
    void refusesEveryWayOut() {
        for (String path : new String[] {"/..", "/../admin", "/a/../../b", "/.", "/%2e%2e/x", "/%2E%2e", "/a%2fb", "/a%2Fb", "/a%5cb",
                "/a\\b", "/a%00b", "//evil.example/x", "/a//b", "/a b", "/a#b", "/a?b", "/%zz", "/%4", "x", "/a\u0000"}) {
            assertThrows(ProxyRules.Refused.class, () -> ProxyRules.upstream(BASE, path, null), path);
        }
        for (String query : new String[] {"a=%00", "a=%zz", "a=b c", "a=<", "a=\"x\""}) {
            assertThrows(ProxyRules.Refused.class, () -> ProxyRules.upstream(BASE, "/x", query), query);
        }
        assertThrows(ProxyRules.Refused.class, () -> ProxyRules.upstream(null, "/x", null));
        assertThrows(ProxyRules.Refused.class, () -> ProxyRules.upstream(BASE, "/" + "a".repeat(5000), null));
    }

    @Test
    void headerAllowLists() {
        for (String h : new String[] {"cookie", "authorization", "forwarded", "x-forwarded-for", "host", "upgrade", "connection"}) {
            assertFalse(ProxyRules.REQUEST_HEADERS.contains(h), h);
        }
        assertTrue(ProxyRules.REQUEST_HEADERS.contains("if-none-match"));
        assertFalse(ProxyRules.RESPONSE_HEADERS.contains("set-cookie"));
        assertFalse(ProxyRules.RESPONSE_HEADERS.contains("location"));
    }
}
