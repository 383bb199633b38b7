package org.agentauth.keycloak.vault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.vault.crypto.KeyRing;
import org.junit.jupiter.api.Test;
import org.keycloak.component.ComponentModel;

class ConnectorPresetsTest {

    /** No host allow-listed: what a production server checks (names not resolved, as at realm import). */
    static final VaultSettings PUBLIC_ONLY = new VaultSettings() {
        @Override
        public KeyRing keys() {
            return KeyRing.none();
        }

        @Override
        public boolean hostAllowListed(String host) {
            return false;
        }
    };

    @Test
    void presetsInTheOrderThePageOffersThem() {
        assertEquals(List.of("google", "github", "slack", "microsoft", "oidc", "oauth2"),
                ConnectorPresets.all().stream().map(ConnectorPresets.Preset::id).toList());
        assertTrue(ConnectorPresets.byId("github").isPresent());
        assertFalse(ConnectorPresets.byId("GitHub").isPresent());
    }

    @Test
    void wellKnownProvidersHaveTheirEndpoints() {
        ConnectorPresets.Preset google = ConnectorPresets.byId("google").orElseThrow();
        assertEquals("https://oauth2.googleapis.com/token", google.tokenUrl());
        assertEquals("https://oauth2.googleapis.com/revoke", google.revocationUrl());
        assertEquals(List.of("access_type", "prompt"), List.copyOf(google.extraAuthParams().keySet()), "in order");
        assertEquals(Map.of("access_type", "offline", "prompt", "consent"), google.extraAuthParams());

        ConnectorPresets.Preset github = ConnectorPresets.byId("github").orElseThrow();
        assertEquals("https://github.com/login/oauth/authorize", github.authorizationUrl());
        assertNull(github.revocationUrl(), "GitHub has no RFC 7009 endpoint");
        assertEquals(Connector.AUTH_POST, github.clientAuthMethod());
        assertEquals(List.of("read:user"), github.scopes());

        assertEquals("https://slack.com/api/openid.connect.token", ConnectorPresets.byId("slack").orElseThrow().tokenUrl());
        assertEquals(List.of("openid", "profile", "email", "offline_access", "User.Read"),
                ConnectorPresets.byId("microsoft").orElseThrow().scopes());

        assertTrue(ConnectorPresets.byId(ConnectorPresets.OIDC).orElseThrow().discovery());
        ConnectorPresets.Preset generic = ConnectorPresets.byId(ConnectorPresets.OAUTH2).orElseThrow();
        assertNull(generic.authorizationUrl());
        assertNull(generic.tokenUrl());
        assertFalse(generic.discovery());
    }

    /** A preset plus a client id is a valid connector: every URL is https and public, every scope a scope token. */
    @Test
    void everyPresetWithItsUrlsPassesTheConnectorValidator() {
        for (ConnectorPresets.Preset p : ConnectorPresets.all()) {
            if (p.tokenUrl() == null) {
                continue;
            }
            ComponentModel m = new ComponentModel();
            m.setName(p.id());
            put(m, Connector.AUTHORIZATION_URL, p.authorizationUrl());
            put(m, Connector.TOKEN_URL, p.tokenUrl());
            put(m, Connector.REVOCATION_URL, p.revocationUrl());
            put(m, Connector.USERINFO_URL, p.userinfoUrl());
            put(m, Connector.API_BASE_URL, p.apiBaseUrl());
            put(m, Connector.CLIENT_ID, "client");
            put(m, Connector.CLIENT_AUTH_METHOD, p.clientAuthMethod());
            put(m, Connector.SCOPES, String.join(" ", p.scopes()));
            put(m, Connector.PRESET, p.id());
            StringBuilder extra = new StringBuilder();
            p.extraAuthParams().forEach((k, v) -> extra.append(extra.length() == 0 ? "" : "&").append(k).append('=').append(v));
            put(m, Connector.EXTRA_AUTH_PARAMS, extra.toString());
            assertEquals(List.of(), ConnectorValidator.validate(PUBLIC_ONLY, m, false), p.id());
            assertEquals(p.extraAuthParams(), Connector.of(m).extraAuthParams(), p.id());
        }
    }

    private static void put(ComponentModel m, String key, String value) {
        if (value != null && !value.isEmpty()) {
            m.getConfig().putSingle(key, value);
        }
    }
}
