package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Connector administration (DESIGN sections 2 and 5): {@code /admin/realms/{realm}/agent-auth/connectors}. Connectors
 * are realm components; the client secret is write-only and never leaves the server (answers, admin events, export,
 * log). The configuration test talks to the demo upstream, realm upstream-saas on this same server.
 */
@Order(25)
@ExtendWith(KeycloakServerExtension.class)
class ConnectorAdminApiIT {

    /** The demo upstream's real client secret (realm-exports/upstream-saas.json). */
    static final String UPSTREAM_SECRET = "agent-auth-connector-secret";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final DemoUsers users;
    private final Http http = new Http();

    ConnectorAdminApiIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.users = new DemoUsers(server);
    }

    private String connectors() {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/connectors";
    }

    private String upstream(String path) {
        return server.realmUrl("upstream-saas") + "/protocol/openid-connect" + path;
    }

    /** A connector on the demo upstream (localhost is on the test server's allowed-hosts list). */
    private Map<String, Object> upstreamConnector(String alias, String secret) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("alias", alias);
        c.put("displayName", "IT " + alias);
        c.put("authorizationUrl", upstream("/auth"));
        c.put("tokenUrl", upstream("/token"));
        c.put("revocationUrl", upstream("/revoke"));
        c.put("userinfoUrl", upstream("/userinfo"));
        c.put("clientId", "agent-auth-connector");
        c.put("clientSecret", secret);
        c.put("scopes", List.of("openid", "profile"));
        c.put("extraAuthParams", Map.of("prompt", "login"));
        c.put("apiBaseUrl", upstream(""));
        c.put("deliveryMode", "proxy");
        c.put("preset", "oauth2");
        c.put("timeoutMillis", 5000);
        return c;
    }

    @Test
    void createReadUpdateDeleteWithAWriteOnlySecret() {
        String admin = oidc.adminToken();
        String secret = "it-crud-secret-" + System.nanoTime();
        Http.Response created = http.postJson(connectors(), admin, upstreamConnector("it-crud", secret));
        try {
            assertEquals(201, created.status(), created.body());
            assertEquals(connectors() + "/it-crud", created.location());
            assertFalse(created.body().contains(secret), created.body());
            assertTrue(created.json().path("clientSecretSet").asBoolean());
            assertTrue(created.json().path("clientSecret").isMissingNode());

            Http.Response got = http.get(connectors() + "/it-crud", admin);
            assertEquals(200, got.status(), got.body());
            JsonNode c = got.json();
            assertFalse(got.body().contains(secret), got.body());
            assertEquals("IT it-crud", c.path("displayName").asText());
            assertEquals(upstream("/token"), c.path("tokenUrl").asText());
            assertEquals(List.of("openid", "profile"), AgentAdminApiIT.list(c.path("scopes")));
            assertEquals("login", c.path("extraAuthParams").path("prompt").asText());
            assertEquals("client_secret_basic", c.path("clientAuthMethod").asText(), "the default");
            assertEquals(5000, c.path("timeoutMillis").asInt());
            assertTrue(c.path("maxResponseBytes").asLong() > 0, "the default is shown");
            assertTrue(aliases(http.get(connectors(), admin)).contains("it-crud"));

            // a made-up secret: the configuration test says the upstream refuses it; the upstream's real one: accepted
            assertFalse(check(test("it-crud", admin), "clientCredentials").path("ok").asBoolean());
            Map<String, Object> edit = Http.JSON.convertValue(c, Map.class);
            edit.put("clientSecret", UPSTREAM_SECRET);
            assertEquals(200, http.putJson(connectors() + "/it-crud", admin, edit).status());
            assertTrue(test("it-crud", admin).path("ok").asBoolean());

            // the GET answer sent back with one change: no secret in it, the stored one stays; same hosts: nothing expires
            edit.remove("clientSecret");
            edit.put("displayName", "Renamed");
            Http.Response updated = http.putJson(connectors() + "/it-crud", admin, edit);
            assertEquals(200, updated.status(), updated.body());
            assertEquals("Renamed", updated.json().path("displayName").asText());
            assertTrue(updated.json().path("connectionsExpired").isMissingNode(), updated.body());
            assertTrue(updated.json().path("clientSecretSet").asBoolean());
            assertTrue(test("it-crud", admin).path("ok").asBoolean(), "the stored secret was kept (the test's credentials check passes)");

            // a new API origin: the connections expire, and the answer and the admin event say so
            edit.put("apiBaseUrl", "http://127.0.0.1:" + URI.create(server.baseUrl()).getPort() + "/api");
            Http.Response refused = http.putJson(connectors() + "/it-crud", admin, edit);
            assertBadRequest(refused, "apiBaseUrl", "https");
            edit.put("apiBaseUrl", "http://localhost:1/api");
            // another origin needs the secret again (the stored one never goes to a new origin)
            assertBadRequest(http.putJson(connectors() + "/it-crud", admin, edit), "clientSecret", "apiBaseUrl moves to another origin");
            edit.put("clientSecret", UPSTREAM_SECRET);
            Http.Response moved = http.putJson(connectors() + "/it-crud", admin, edit);
            edit.remove("clientSecret");
            assertEquals(200, moved.status(), moved.body());
            assertTrue(moved.json().path("connectionsExpired").asBoolean(), moved.body());
            assertEquals(List.of("apiBaseUrl"), AgentAdminApiIT.list(moved.json().path("originsChanged")), moved.body());

            // the alias cannot change
            edit.put("alias", "it-crud-2");
            assertBadRequest(http.putJson(connectors() + "/it-crud", admin, edit), "alias", "cannot change");

            // a vault reference is stored as given, and tested as not resolving
            Map<String, Object> vaultRef = upstreamConnector("it-crud", "${vault.it_crud_secret}");
            assertEquals(200, http.putJson(connectors() + "/it-crud", admin, vaultRef).status());
            JsonNode checks = test("it-crud", admin);
            assertFalse(checks.path("ok").asBoolean());
            assertTrue(check(checks, "clientSecret").path("detail").asText().contains("${vault.it_crud_secret}"), checks.toString());

            assertEquals(204, http.delete(connectors() + "/it-crud", admin).status());
            assertEquals(404, http.get(connectors() + "/it-crud", admin).status());
            assertFalse(aliases(http.get(connectors(), admin)).contains("it-crud"));

            // admin events: create, updates (one with connectionsExpired), delete; never the secret
            Http.Response events = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/admin-events?max=500", admin);
            assertEquals(200, events.status(), events.body());
            assertFalse(events.body().contains(secret), "no secret in admin events");
            assertFalse(events.body().contains(UPSTREAM_SECRET), "no secret in admin events");
            List<String> ops = new ArrayList<>();
            boolean expiredRecorded = false;
            for (JsonNode e : events.json()) {
                if ("AGENT_AUTH_CONNECTOR".equals(e.path("resourceType").asText()) && e.path("resourcePath").asText().endsWith("connectors/it-crud")) {
                    ops.add(e.path("operationType").asText());
                    expiredRecorded |= e.path("representation").asText().contains("\"connectionsExpired\":true");
                    assertFalse(e.path("representation").asText().contains("\"clientSecret\""), e.toString());
                }
            }
            assertTrue(ops.containsAll(List.of("CREATE", "UPDATE", "DELETE")), ops.toString());
            assertTrue(expiredRecorded, "the host change is recorded in the admin event");
            assertFalse(server.logText().contains(secret), "no secret in the server log");
        } finally {
            http.delete(connectors() + "/it-crud", admin);
        }
    }

    @Test
    void fieldErrorsNameTheFieldAndSaveNothing() {
        String admin = oidc.adminToken();
        Map<String, Object> bad = upstreamConnector("it-bad", "s");
        bad.put("authorizationUrl", "not a url");
        bad.put("tokenUrl", "https://10.0.0.1/x");
        bad.put("apiBaseUrl", "http://example.com");
        bad.put("extraAuthParams", Map.of("redirect_uri", "https://evil.example.com/"));
        Http.Response r = http.postJson(connectors(), admin, bad);
        assertEquals(400, r.status(), r.body());
        Map<String, String> errors = new LinkedHashMap<>();
        r.json().path("errors").forEach(e -> errors.put(e.path("field").asText(), e.path("errorMessage").asText()));
        assertTrue(errors.get("authorizationUrl").contains("authorizationUrl"), errors.toString());
        assertTrue(errors.get("tokenUrl").contains("non-public"), errors.toString());
        assertTrue(errors.get("apiBaseUrl").contains("https"), errors.toString());
        assertTrue(errors.get("extraAuthParams").contains("redirect_uri"), errors.toString());
        assertFalse(r.body().contains("\"s\""), "the secret is not echoed");
        assertEquals(404, http.get(connectors() + "/it-bad", admin).status(), "nothing saved");

        Map<String, Object> noClient = upstreamConnector("it-bad", "s");
        noClient.remove("clientId");
        assertBadRequest(http.postJson(connectors(), admin, noClient), "clientId", "required");
        assertBadRequest(http.postJson(connectors(), admin, upstreamConnector("Bad Alias", "s")), "alias", "alias");
        assertBadRequest(http.postJson(connectors(), admin, upstreamConnector("presets", "s")), "alias", "reserved");
        Map<String, Object> unknown = upstreamConnector("it-bad", "s");
        unknown.put("clientSecretRef", "x");
        assertBadRequest(http.postJson(connectors(), admin, unknown), "clientSecretRef", "Unknown field");
        Map<String, Object> badMode = upstreamConnector("it-bad", "s");
        badMode.put("deliveryMode", "tokens");
        assertBadRequest(http.postJson(connectors(), admin, badMode), "deliveryMode", "proxy");
        Map<String, Object> badTimeout = upstreamConnector("it-bad", "s");
        badTimeout.put("timeoutMillis", 5);
        assertBadRequest(http.postJson(connectors(), admin, badTimeout), "timeoutMillis", "between");
        assertBadRequest(http.postJson(connectors(), admin, "{\"alias\": \"it-bad\""), null, "not a valid JSON");
        assertEquals(404, http.get(connectors() + "/it-bad", admin).status(), "nothing saved");
    }

    @Test
    void aTakenAliasIs409AndAnUnknownOne404() {
        String admin = oidc.adminToken();
        Http.Response dup = http.postJson(connectors(), admin, upstreamConnector("demo-calendar", "x"));
        assertEquals(409, dup.status(), dup.body());
        assertEquals("alias", dup.json().path("field").asText());
        assertEquals("Demo Calendar", http.get(connectors() + "/demo-calendar", admin).json().path("displayName").asText(), "unchanged");

        assertEquals(404, http.get(connectors() + "/no-such-connector", admin).status());
        assertEquals(404, http.putJson(connectors() + "/no-such-connector", admin, upstreamConnector("no-such-connector", "x")).status());
        assertEquals(404, http.delete(connectors() + "/no-such-connector", admin).status());
        assertEquals(404, http.postJson(connectors() + "/no-such-connector/test", admin, "").status());
    }

    @Test
    void usersWithoutRealmManagementRolesAreForbidden() {
        String alice = users.accessToken("alice");
        assertEquals(403, http.get(connectors(), alice).status());
        assertEquals(403, http.get(connectors() + "/demo-calendar", alice).status());
        assertEquals(403, http.get(connectors() + "/presets", alice).status());
        assertEquals(403, http.postJson(connectors(), alice, upstreamConnector("it-alice", "x")).status());
        assertEquals(403, http.putJson(connectors() + "/demo-calendar", alice, upstreamConnector("demo-calendar", "x")).status());
        assertEquals(403, http.delete(connectors() + "/demo-calendar", alice).status());
        assertEquals(403, http.postJson(connectors() + "/demo-calendar/test", alice, "").status());
        assertEquals(403, http.postJson(connectors() + "/discover", alice, Map.of("issuer", server.realmUrl("upstream-saas"))).status());
        assertEquals(401, http.get(connectors(), "not-a-token").status());

        // the demo realm's own admin (view-realm, manage-realm) may
        String agentAdmin = users.loginToHost("agent-admin", "agent-admin", "openid").get("access_token").asText();
        assertEquals(200, http.get(connectors(), agentAdmin).status());
    }

    @Test
    void theDemoConnectorIsListedWithoutItsSecret() {
        Http.Response r = http.get(connectors(), oidc.adminToken());
        assertEquals(200, r.status(), r.body());
        assertFalse(r.body().contains(UPSTREAM_SECRET), r.body());
        JsonNode demo = null;
        for (JsonNode c : r.json()) {
            if ("demo-calendar".equals(c.path("alias").asText())) {
                demo = c;
            }
        }
        assertNotNull(demo, r.body());
        assertEquals("Demo Calendar", demo.path("displayName").asText());
        assertTrue(demo.path("clientSecretSet").asBoolean());
        assertEquals("proxy_exchange", demo.path("deliveryMode").asText());
        assertEquals(upstream(""), demo.path("apiBaseUrl").asText());
    }

    @Test
    void presetsAndDiscovery() {
        String admin = oidc.adminToken();
        Http.Response presets = http.get(connectors() + "/presets", admin);
        assertEquals(200, presets.status(), presets.body());
        List<String> ids = new ArrayList<>();
        presets.json().forEach(p -> ids.add(p.path("id").asText()));
        assertEquals(List.of("google", "github", "slack", "microsoft", "oidc", "oauth2"), ids);
        JsonNode github = presets.json().get(1);
        assertEquals("https://github.com/login/oauth/access_token", github.path("tokenUrl").asText());
        assertEquals("client_secret_post", github.path("clientAuthMethod").asText());
        assertTrue(presets.json().get(4).path("discovery").asBoolean());

        Http.Response found = http.postJson(connectors() + "/discover", admin, Map.of("issuer", server.realmUrl("upstream-saas")));
        assertEquals(200, found.status(), found.body());
        assertEquals(upstream("/auth"), found.json().path("authorizationUrl").asText());
        assertEquals(upstream("/token"), found.json().path("tokenUrl").asText());
        assertEquals(upstream("/revoke"), found.json().path("revocationUrl").asText());
        assertEquals(upstream("/userinfo"), found.json().path("userinfoUrl").asText());

        assertBadRequest(http.postJson(connectors() + "/discover", admin, Map.of("issuer", "https://10.0.0.1/realms/x")), "issuer", "non-public");
        assertBadRequest(http.postJson(connectors() + "/discover", admin, Map.of("issuer", "http://example.com")), "issuer", "https");
        assertBadRequest(http.postJson(connectors() + "/discover", admin, Map.of("issuer", server.realmUrl("no-such-realm"))), "issuer", "HTTP 404");
        assertBadRequest(http.postJson(connectors() + "/discover", admin, Map.of()), "issuer", "required");
        assertBadRequest(http.postJson(connectors() + "/discover", admin, Map.of("issuer", 3)), "issuer", "Invalid value");
    }

    @Test
    void theDemoConnectorsConfigurationTestPassesAndAWrongSecretIsReportedAsInvalidClient() {
        String admin = oidc.adminToken();
        JsonNode demo = test("demo-calendar", admin);
        assertTrue(demo.path("ok").asBoolean(), demo.toString());
        for (String name : List.of("hostPolicy.authorizationUrl", "hostPolicy.tokenUrl", "hostPolicy.apiBaseUrl", "clientSecret",
                "tokenEndpoint", "clientCredentials", "authorizationEndpoint")) {
            assertTrue(check(demo, name).path("ok").asBoolean(), name + ": " + demo);
        }
        assertTrue(check(demo, "clientCredentials").path("detail").asText().contains("invalid_grant"), demo.toString());
        assertFalse(demo.toString().contains(UPSTREAM_SECRET));

        String wrong = "it-wrong-secret-" + System.nanoTime();
        assertEquals(201, http.postJson(connectors(), admin, upstreamConnector("it-wrong", wrong)).status());
        try {
            JsonNode r = test("it-wrong", admin);
            assertFalse(r.path("ok").asBoolean(), r.toString());
            assertTrue(check(r, "tokenEndpoint").path("ok").asBoolean(), "the endpoint answered with an OAuth error: " + r);
            JsonNode creds = check(r, "clientCredentials");
            assertFalse(creds.path("ok").asBoolean(), r.toString());
            assertTrue(creds.path("detail").asText().contains("invalid_client"), r.toString());
            assertFalse(r.toString().contains(wrong), "never the secret");

            // client_secret_post too
            Map<String, Object> post = upstreamConnector("it-wrong", null);
            post.put("clientAuthMethod", "client_secret_post");
            assertEquals(200, http.putJson(connectors() + "/it-wrong", admin, post).status());
            assertTrue(check(test("it-wrong", admin), "clientCredentials").path("detail").asText().contains("invalid_client"));
            post.put("clientSecret", UPSTREAM_SECRET);
            assertEquals(200, http.putJson(connectors() + "/it-wrong", admin, post).status());
            assertTrue(test("it-wrong", admin).path("ok").asBoolean());
        } finally {
            http.delete(connectors() + "/it-wrong", admin);
        }
    }

    @Test
    void aPartialRealmExportCarriesTheConnectorButNotItsSecret() {
        Http.Response r = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/admin/realms/" + Oidc.DEMO
                        + "/partial-export?exportClients=false&exportGroupsAndRoles=false"))
                .header("Authorization", "Bearer " + oidc.adminToken())
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(200, r.status(), r.body());
        JsonNode connectors = r.json().path("components").path("org.agentauth.keycloak.vault.ConnectorProvider");
        assertTrue(connectors.isArray(), r.json().path("components").toString());
        JsonNode demo = null;
        for (JsonNode c : connectors) {
            if ("demo-calendar".equals(c.path("name").asText())) {
                demo = c;
            }
        }
        assertNotNull(demo, connectors.toString());
        assertEquals("oauth2", demo.path("providerId").asText());
        assertEquals(upstream("/token"), demo.path("config").path("tokenUrl").get(0).asText());
        assertFalse(r.body().contains(UPSTREAM_SECRET), "the export masks the secret");
    }

    // ------------------------------------------------------------------ helpers

    private JsonNode test(String alias, String admin) {
        Http.Response r = http.postJson(connectors() + "/" + alias + "/test", admin, "");
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    static JsonNode check(JsonNode result, String name) {
        for (JsonNode c : result.path("checks")) {
            if (name.equals(c.path("name").asText())) {
                return c;
            }
        }
        throw new AssertionError("no check " + name + " in " + result);
    }

    private static List<String> aliases(Http.Response r) {
        assertEquals(200, r.status(), r.body());
        List<String> out = new ArrayList<>();
        r.json().forEach(c -> out.add(c.path("alias").asText()));
        return out;
    }

    private static void assertBadRequest(Http.Response r, String field, String text) {
        assertEquals(400, r.status(), r.body());
        JsonNode errors = r.json().path("errors");
        boolean found = false;
        for (JsonNode e : errors) {
            String f = e.path("field").isMissingNode() || e.path("field").isNull() ? null : e.path("field").asText();
            found |= java.util.Objects.equals(field, f) && e.path("errorMessage").asText().contains(text);
        }
        assertTrue(found, "expected an error on " + field + " containing '" + text + "': " + r.body());
    }
}
