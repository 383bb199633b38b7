package org.agentauth.keycloak.vault.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.agentauth.keycloak.FuzzRuns;

/**
 * The connect flow's redirect building (the return_to URL with its parameters, the upstream authorization URL with
 * {@code state}) and PKCE: whatever the values (a hostile {@code state} or connector parameter), the result keeps the
 * base URL's scheme, host and path, and each value is a single, encoded query parameter.
 */
class ConnectStateFuzzTest {

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void parametersNeverEscapeTheirUrl(FuzzedDataProvider data) throws URISyntaxException {
        String base = data.pickValue(new String[] {"http://localhost/connected", "https://app.example.com/cb?x=1",
                "https://app.example.com/cb#frag", "https://auth.example.com/authorize?prompt=login"});
        Map<String, String> params = new LinkedHashMap<>();
        params.put("state", data.consumeString(200));
        params.put("connection_id", data.consumeRemainingAsString());
        String url = ConnectResource.withQuery(base, params);
        URI b = new URI(base);
        URI u = new URI(url);
        assertEquals(b.getScheme(), u.getScheme());
        assertEquals(b.getHost(), u.getHost());
        assertEquals(b.getRawPath(), u.getRawPath());
        assertEquals(b.getRawFragment(), u.getRawFragment());
        int added = u.getRawQuery().split("&").length - (b.getRawQuery() == null ? 0 : b.getRawQuery().split("&").length);
        assertEquals(2, added, url);
    }

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void pkceChallengeIsBase64UrlSha256(FuzzedDataProvider data) {
        String c = ConnectResource.challenge(data.consumeRemainingAsString());
        assertEquals(43, c.length());
        assertTrue(c.matches("[A-Za-z0-9_-]+"), c);
    }
}
