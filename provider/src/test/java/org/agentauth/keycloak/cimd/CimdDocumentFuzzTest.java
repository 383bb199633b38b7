package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agentauth.keycloak.FuzzRuns;

/**
 * Hostile metadata documents and client ids: the parser and the URL rules fail only with their documented refusal; a
 * document they accept has its URL as client_id, a bounded name without control characters, and 1 to 20 redirect URIs
 * that are each acceptable, never a wildcard, and stored in a form Keycloak matches exactly.
 */
class CimdDocumentFuzzTest {

    private static final String URL = "https://app.example.com/client.json";
    private static final String[] PIECES = {"{", "}", "[", "]", ",", ":", "\"client_id\"", "\"" + URL + "\"", "\"client_name\"", "\"A\"",
            "\"redirect_uris\"", "\"https://app.example.com/cb\"", "\"http://127.0.0.1:3000/cb\"", "\"https://x/*\"", "\"grant_types\"",
            "\"authorization_code\"", "\"token_endpoint_auth_method\"", "\"none\"", "\"client_secret\"", "null", "1", "true", "\"\\u0000\""};

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
    }

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void urlRulesNeverThrow(FuzzedDataProvider data) {
        String url = data.consumeBoolean() ? "https://" + data.consumeRemainingAsString() : data.consumeRemainingAsString();
        String why = CimdUrl.refusal(url);
        if (why == null) {
            assertTrue(url.length() <= CimdUrl.MAX_LENGTH && url.startsWith("https://") && !url.contains("#"));
            assertFalse(CimdUrl.host(url).isEmpty());
        }
    }
}
