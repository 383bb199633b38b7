package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CimdRedirectsTest {

    @ParameterizedTest
    @ValueSource(strings = {"https://app.example.com/cb", "http://127.0.0.1:3000/cb", "http://[::1]/cb", "http://localhost:8123/callback",
            "com.example.app:/oauth2redirect", "https://app.example.com/cb?x=1"})
    void accepted(String uri) {
        assertNull(CimdRedirects.refusal(uri), uri);
    }

    @ParameterizedTest
    @ValueSource(strings = {"https://app.example.com/cb/*", "https://*.example.com/cb", "*", "http://app.example.com/cb",
            "http://10.0.0.1/cb", "https://app.example.com/cb#f", "/cb", "cb", "javascript:alert(1)", "myapp:/cb",
            "https://u@app.example.com/cb", "https://app.example.com/c b", "data:text/html,x", ""})
    void refused(String uri) {
        assertNotNull(CimdRedirects.refusal(uri), uri);
    }

    @Test
    void loopbackIsStoredWithoutPortSoAnyPortMatches() {
        assertEquals("http://127.0.0.1/cb", CimdRedirects.stored("http://127.0.0.1:3000/cb"));
        assertEquals("http://[::1]/cb?a=b", CimdRedirects.stored("http://[::1]:9/cb?a=b"));
        assertEquals("http://localhost/cb", CimdRedirects.stored("http://localhost/cb"));
        assertEquals("https://app.example.com:8443/cb", CimdRedirects.stored("https://app.example.com:8443/cb"));
    }

    @Test
    void matchingIsExactButLoopbackAnyPort() {
        List<String> doc = List.of("https://app.example.com/cb", "http://127.0.0.1:3000/callback");
        assertTrue(CimdRedirects.matches(doc, "https://app.example.com/cb"));
        assertTrue(CimdRedirects.matches(doc, "http://127.0.0.1:51234/callback"));
        assertTrue(CimdRedirects.matches(doc, "http://127.0.0.1/callback"));
        assertFalse(CimdRedirects.matches(doc, "https://app.example.com/cb/x"));
        assertFalse(CimdRedirects.matches(doc, "https://app.example.com/cb?x=1"));
        assertFalse(CimdRedirects.matches(doc, "https://app.example.com/CB"));
        assertFalse(CimdRedirects.matches(doc, "http://127.0.0.1:51234/callback/x"));
        assertFalse(CimdRedirects.matches(doc, "http://localhost:3000/callback"));
        assertFalse(CimdRedirects.matches(doc, "https://127.0.0.1:3000/callback"));
        assertFalse(CimdRedirects.matches(doc, null));
    }

    @Test
    void allLoopbackAndDigest() {
        assertTrue(CimdRedirects.allLoopback(List.of("http://127.0.0.1:1/a", "http://localhost/b")));
        assertFalse(CimdRedirects.allLoopback(List.of("http://127.0.0.1:1/a", "https://x.example/b")));
        // the port of a loopback entry does not change the set; anything else does
        assertEquals(CimdRedirects.digest(List.of("http://127.0.0.1:1/a", "https://x/b")), CimdRedirects.digest(List.of("https://x/b", "http://127.0.0.1:2/a")));
        assertNotEquals(CimdRedirects.digest(List.of("https://x/b")), CimdRedirects.digest(List.of("https://x/c")));
    }
}
