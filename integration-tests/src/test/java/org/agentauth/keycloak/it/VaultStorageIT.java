package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.DbRows;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the vault stores (issue 13): raw rows read with SQL beside the server hold ciphertext only, bound to their row;
 * a second realm holds its own connections.
 */
@Order(35)
@ExtendWith(KeycloakServerExtension.class)
class VaultStorageIT {

    /** Every Keycloak-issued JWT (the upstream here is Keycloak) starts with this: base64 of {"alg":. */
    private static final String JWT_START = "eyJhbGci";

    private final KeycloakServer server;
    private final Vault vault;
    private final DemoUsers users;
    private final DbRows db;

    VaultStorageIT(KeycloakServer server) {
        this.server = server;
        this.vault = new Vault(server);
        this.users = new DemoUsers(server);
        this.db = new DbRows(server);
    }

    @Test
    void rawRowsHoldCiphertextOnlyBoundToTheirRow() {
        String a;
        String b;
        try (Browser browser = new Browser()) {
            a = Vault.connectionId(vault.connect(browser, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), "alice", "alice-work", null));
        }
        try (Browser browser = new Browser()) {
            b = Vault.connectionId(vault.connect(browser, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), "alice", "alice-personal", null));
        }
        List<Map<String, String>> rows = db.query("SELECT * FROM AGENT_AUTH_CONNECTION");
        System.out.println("[vault] " + rows.size() + " connection rows read with SQL on " + db.kind());
        Map<String, String> rowA = rows.stream().filter(r -> a.equals(r.get("ID"))).findFirst().orElse(null);
        assertNotNull(rowA, "row " + a + " among " + rows.size());
        for (Map<String, String> row : rows) {
            for (Map.Entry<String, String> col : row.entrySet()) {
                String v = col.getValue() == null ? "" : col.getValue();
                assertFalse(v.contains(JWT_START), "plaintext token in column " + col.getKey());
                assertFalse(v.contains("access_token") || v.contains("refresh_token"), "token JSON in column " + col.getKey());
            }
            // the current form: "v2." and base64; associated data binds realm, user, row, connector and subject (issue 21)
            assertTrue(row.get("TOKENS").startsWith("v2."), "current ciphertext form of row " + row.get("ID"));
            byte[] sealed = Base64.getDecoder().decode(row.get("TOKENS").substring("v2.".length()));
            assertEquals(1, sealed[0], "format version");
            assertTrue(sealed.length > 1 + 12 + 16 + 100, "nonce, ciphertext and tag");
            assertFalse(new String(sealed, java.nio.charset.StandardCharsets.ISO_8859_1).contains(JWT_START));
            assertFalse(row.get("KEY_ID").isEmpty());
        }
        assertEquals("ACTIVE", rowA.get("STATUS"));
        assertEquals("alice-work", rowA.get("LABEL"));

        String alice = users.accessToken("alice");
        if (!db.kind().equals("h2")) {
            // a ciphertext copied into another row (same user, same key) does not decrypt there: the associated data
            // binds it to its row; the vault says so and never answers 500
            Map<String, String> rowB = rows.stream().filter(r -> b.equals(r.get("ID"))).findFirst().orElseThrow();
            db.update("UPDATE AGENT_AUTH_CONNECTION SET TOKENS = '" + rowA.get("TOKENS") + "' WHERE ID = '" + b + "'");
            try {
                Http.Response check = vault.check(Oidc.DEMO, alice, b);
                assertEquals(200, check.status(), check.body());
                assertFalse(check.json().get("ok").asBoolean(), check.body());
                assertEquals("vault_locked", check.json().get("problem").asText(), check.body());
            } finally {
                db.update("UPDATE AGENT_AUTH_CONNECTION SET TOKENS = '" + rowB.get("TOKENS") + "' WHERE ID = '" + b + "'");
            }
        }
        for (String id : List.of(a, b)) {
            Http.Response check = vault.check(Oidc.DEMO, alice, id);
            assertTrue(check.json().get("ok").asBoolean(), check.body());
        }
    }

    @Test
    void aSecondRealmHoldsItsOwnConnections() {
        String admin = vault.oidc().adminToken();
        String realm = "vault-second";
        String upstreamClient = "agent-auth-connector-second";
        String callback = server.realmUrl(realm) + "/agent-auth/connectors/second-calendar/callback";
        new Http().delete(server.baseUrl() + "/admin/realms/" + realm, admin);
        Http.Response upstream = new Http().postJson(server.baseUrl() + "/admin/realms/" + Vault.UPSTREAM + "/clients", admin, Map.of(
                "clientId", upstreamClient, "secret", "second-secret", "publicClient", false, "standardFlowEnabled", true,
                "redirectUris", List.of(callback), "attributes", Map.of("pkce.code.challenge.method", "S256")));
        assertTrue(upstream.status() == 201 || upstream.status() == 409, upstream.toString());
        String base = server.realmUrl(Vault.UPSTREAM) + "/protocol/openid-connect";
        Map<String, Object> connector = Map.of("name", "second-calendar", "providerId", "oauth2", "config", Map.ofEntries(
                Map.entry("authorizationUrl", List.of(base + "/auth")), Map.entry("tokenUrl", List.of(base + "/token")),
                Map.entry("revocationUrl", List.of(base + "/revoke")), Map.entry("userinfoUrl", List.of(base + "/userinfo")),
                Map.entry("clientId", List.of(upstreamClient)), Map.entry("clientSecret", List.of("second-secret")),
                Map.entry("scopes", List.of("openid profile")), Map.entry("apiBaseUrl", List.of(base))));
        Map<String, Object> rep = Map.of("realm", realm, "enabled", true,
                "users", List.of(Map.of("username", "carol", "enabled", true, "email", "carol@example.org", "firstName", "Carol",
                        "lastName", "Second", "emailVerified", true,
                        "credentials", List.of(Map.of("type", "password", "value", "carol", "temporary", false))),
                        Map.of("username", "erin", "enabled", true, "email", "erin@example.org", "firstName", "Erin",
                        "lastName", "Second", "emailVerified", true,
                        "credentials", List.of(Map.of("type", "password", "value", "erin", "temporary", false)))),
                "clients", List.of(Map.of("clientId", "agent-host", "secret", "agent-host-secret", "publicClient", false,
                        "standardFlowEnabled", true, "directAccessGrantsEnabled", false, "redirectUris", List.of("http://localhost/*"))),
                "components", Map.of("org.agentauth.keycloak.vault.ConnectorProvider", List.of(connector)));
        Http.Response created = new Http().postJson(server.baseUrl() + "/admin/realms", admin, rep);
        assertEquals(201, created.status(), created.body());

        String id;
        try (Browser browser = new Browser()) {
            String url = server.realmUrl(realm) + "/agent-auth/connectors/second-calendar/connect?client_id=agent-host&return_to="
                    + Http.urlEncode(Vault.RETURN_TO) + "&prompt=login";
            id = Vault.connectionId(vault.connect(browser, url, "carol", "bob-cal", "vault-connect-second-realm"));
        }
        String carolId = new Http().get(server.baseUrl() + "/admin/realms/" + realm + "/users?exact=true&username=carol", admin)
                .json().get(0).get("id").asText();
        Http.Response list = new Http().get(server.baseUrl() + "/admin/realms/" + realm + "/agent-auth/users/" + carolId + "/connections", admin);
        assertEquals(200, list.status(), list.body());
        assertEquals(1, list.json().size(), list.body());
        assertEquals("bob-cal", list.json().get(0).get("account").asText());
        assertEquals("second-calendar", list.json().get(0).get("connector").asText());
        Http.Response check = new Http().postJson(server.baseUrl() + "/admin/realms/" + realm + "/agent-auth/users/" + carolId
                + "/connections/" + id + "/check", admin, Map.of());
        assertTrue(check.json().path("ok").asBoolean(), check.body());

        // agents-demo knows nothing of it: not bob's, not reachable by id through the other realm
        String bob = users.accessToken("bob");
        for (JsonNode c : vault.list(Oidc.DEMO, bob)) {
            assertFalse(c.get("id").asText().equals(id));
        }
        String bobId = users.userId(admin, "bob");
        assertEquals(404, new Http().delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/users/" + bobId
                + "/connections/" + id, admin).status());
        // rows go with their user, and with their realm
        String erinConnection;
        try (Browser browser = new Browser()) {
            String url = server.realmUrl(realm) + "/agent-auth/connectors/second-calendar/connect?client_id=agent-host&return_to="
                    + Http.urlEncode(Vault.RETURN_TO) + "&prompt=login";
            erinConnection = Vault.connectionId(vault.connect(browser, url, "erin", "alice-work", null));
        }
        assertEquals(1, db.query("SELECT ID FROM AGENT_AUTH_CONNECTION WHERE ID = '" + id + "'").size());
        assertEquals(204, new Http().delete(server.baseUrl() + "/admin/realms/" + realm + "/users/" + carolId, admin).status());
        assertEquals(0, db.query("SELECT ID FROM AGENT_AUTH_CONNECTION WHERE ID = '" + id + "'").size(), "gone with the user");
        assertEquals(1, db.query("SELECT ID FROM AGENT_AUTH_CONNECTION WHERE ID = '" + erinConnection + "'").size(), "erin's stays");
        assertEquals(204, new Http().delete(server.baseUrl() + "/admin/realms/" + realm, admin).status());
        assertEquals(0, db.query("SELECT ID FROM AGENT_AUTH_CONNECTION WHERE ID = '" + erinConnection + "'").size(), "gone with the realm");
    }
}
