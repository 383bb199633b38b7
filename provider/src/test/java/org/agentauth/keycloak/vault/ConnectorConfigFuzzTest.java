package org.agentauth.keycloak.vault;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.URI;
import java.util.List;
import org.agentauth.keycloak.FuzzRuns;
import org.agentauth.keycloak.vault.crypto.KeyRing;
import org.keycloak.component.ComponentModel;

/**
 * Connector configuration as an admin (or a realm import) could write it: validation never fails with an exception;
 * a configuration it accepts reads back as a connector whose URLs (authorization and token required, the API base URL
 * optional) are absolute http(s) URLs with a host; the
 * extra-parameter parser and the server's key-ring option parser fail only with the documented exception.
 */
class ConnectorConfigFuzzTest {

    private static final String[] FIELDS = {Connector.DISPLAY_NAME, Connector.LOGO_URI, Connector.AUTHORIZATION_URL, Connector.TOKEN_URL,
            Connector.REVOCATION_URL, Connector.USERINFO_URL, Connector.CLIENT_ID, Connector.CLIENT_SECRET, Connector.CLIENT_AUTH_METHOD,
            Connector.SCOPES, Connector.EXTRA_AUTH_PARAMS, Connector.API_BASE_URL, Connector.DELIVERY_MODE, Connector.PRESET,
            Connector.TIMEOUT_MILLIS, Connector.MAX_RESPONSE_BYTES};

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void validationNeverThrowsAndAcceptsOnlyUsableConfigurations(FuzzedDataProvider data) {
        ComponentModel c = new ComponentModel();
        c.setId("c1");
        c.setName(data.consumeBoolean() ? "demo-calendar" : data.consumeString(70));
        c.setProviderId("oauth2");
        c.setProviderType(ConnectorProvider.class.getName());
        int n = data.consumeInt(0, FIELDS.length * 2);
        for (int i = 0; i < n; i++) {
            String field = data.pickValue(FIELDS);
            String value = data.consumeBoolean() ? data.pickValue(new String[] {"https://api.example.com/v1", "https://auth.example.com/authorize",
                    "https://auth.example.com/token", "proxy", "proxy_exchange", "client_secret_basic", "client_secret_post", "1000", "openid"})
                    : data.consumeString(300);
            c.getConfig().putSingle(field, value);
        }
        List<ConnectorValidator.Problem> problems = ConnectorValidator.validate(ConnectorPresetsTest.PUBLIC_ONLY, c, false);
        assertNotNull(problems);
        if (problems.isEmpty()) {
            Connector k = Connector.of(c);
            // authorization and token URLs are required; the API base URL is optional (no proxy without it)
            for (String url : java.util.Arrays.asList(k.authorizationUrl(), k.tokenUrl(), k.apiBaseUrl())) {
                if (url == null) {
                    assertTrue(k.apiBaseUrl() == null && k.authorizationUrl() != null && k.tokenUrl() != null);
                    continue;
                }
                URI u = URI.create(url);
                assertTrue(("https".equals(u.getScheme()) || "http".equals(u.getScheme())) && u.getHost() != null, url);
            }
            assertTrue(k.timeoutMillis() > 0 && k.maxResponseBytes() > 0);
            k.origins();
        }
        Connector.parseParams(data.consumeRemainingAsString());
    }

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void keyRingOptionParsesOrRefuses(FuzzedDataProvider data) {
        String active = data.consumeBoolean() ? null : data.consumeString(40);
        try {
            KeyRing ring = KeyRing.parse(data.consumeRemainingAsString(), active);
            assertNotNull(ring);
        } catch (IllegalArgumentException e) {
            assertNotNull(e.getMessage());
            // never the key material in the message
            assertTrue(!e.getMessage().contains("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="));
        }
    }
}
