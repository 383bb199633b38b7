package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.DbRows;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.FaultyRelay;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A stored token is bound to what its row means (issue 21, findings 6 and 10), against the real upstream (realm
 * upstream-saas) behind a {@link FaultyRelay}: connector {@code binding-calendar}'s token, userinfo and API URLs go
 * through the relay, which counts what is sent and can rewrite an answer.
 * <ul>
 * <li>A connection row moved with SQL to another connector of the same user (someone who can write the database but
 * has no key) does not decrypt there: that connector's proxy refuses and sends nothing upstream (PostgreSQL run: the
 * H2 run reads a copy of the database).</li>
 * <li>A refresh whose answer names another subject than the connection's (the ID token's {@code sub} changed or
 * missing; without an ID token, the userinfo {@code sub}) is treated like {@code invalid_grant}: the connection is
 * EXPIRED, the new tokens are not stored, an event says why (OpenID Connect Core 12.2).</li>
 * </ul>
 */
@Order(42)
@ExtendWith(KeycloakServerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VaultBindingIT {

    static final String ALIAS = "binding-calendar";
    static final String UPSTREAM_CLIENT = "binding-connector";
    static final String UPSTREAM_SECRET = "binding-connector-secret";
    static final String USER = "binding-user";
    static final Predicate<String> TOKEN_ENDPOINT = FaultyRelay.onPath("POST ", "/protocol/openid-connect/token ");
    static final Predicate<String> USERINFO = FaultyRelay.onPath("/protocol/openid-connect/userinfo");

    private final KeycloakServer server;
    private final Vault vault;
    private final DemoUsers users;
    private final AgentFlows flows;
    private final DbRows db;
    private final Http http = new Http();
    private FaultyRelay relay;
    private JsonNode originalPolicy;
    private String userId;

    VaultBindingIT(KeycloakServer server) {
        this.server = server;
        this.vault = new Vault(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
        this.db = new DbRows(server);
    }

    @BeforeAll
    void setUp() throws Exception {
        relay = new FaultyRelay(java.net.URI.create(server.baseUrl()).getPort());
        String admin = vault.oidc().adminToken();
        // 20 s: less than the 30 s before expiry at which the vault refreshes, so every use of a connection refreshes
        vault.upstreamClient(admin, UPSTREAM_CLIENT, UPSTREAM_SECRET, connectorUri(ALIAS) + "/callback", 20);
        for (String u : List.of("binding-a", "binding-b", "binding-c")) {
            users.create(admin, Vault.UPSTREAM, u, "Binding");
        }
        users.create(admin, Oidc.DEMO, USER, "Binding");
        userId = users.userId(admin, USER);

        String upstream = "http://localhost:" + relay.port() + "/realms/" + Vault.UPSTREAM + "/protocol/openid-connect";
        Map<String, Object> connector = new LinkedHashMap<>();
        connector.put("alias", ALIAS);
        connector.put("displayName", "Binding Calendar");
        connector.put("authorizationUrl", server.realmUrl(Vault.UPSTREAM) + "/protocol/openid-connect/auth");
        connector.put("tokenUrl", upstream + "/token");
        connector.put("userinfoUrl", upstream + "/userinfo");
        connector.put("clientId", UPSTREAM_CLIENT);
        connector.put("clientSecret", UPSTREAM_SECRET);
        connector.put("scopes", List.of("openid", "profile", "email"));
        connector.put("apiBaseUrl", upstream);
        connector.put("deliveryMode", "proxy");
        connector.put("preset", "oauth2");
        Http.Response made = http.postJson(connectors(), admin, connector);
        assertEquals(201, made.status(), made.toString());

        originalPolicy = vault.allowConnector(admin, ALIAS);
        users.adminGrant(admin, userId, Map.of("agent", "calendar-agent", "host", "agent-host", "connectors", List.of(ALIAS, Vault.CONNECTOR)));
    }

    @AfterAll
    void tearDown() throws Exception {
        try {
            if (originalPolicy != null) {
                String admin = vault.oidc().adminToken();
                vault.restorePolicy(admin, originalPolicy);
                http.delete(connectors() + "/" + ALIAS, admin);
            }
        } finally {
            if (relay != null) {
                relay.close();
            }
        }
    }

    // ---- finding 6: the ciphertext is bound to its connector ----

    @Test
    void aRowMovedToAnotherConnectorDoesNotDecryptAndNothingIsSent() throws Exception {
        assumeFalse(db.kind().equals("h2"), "needs a database the test can write beside the server (PostgreSQL run)");
        relay.pass();
        // provider A: demo-calendar (directly to its upstream); provider B: binding-calendar (through the relay)
        String id;
        try (Browser b = new Browser()) {
            id = Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), USER, "alice-work", null));
        }
        String other = db.query("SELECT ID FROM COMPONENT WHERE NAME = '" + ALIAS + "' AND REALM_ID = (SELECT ID FROM REALM WHERE NAME = '"
                + Oidc.DEMO + "')").get(0).get("ID");
        String own0 = db.query("SELECT CONNECTOR_ID FROM AGENT_AUTH_CONNECTION WHERE ID = '" + id + "'").get(0).get("CONNECTOR_ID");
        // Moved before any brokered call: the server's node-local cache of connection rows (DESIGN section 10) holds
        // what its own writes left, and a write behind its back (this test's UPDATE) is seen once that copy is gone.
        // The row has not been used since it was linked, so the next call reads it from the database.
        assertEquals(1, db.update("UPDATE AGENT_AUTH_CONNECTION SET CONNECTOR_ID = '" + other + "' WHERE ID = '" + id + "'"));
        long sentBefore = relay.seen().size();
        Http.Response moved = proxy(ALIAS, id);
        assertEquals(503, moved.status(), "the moved row must not decrypt under another connector: " + moved);
        assertEquals("temporarily_unavailable", moved.json().get("error").asText(), moved.body());
        assertEquals(sentBefore, relay.seen().size(), "nothing sent to the other connector's upstream: " + relay.seen());

        // back on its own connector the row is whole again: nothing was lost (the server kept no copy of the row it
        // could not open, so it reads the row again)
        assertEquals(1, db.update("UPDATE AGENT_AUTH_CONNECTION SET CONNECTOR_ID = '" + own0 + "' WHERE ID = '" + id + "'"));
        Http.Response back = proxy(Vault.CONNECTOR, id);
        assertEquals(200, back.status(), back.toString());
        assertEquals("alice-work", back.json().get("preferred_username").asText());
        vault.disconnectAll(Oidc.DEMO, users.accessToken(USER));
    }

    // ---- finding 10: a refresh answer for another subject ----

    @Test
    void aRefreshedIdTokenForAnotherSubjectExpiresTheConnection() throws Exception {
        refreshNamingAnotherSubject("binding-a", TOKEN_ENDPOINT, body -> idTokenClaims(body, claims -> claims.put("sub", "someone-else")),
                "ID token");
    }

    @Test
    void aRefreshedIdTokenWithoutSubjectExpiresTheConnection() throws Exception {
        refreshNamingAnotherSubject("binding-b", TOKEN_ENDPOINT, body -> idTokenClaims(body, claims -> claims.remove("sub")), "ID token");
    }

    @Test
    void withoutIdTokenTheUserinfoSubjectMustMatch() throws Exception {
        relay.pass();
        String id = connect("binding-c");
        // the refresh answer has no ID token, and userinfo with the new access token names another account
        relay.rewrite(TOKEN_ENDPOINT.or(USERINFO), body -> {
            ObjectNode n = (ObjectNode) json(body);
            n.remove("id_token");
            if (n.has("sub")) {
                n.put("sub", "someone-else");
            }
            return n.toString();
        });
        assertRefused(id, "userinfo");
    }

    private void refreshNamingAnotherSubject(String upstreamUser, Predicate<String> where, UnaryOperator<String> change, String what)
            throws Exception {
        relay.pass();
        String id = connect(upstreamUser);
        relay.rewrite(where, change);
        assertRefused(id, what);
    }

    private void assertRefused(String id, String what) throws Exception {
        Map<String, String> before = row(id);
        long refreshes = relay.count(TOKEN_ENDPOINT);
        Http.Response r = proxy(ALIAS, id);
        relay.pass();
        assertEquals(refreshes + 1, relay.count(TOKEN_ENDPOINT), "one refresh was tried");
        assertEquals(403, r.status(), "a refresh for another subject is treated like invalid_grant: " + r);
        assertEquals("connection_required", r.json().get("error").asText(), r.body());
        Map<String, String> after = row(id);
        assertEquals("EXPIRED", after.get("STATUS"), after.toString());
        assertEquals(before.get("TOKENS"), after.get("TOKENS"), "the new tokens are not stored");
        // an event says why (the refresh's own event, naming the connection)
        JsonNode events = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/events?max=50&user=" + userId,
                vault.oidc().adminToken()).json();
        boolean said = false;
        for (JsonNode e : events) {
            JsonNode d = e.path("details");
            if (id.equals(d.path("connection_id").asText()) && "refresh".equals(d.path("operation").asText())
                    && d.path("reason").asText().contains("another account") && d.path("reason").asText().contains(what)) {
                said = true;
                assertTrue(e.path("type").asText().endsWith("_ERROR"), e.toString());
            }
        }
        assertTrue(said, "an event names the connection and why: " + events);
        // and the connection stays expired: naming it again finds no active connection (DESIGN section 5), nothing is sent
        long sent = relay.seen().size();
        Http.Response again = proxy(ALIAS, id);
        assertEquals(404, again.status(), again.toString());
        assertEquals("connection_not_found", again.json().get("error").asText(), again.body());
        assertEquals(sent, relay.seen().size());
    }

    // ---- helpers ----

    /** The token answer with its ID token's claims changed (header and signature kept: the relay cannot sign). */
    private static String idTokenClaims(String body, java.util.function.Consumer<ObjectNode> change) {
        ObjectNode n = (ObjectNode) json(body);
        String idToken = n.path("id_token").asText("");
        String[] parts = idToken.split("\\.");
        if (parts.length != 3) {
            return body;
        }
        ObjectNode claims = (ObjectNode) json(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
        change.accept(claims);
        n.put("id_token", parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
                claims.toString().getBytes(StandardCharsets.UTF_8)) + "." + parts[2]);
        return n.toString();
    }

    private static JsonNode json(String s) {
        try {
            return Http.JSON.readTree(s);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private Http.Response proxy(String alias, String connectionId) {
        return http.get(connectorUri(alias) + "/proxy/userinfo?connection_id=" + connectionId, proxyToken(alias));
    }

    private String connect(String upstreamUser) {
        try (Browser b = new Browser()) {
            return Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, ALIAS, "prompt=login"), USER, upstreamUser, null));
        }
    }

    /** calendar-agent's delegated exchange of the user's agent-host token, for the connector's resource URI. */
    private String proxyToken(String alias) {
        return flows.connectorToken(users.accessToken(USER), connectorUri(alias));
    }

    private Map<String, String> row(String id) {
        List<Map<String, String>> rows = db.query("SELECT ID, STATUS, TOKENS FROM AGENT_AUTH_CONNECTION WHERE ID = '" + id + "'");
        assertEquals(1, rows.size(), id);
        assertNotEquals(null, rows.get(0).get("TOKENS"));
        return rows.get(0);
    }

    private String connectorUri(String alias) {
        return server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/" + alias;
    }

    private String connectors() {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/connectors";
    }

}
