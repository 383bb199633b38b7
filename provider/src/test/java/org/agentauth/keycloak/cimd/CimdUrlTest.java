package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class CimdUrlTest {

    @ParameterizedTest
    @ValueSource(strings = {"https://app.example.com/client.json", "https://app.example.com:8443/oauth/client-metadata.json",
            "https://app.example.com/c?v=2", "https://[2001:db8::1]/c.json", "https://xn--bcher-kva.example/c"})
    void accepted(String url) {
        assertNull(CimdUrl.refusal(url), url);
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://app.example.com/client.json", "https://app.example.com", "https://app.example.com/",
            "https://app.example.com/c.json#x", "https://user@app.example.com/c.json", "https://u:p@app.example.com/c.json",
            "https://app.example.com/a/../c.json", "https://app.example.com/a/./c.json", "https://app.example.com/a/%2e%2e/c.json",
            "https://app.example.com/a/%2E/c.json", "https://app.example.com/a/%252e%252e/c", "https://app.example.com/..",
            "https://app.example.com/a\\b", "https://app.example.com/a b", "https://bücher.example/c", "https:///c.json",
            "https://app.example.com./c.json", "https://app.example.com//c.json", "HTTPS://app.example.com/c.json",
            "https://app.example.com:0/c.json", ""})
    void refused(String url) {
        assertNotNull(CimdUrl.refusal(url), url);
    }

    @Test
    void lengthLimitIsTheClientIdColumn() {
        String base = "https://app.example.com/";
        String ok = base + "a".repeat(CimdUrl.MAX_LENGTH - base.length());
        assertNull(CimdUrl.refusal(ok));
        assertEquals("client_id is longer than 255 characters", CimdUrl.refusal(ok + "a"));
        assertNotNull(CimdUrl.refusal(base + "a".repeat(333)));
    }

    @Test
    void candidatesAndHosts() {
        assertTrue(CimdUrl.isCandidate("https://x/y"));
        assertTrue(CimdUrl.isCandidate("HTTPS://x/y"));
        assertFalse(CimdUrl.isCandidate("mcp-client"));
        assertFalse(CimdUrl.isCandidate("http://x/y"));
        assertFalse(CimdUrl.isCandidate(null));
        assertEquals("app.example.com", CimdUrl.host("https://App.Example.com/c"));
        assertEquals("2001:db8::1", CimdUrl.host("https://[2001:db8::1]/c"));
    }
}
