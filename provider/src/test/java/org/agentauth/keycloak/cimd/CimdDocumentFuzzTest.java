package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agentauth.keycloak.FuzzRuns;

/**
 * Hostile metadata documents, key sets and client ids: the parsers and the URL rules fail only with their documented
 * refusal; a document they accept has its URL as client_id, a bounded name without control characters, and 1 to 20
 * redirect URIs that are each acceptable, never a wildcard, and stored in a form Keycloak matches exactly; its key set,
 * where it has one, holds only public keys (never a private member, never {@code oct}) and reads back unchanged; a host
 * as consent screens show it is at most 40 characters and the end of the real host.
 */
class CimdDocumentFuzzTest {

    private static final String URL = "https://app.example.com/client.json";
    private static final String[] PIECES = {"{", "}", "[", "]", ",", ":", "\"client_id\"", "\"" + URL + "\"", "\"client_name\"", "\"A\"",
            "\"redirect_uris\"", "\"https://app.example.com/cb\"", "\"http://127.0.0.1:3000/cb\"", "\"https://x/*\"", "\"grant_types\"",
            "\"authorization_code\"", "\"token_endpoint_auth_method\"", "\"none\"", "\"client_secret\"", "null", "1", "true", "\"\\u0000\"",
            "\"private_key_jwt\"", "\"jwks\"", "\"jwks_uri\"", "\"https://app.example.com/jwks.json\"", "\"keys\"", "\"kty\"", "\"RSA\"",
            "\"EC\"", "\"OKP\"", "\"oct\"", "\"d\"", "\"k\"", "\"n\"", "\"e\"", "\"AQAB\"", "\"crv\"", "\"P-256\"", "\"Ed25519\"",
            "\"x\"", "\"y\"", "\"use\"", "\"sig\"", "\"enc\""};

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void documentParserAcceptsOnlyUsableDocuments(FuzzedDataProvider data) {
        byte[] body;
        if (data.consumeBoolean()) {
            StringBuilder b = new StringBuilder();
            int n = data.consumeInt(0, 40);
            for (int i = 0; i < n; i++) {
                b.append(data.consumeBoolean() ? data.pickValue(PIECES) : data.consumeString(20));
            }
            body = b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        } else {
            body = data.consumeRemainingAsBytes();
        }
        CimdDocument d;
        try {
            d = CimdDocument.parse(URL, body);
        } catch (CimdDocument.Refused e) {
            assertFalse(e.getMessage().isEmpty());
            return;
        }
        assertEquals(URL, d.clientId());
        assertTrue(!d.clientName().isBlank() && d.clientName().length() <= 2 * CimdDocument.MAX_NAME_LENGTH);
        assertTrue(d.clientName().codePoints().noneMatch(Character::isISOControl));
        assertTrue(!d.redirectUris().isEmpty() && d.redirectUris().size() <= CimdDocument.MAX_REDIRECTS);
        for (String r : d.redirectUris()) {
            assertNull(CimdRedirects.refusal(r));
            assertFalse(CimdRedirects.stored(r).contains("*"));
            assertTrue(CimdRedirects.matches(d.redirectUris(), r));
        }
        // private_key_jwt: exactly one of jwks and jwks_uri; a kept key set holds only public keys and reads back the same
        if (d.privateKeyJwt()) {
            assertTrue((d.jwks() == null) != (d.jwksUri() == null));
        } else {
            assertNull(d.jwks());
            assertNull(d.jwksUri());
        }
        if (d.jwks() != null) {
            assertOnlyPublicKeys(d.jwks());
        }
        if (d.jwksUri() != null) {
            assertNull(CimdUrl.refusal(d.jwksUri()));
        }
    }

    private static void assertOnlyPublicKeys(String keySet) {
        String again;
        try {
            again = CimdKeys.parse(keySet.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (CimdDocument.Refused e) {
            throw new AssertionError("a kept key set must read back: " + e.getMessage());
        }
        assertEquals(keySet, again, "the stored form is stable");
        try {
            com.fasterxml.jackson.databind.JsonNode keys = new com.fasterxml.jackson.databind.ObjectMapper().readTree(keySet).path("keys");
            assertTrue(keys.size() >= 1 && keys.size() <= CimdKeys.MAX_KEYS);
            for (com.fasterxml.jackson.databind.JsonNode k : keys) {
                assertTrue(CimdKeys.KEY_TYPES.contains(k.path("kty").asText()));
                for (String m : CimdKeys.PRIVATE_MEMBERS) {
                    assertFalse(k.has(m), "a private member was kept: " + m);
                }
            }
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void keySetsHoldOnlyPublicKeys(FuzzedDataProvider data) {
        byte[] body;
        if (data.consumeBoolean()) {
            StringBuilder b = new StringBuilder();
            int n = data.consumeInt(0, 40);
            for (int i = 0; i < n; i++) {
                b.append(data.consumeBoolean() ? data.pickValue(PIECES) : data.consumeString(20));
            }
            body = b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        } else {
            body = data.consumeRemainingAsBytes();
        }
        String set;
        try {
            set = CimdKeys.parse(body);
        } catch (CimdDocument.Refused e) {
            assertFalse(e.getMessage().isEmpty());
            return;
        }
        assertOnlyPublicKeys(set);
    }

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void urlRulesNeverThrow(FuzzedDataProvider data) {
        String url = data.consumeBoolean() ? "https://" + data.consumeRemainingAsString() : data.consumeRemainingAsString();
        String why = CimdUrl.refusal(url);
        if (why == null) {
            assertTrue(url.length() <= CimdUrl.MAX_LENGTH && url.startsWith("https://") && !url.contains("#"));
            String host = CimdUrl.host(url);
            assertFalse(host.isEmpty());
            // as a consent screen shows it: at most MAX_SHOWN characters, the end of the host (from the left: an ellipsis)
            String shown = CimdHosts.display(host);
            assertTrue(shown.length() <= CimdHosts.MAX_SHOWN, shown);
            assertTrue(shown.equals(host) || shown.startsWith("\u2026") && host.endsWith(shown.substring(1)), host + " -> " + shown);
        }
    }
}
