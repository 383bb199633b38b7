package org.agentauth.keycloak.vault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.keycloak.component.ComponentModel;
import org.junit.jupiter.api.Test;

class ConnectorTest {

    private static ComponentModel model(Map<String, String> config) {
        ComponentModel m = new ComponentModel();
        m.setName("cal");
        m.setProviderType(ConnectorProvider.class.getName());
        m.setProviderId("oauth2");
        config.forEach(m::put);
        return m;
    }

    @Test
    void readsDefaultsAndParameters() {
        Connector c = Connector.of(model(Map.of(Connector.AUTHORIZATION_URL, "https://a.example/auth",
                Connector.TOKEN_URL, "https://T.example:8443/token", Connector.SCOPES, " openid  email ",
                Connector.EXTRA_AUTH_PARAMS, "access_type=offline&prompt=consent&&x=a%20b", Connector.TIMEOUT_MILLIS, "-5")));
        assertEquals("cal", c.alias());
        assertEquals("cal", c.name());
        assertEquals(Connector.AUTH_BASIC, c.clientAuthMethod());
        assertEquals(Connector.DELIVERY_PROXY, c.deliveryMode());
        assertEquals(java.util.Set.of("openid", "email"), c.scopes());
        assertEquals(Map.of("access_type", "offline", "prompt", "consent", "x", "a b"), c.extraAuthParams());
        assertEquals(Connector.DEFAULT_TIMEOUT_MILLIS, c.timeoutMillis());
        assertEquals("https://t.example:8443", c.origins().get(Connector.TOKEN_URL));
        assertNull(c.origins().get(Connector.API_BASE_URL));
    }

    @Test
    void originsChangeWithSchemeHostOrPortOfAnyTokenUrl() {
        Connector a = Connector.of(model(Map.of(Connector.TOKEN_URL, "https://t.example/token")));
        Connector samePath = Connector.of(model(Map.of(Connector.TOKEN_URL, "https://T.example:443/other")));
        Connector otherPort = Connector.of(model(Map.of(Connector.TOKEN_URL, "https://t.example:444/token")));
        Connector otherScheme = Connector.of(model(Map.of(Connector.TOKEN_URL, "http://t.example/token")));
        assertEquals(a.origins(), samePath.origins());
        assertEquals(java.util.List.of(), Connector.originChanges(a, samePath));
        assertEquals(java.util.List.of(Connector.TOKEN_URL), Connector.originChanges(a, otherPort));
        assertEquals(java.util.List.of(Connector.TOKEN_URL), Connector.originChanges(a, otherScheme));
        for (String field : Connector.TOKEN_URLS) {
            Map<String, String> config = new java.util.HashMap<>(Map.of(Connector.TOKEN_URL, "https://t.example/token"));
            config.put(field, "https://elsewhere.example/x");
            Connector moved = Connector.of(model(config));
            assertTrue(Connector.originChanges(a, moved).contains(field), field);
        }
    }

    @Test
    void aUrlInARefusalOrLogLineCarriesNoUserInformationAndNoQuery() {
        assertEquals("http://upstream.example.com/auth", OAuth2ConnectorFactory.shownUrl("http://upstream.example.com/auth"));
        assertEquals("https://h.example:8443/token", OAuth2ConnectorFactory.shownUrl("https://user:pw@h.example:8443/token?secret=x#f"));
        assertEquals("not a url", OAuth2ConnectorFactory.shownUrl("not a url?secret=x"));
        assertNull(OAuth2ConnectorFactory.shownUrl(null));
    }

    @Test
    void validatorNamesEveryBadField() {
        VaultSettings settings = new VaultSettings() {
            @Override
            public org.agentauth.keycloak.vault.crypto.KeyRing keys() {
                return org.agentauth.keycloak.vault.crypto.KeyRing.none();
            }

            @Override
            public boolean hostAllowListed(String host) {
                return false;
            }
        };
        ComponentModel m = model(Map.of(Connector.AUTHORIZATION_URL, "http://a.example/auth", Connector.DELIVERY_MODE, "everything",
                Connector.EXTRA_AUTH_PARAMS, "redirect_uri=https://evil.example", Connector.SCOPES, "openid \"x\"",
                Connector.TIMEOUT_MILLIS, "abc"));
        m.setName("Bad Alias");
        var fields = ConnectorValidator.validate(settings, m, false).stream().map(ConnectorValidator.Problem::field).toList();
        for (String f : new String[] {"alias", Connector.AUTHORIZATION_URL, Connector.TOKEN_URL, Connector.CLIENT_ID,
                Connector.DELIVERY_MODE, Connector.EXTRA_AUTH_PARAMS, Connector.SCOPES, Connector.TIMEOUT_MILLIS}) {
            assertTrue(fields.contains(f), f + " in " + fields);
        }
    }
}
