package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * DESIGN section 5, "a token goes only where it was meant to go", done the way an attacker did it (issue 21, findings
 * 3, 4 and 5): an admin who may manage the realm, but holds no user's upstream tokens and not the connector's secret,
 * moves a connector's URLs to an origin of their own, then makes the vault call it. The "other origin" is a loopback
 * listener of this test ({@code localhost} with another port, on the test server's allowed-hosts list) that records what
 * it receives; the upstream itself stays the demo's realm upstream-saas.
 */
@Order(60)
@ExtendWith(KeycloakServerExtension.class)
class ConnectorOriginIT {

    private static final String UPSTREAM_SECRET = ConnectorAdminApiIT.UPSTREAM_SECRET;

    private final KeycloakServer server;
    private final Oidc oidc;
    private final DemoUsers users;
    private final Vault vault;
    private final Http http = new Http();
    private Recorder recorder;

    ConnectorOriginIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.users = new DemoUsers(server);
        this.vault = new Vault(server);
    }

    @BeforeEach
    void startRecorder() throws IOException {
        recorder = new Recorder();
    }

    @AfterEach
    void stopRecorder() {
        recorder.close();
    }

    private String connectors() {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/connectors";
    }

    private String upstream(String path) {
        return server.realmUrl(Vault.UPSTREAM) + "/protocol/openid-connect" + path;
    }

    private Map<String, Object> connector(String alias) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("alias", alias);
        c.put("displayName", "IT " + alias);
        c.put("authorizationUrl", upstream("/auth"));
        c.put("tokenUrl", upstream("/token"));
        c.put("revocationUrl", upstream("/revoke"));
        c.put("userinfoUrl", upstream("/userinfo"));
        c.put("clientId", "agent-auth-connector");
        c.put("clientSecret", UPSTREAM_SECRET);
        c.put("scopes", List.of("openid", "profile"));
        c.put("apiBaseUrl", upstream(""));
        c.put("deliveryMode", "proxy");
        c.put("timeoutMillis", 5000);
        return c;
    }

    /**
     * Finding 3: userinfo and revocation moved to another origin. The connections expire at once, the admin event says
     * so, the connection check needs manage-users, and neither the check nor the disconnect sends the user's tokens (or
     * the stored secret) to the new origin.
     */
    @Test
    void movingUserinfoAndRevocationExpiresTheConnectionsAndNoTokenGoesThere() {
        String admin = oidc.adminToken();
        String alias = "it-origin";
        String connection = connectorWithAlicesAccount(admin, alias);
        try {
            String aliceId = users.userId(admin, "alice");
            String adminConnections = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/users/" + aliceId + "/connections";
            assertEquals("ACTIVE", status(admin, adminConnections, connection));
            JsonNode before = http.postJson(adminConnections + "/" + connection + "/check", admin, "").json();
            assertTrue(before.path("ok").asBoolean(), before.toString());

            // the attacker's change: the userinfo and revocation URLs to an origin of their own, the secret left as it is
            Map<String, Object> moved = connector(alias);
            moved.remove("clientSecret");
            moved.put("userinfoUrl", recorder.url("/userinfo"));
            moved.put("revocationUrl", recorder.url("/revoke"));
            Http.Response refused = http.putJson(connectors() + "/" + alias, admin, moved);
            assertEquals(400, refused.status(), "an origin change without the secret is refused: " + refused.body());
            assertTrue(fieldError(refused, "clientSecret").contains("userinfoUrl"), refused.body());
            assertEquals(upstream("/userinfo"), http.get(connectors() + "/" + alias, admin).json().path("userinfoUrl").asText(),
                    "nothing saved");
            assertEquals("ACTIVE", status(admin, adminConnections, connection), "nothing expired");

            // with a secret typed in (the attacker's own: they do not know the stored one) the change is saved...
            moved.put("clientSecret", "typed-by-the-admin");
            Http.Response saved = http.putJson(connectors() + "/" + alias, admin, moved);
            assertEquals(200, saved.status(), saved.body());
            assertTrue(saved.json().path("connectionsExpired").asBoolean(), saved.body());
            // ...and every connection made under the old origins is EXPIRED
            assertEquals("EXPIRED", status(admin, adminConnections, connection));

            // an admin event records it
            Http.Response events = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/admin-events?max=500", admin);
            boolean recorded = false;
            for (JsonNode e : events.json()) {
                String rep = e.path("representation").asText();
                recorded |= "UPDATE".equals(e.path("operationType").asText()) && e.path("resourcePath").asText().endsWith("connectors/" + alias)
                        && rep.contains("\"connectionsExpired\":true,\"originsChanged\":[\"revocationUrl\",\"userinfoUrl\"]");
            }
            assertTrue(recorded, "the admin event names the expiry and the moved URLs: " + events.body());

            // the connection check uses the user's token: view-users is not enough
            String viewer = viewUsersOnlyAdmin(admin);
            Http.Response byViewer = http.postJson(adminConnections + "/" + connection + "/check", viewer, "");
            assertEquals(403, byViewer.status(), byViewer.body());
            assertEquals(200, http.get(adminConnections, viewer).status(), "listing stays with view-users");
            // an admin who may manage users: the check says connect again, and calls no one
            String manager = users.loginToHost("agent-admin", "agent-admin", "openid").get("access_token").asText();
            JsonNode check = http.postJson(adminConnections + "/" + connection + "/check", manager, "").json();
            assertFalse(check.path("ok").asBoolean(), check.toString());
            assertEquals("connection_required", check.path("problem").asText(), check.toString());

            // alice disconnects: the stored tokens go nowhere (the new revocation origin is not where they were made)
            String alice = users.accessToken("alice");
            Http.Response gone = http.delete(vault.accountConnections(Oidc.DEMO) + "/" + connection, alice);
            assertEquals(204, gone.status(), gone.body());
            assertEquals(List.of(), recorder.received(), "the other origin received nothing");
        } finally {
            http.delete(connectors() + "/" + alias, admin);
        }
    }

    /**
     * Finding 3 raced: connection checks run in parallel (16 at a time, by an admin with manage-users) while the
     * userinfo and revocation URLs move to another origin. A check reads its connection, then the connector; one whose
     * connection was read before the change committed and whose connector after it would send the user's token to the
     * new origin, so a check reads the connection again after the connector. Both sides of the change must be seen (a
     * check that worked, one that said connect again), and the other origin receives nothing.
     */
    @Test
    void checksRacingAnOriginChangeNeverReachTheNewOrigin() throws Exception {
        String admin = oidc.adminToken();
        String alias = "it-origin-race";
        String connection = connectorWithAlicesAccount(admin, alias);
        try {
            String check = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/users/" + users.userId(admin, "alice")
                    + "/connections/" + connection + "/check";
            String manager = users.loginToHost("agent-admin", "agent-admin", "openid").get("access_token").asText();
            Map<String, Object> moved = connector(alias);
            moved.put("userinfoUrl", recorder.url("/userinfo"));
            moved.put("revocationUrl", recorder.url("/revoke"));
            moved.put("clientSecret", "typed-by-the-admin");

            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Map<String, Integer> outcomes = new java.util.concurrent.ConcurrentHashMap<>();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(16);
            List<java.util.concurrent.Future<?>> checkers = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                checkers.add(pool.submit(() -> {
                    while (!stop.get()) {
                        Http.Response r = http.postJson(check, manager, "");
                        String outcome = r.status() != 200 ? "HTTP " + r.status()
                                : r.json().path("ok").asBoolean() ? "ok" : r.json().path("problem").asText();
                        outcomes.merge(outcome, 1, Integer::sum);
                    }
                    return null;
                }));
            }
            try {
                Thread.sleep(1500);
                Http.Response saved = http.putJson(connectors() + "/" + alias, admin, moved);
                assertEquals(200, saved.status(), saved.body());
                assertTrue(saved.json().path("connectionsExpired").asBoolean(), saved.body());
                Thread.sleep(1500);
            } finally {
                stop.set(true);
                pool.shutdown();
            }
            for (java.util.concurrent.Future<?> f : checkers) {
                f.get();
            }
            System.out.printf("[origin] connection checks racing the origin change: %s; the other origin received %d requests%n",
                    new java.util.TreeMap<>(outcomes), recorder.received().size());
            assertTrue(outcomes.getOrDefault("ok", 0) > 0, "checks before the change worked: " + outcomes);
            assertTrue(outcomes.getOrDefault("connection_required", 0) > 0, "checks after it say connect again: " + outcomes);
            assertEquals(Set.of("ok", "connection_required"), outcomes.keySet(), "nothing else: " + outcomes);
            assertEquals(List.of(), recorder.received(), "the other origin received nothing");
        } finally {
            http.delete(connectors() + "/" + alias, admin);
        }
    }

    /**
     * Finding 4: the token URL moved without the secret: refused (extension API), or the secret dropped (Keycloak's
     * component API, whose masked secret cannot be told from a typed one); "Test" never sends the stored secret there.
     */
    @Test
    void movingTheTokenUrlNeedsTheSecretAgainOnEverySavePath() {
        String admin = oidc.adminToken();
        String alias = "it-origin-secret";
        assertEquals(201, http.postJson(connectors(), admin, connector(alias)).status());
        try {
            Map<String, Object> moved = connector(alias);
            moved.remove("clientSecret");
            moved.put("tokenUrl", recorder.url("/token"));
            Http.Response refused = http.putJson(connectors() + "/" + alias, admin, moved);
            assertEquals(400, refused.status(), refused.body());
            assertTrue(fieldError(refused, "clientSecret").contains("tokenUrl"), refused.body());
            Http.Response tested = http.postJson(connectors() + "/" + alias + "/test", admin, "");
            assertEquals(200, tested.status(), tested.body());
            assertTrue(tested.json().path("ok").asBoolean(), "the stored configuration is unchanged: " + tested.body());

            // Keycloak's own component API, with the masked secret as its GET answers it
            String components = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/components";
            JsonNode found = http.get(components + "?type=org.agentauth.keycloak.vault.ConnectorProvider&name=" + alias, admin).json();
            assertEquals(1, found.size(), found.toString());
            ObjectNode component = (ObjectNode) found.get(0);
            assertEquals("**********", component.path("config").path("clientSecret").get(0).asText(), component.toString());
            ((ObjectNode) component.get("config")).set("tokenUrl", Http.JSON.createArrayNode().add(recorder.url("/token")));
            Http.Response put = http.putJson(components + "/" + component.path("id").asText(), admin, component);
            assertEquals(204, put.status(), put.body());
            JsonNode after = http.get(connectors() + "/" + alias, admin).json();
            assertEquals(recorder.url("/token"), after.path("tokenUrl").asText());
            assertFalse(after.path("clientSecretSet").asBoolean(), "the secret was dropped: " + after);

            Http.Response test = http.postJson(connectors() + "/" + alias + "/test", admin, "");
            assertEquals(200, test.status(), test.body());
            assertFalse(ConnectorAdminApiIT.check(test.json(), "clientSecret").path("ok").asBoolean(), test.body());
            for (String request : recorder.received()) {
                assertFalse(request.contains(UPSTREAM_SECRET), "the stored secret reached the new origin: " + request);
            }
        } finally {
            http.delete(connectors() + "/" + alias, admin);
        }
    }

    /**
     * Finding 5: a host name that resolves to a loopback address (this machine's own name) is refused alike by the
     * extension's API, Keycloak's component API and realm creation: 400 with the reason, never a 500.
     */
    @Test
    void oneHostPolicyOnEverySavePath() throws IOException {
        String host = InetAddress.getLocalHost().getHostName().toLowerCase(java.util.Locale.ROOT);
        assertNotEquals("localhost", host);
        assertTrue(InetAddress.getByName(host).isLoopbackAddress(), "this test needs the machine's name to resolve to a loopback address: " + host);
        String admin = oidc.adminToken();
        Map<String, Object> c = connector("it-loopback");
        for (String field : List.of("authorizationUrl", "tokenUrl", "revocationUrl", "userinfoUrl")) {
            c.put(field, "https://" + host + "/" + field);
        }
        c.put("apiBaseUrl", "https://" + host + "/api");

        Http.Response ours = http.postJson(connectors(), admin, c);
        assertEquals(400, ours.status(), ours.body());
        assertTrue(ours.body().contains("non-public"), ours.body());

        Map<String, Object> component = new LinkedHashMap<>();
        component.put("name", "it-loopback");
        component.put("providerId", "oauth2");
        component.put("providerType", "org.agentauth.keycloak.vault.ConnectorProvider");
        Map<String, List<String>> config = new LinkedHashMap<>();
        c.forEach((k, v) -> {
            if (!k.equals("alias")) {
                config.put(k, v instanceof List<?> l ? List.of(String.join(" ", (List<String>) l)) : List.of(String.valueOf(v)));
            }
        });
        component.put("config", config);
        String components = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/components";
        Http.Response keycloaks = http.postJson(components, admin, component);
        assertEquals(400, keycloaks.status(), keycloaks.body());
        assertTrue(keycloaks.body().contains("non-public"), keycloaks.body());
        assertEquals(404, http.get(connectors() + "/it-loopback", admin).status(), "nothing saved");

        String realmName = "it-loopback-realm";
        Map<String, Object> realm = new LinkedHashMap<>();
        realm.put("realm", realmName);
        realm.put("enabled", true);
        Map<String, Object> exported = new LinkedHashMap<>(component);
        exported.remove("providerType");
        realm.put("components", Map.of("org.agentauth.keycloak.vault.ConnectorProvider", List.of(exported)));
        Http.Response created = http.postJson(server.baseUrl() + "/admin/realms", admin, realm);
        try {
            assertEquals(400, created.status(), created.body());
            assertTrue(created.body().contains("non-public") && created.body().contains("it-loopback"), created.body());
            assertEquals(404, http.get(server.baseUrl() + "/admin/realms/" + realmName, admin).status(), "no realm");

            // plain http to a host off the list: the same 400 on realm creation
            config.put("authorizationUrl", List.of("http://example.com/auth"));
            Http.Response http80 = http.postJson(server.baseUrl() + "/admin/realms", admin, realm);
            assertEquals(400, http80.status(), http80.body());
            assertTrue(http80.body().contains("https"), http80.body());
        } finally {
            http.delete(server.baseUrl() + "/admin/realms/" + realmName, admin);
        }
    }

    /**
     * Finding 5, start-up import: the test server imported realm it-import-policy (test resource realm-imports/) whose
     * connector uses plain http to a host off the allowed-hosts list. Keycloak started all the same; one WARN line names
     * the realm, the connector, the URL and the option; the connector is kept disabled and the admin API says why, until
     * a save that passes the policy.
     */
    /**
     * Finding 7 as an admin would try it on the real server: connector URLs whose host is an IPv6 literal carrying a
     * loopback or private IPv4 address (IPv4-compatible, IPv4-mapped, NAT64, 6to4, Teredo with a loopback client) or
     * another special-purpose address. Each is refused with a 400 naming the address as non-public, and nothing is
     * stored. (Before issue 21 the first four counted as public and were stored.)
     */
    @Test
    void embeddedAndSpecialPurposeAddressesAreRefused() {
        String admin = oidc.adminToken();
        List<String> hosts = List.of("[::7f00:1]", "[::ffff:127.0.0.1]", "[64:ff9b::a00:1]", "[2002:7f00:1::1]",
                // Teredo: server 65.54.227.120, client 127.0.0.1 stored inverted (0x80ff:0xfffe)
                "[2001:0:4136:e378:8000:63bf:80ff:fffe]", "[2001:db8::1]", "192.0.2.10", "100.64.0.1");
        Map<String, Integer> answers = new LinkedHashMap<>();
        for (String host : hosts) {
            Map<String, Object> c = connector("it-special");
            for (String field : List.of("authorizationUrl", "tokenUrl", "revocationUrl", "userinfoUrl")) {
                c.put(field, "https://" + host + "/" + field);
            }
            c.put("apiBaseUrl", "https://" + host + "/api");
            Http.Response r = http.postJson(connectors(), admin, c);
            answers.put(host, r.status());
            if (r.status() == 201) {
                http.delete(connectors() + "/it-special", admin);
            }
            assertEquals(400, r.status(), host + ": " + r.body());
            assertTrue(r.body().contains("non-public"), host + ": " + r.body());
        }
        System.out.printf("[origin] connector URLs on embedded and special-purpose addresses: %s%n", answers);
        assertEquals(404, http.get(connectors() + "/it-special", admin).status(), "nothing saved");
    }

    @Test
    void aConnectorRefusedAtStartUpImportIsKeptDisabledAndKeycloakStarts() {
        List<String> warnings = server.logText().lines().filter(l -> l.contains("refused-at-import")).toList();
        assertEquals(1, warnings.size(), String.join("\n", warnings));
        String w = warnings.get(0);
        assertTrue(w.contains(" WARN ") && w.contains("it-import-policy") && w.contains("http://upstream.example.com/auth")
                && w.contains("--spi-agent-auth-vault--default--allowed-hosts="), w);
        assertFalse(server.logText().contains("it-import-secret-never-logged"), "never the secret");

        String admin = oidc.adminToken();
        String url = server.baseUrl() + "/admin/realms/it-import-policy/agent-auth/connectors/refused-at-import";
        JsonNode refused = http.get(url, admin).json();
        assertTrue(refused.path("policyRefusal").asText().contains("https"), refused.toString());
        Http.Response connect = http.get(server.realmUrl("it-import-policy") + "/agent-auth/connectors/refused-at-import/connect?client_id=account");
        assertNotEquals(200, connect.status(), "nobody can connect to a refused connector: " + connect.body());

        // the admin page shows it as refused by policy, in the list and on its form
        try (Browser browser = new Browser()) {
            com.microsoft.playwright.Page d = browser.page();
            d.navigate(server.realmUrl("master") + "/agent-auth/admin/?realm=it-import-policy");
            d.locator("#kc-form-login").waitFor();
            d.locator("#username").fill(KeycloakServer.ADMIN_USER);
            d.locator("#password").fill(KeycloakServer.ADMIN_PASSWORD);
            d.locator("#kc-login").click();
            d.locator("#tab-connectors").click();
            com.microsoft.playwright.Locator row = d.locator("#connectors tr[data-alias='refused-at-import']");
            row.waitFor();
            assertTrue(row.locator(".policy-refusal").innerText().contains("refused by the host policy"), row.innerText());
            System.out.println("[browser] screenshot " + browser.screenshot("connector-refused-at-import-list"));
            row.locator("a.connector-link").click();
            d.locator("#connector-policy-refusal").waitFor();
            assertTrue(d.locator("#connector-policy-refusal").innerText().contains("--spi-agent-auth-vault--default--allowed-hosts"));
            System.out.println("[browser] screenshot " + browser.screenshot("connector-refused-at-import-form"));
        }

        Map<String, Object> fixed = Http.JSON.convertValue(refused, Map.class);
        fixed.put("authorizationUrl", "https://github.com/login/oauth/authorize");
        fixed.put("tokenUrl", "https://github.com/login/oauth/access_token");
        fixed.put("clientSecret", "it-import-secret-typed-again");
        Http.Response saved = http.putJson(url, admin, fixed);
        assertEquals(200, saved.status(), saved.body());
        assertTrue(saved.json().path("policyRefusal").isMissingNode(), saved.body());
        assertTrue(http.get(url, admin).json().path("policyRefusal").isMissingNode(), "no longer refused");
    }

    // ------------------------------------------------------------------ helpers

    private String status(String admin, String adminConnections, String id) {
        Http.Response r = http.get(adminConnections, admin);
        assertEquals(200, r.status(), r.body());
        for (JsonNode c : r.json()) {
            if (id.equals(c.path("id").asText())) {
                return c.path("status").asText();
            }
        }
        throw new AssertionError("no connection " + id + " in " + r.body());
    }

    private static String fieldError(Http.Response r, String field) {
        for (JsonNode e : r.json().path("errors")) {
            if (field.equals(e.path("field").asText())) {
                return e.path("errorMessage").asText();
            }
        }
        throw new AssertionError("no error on " + field + ": " + r.body());
    }

    /** Creates connector {@code alias} on {@code upstream-saas} and links alice's {@code alice-work} to it; the connection id. */
    private String connectorWithAlicesAccount(String admin, String alias) {
        allowCallback(admin, alias);
        assertEquals(201, http.postJson(connectors(), admin, connector(alias)).status());
        try (Browser browser = new Browser()) {
            return Vault.connectionId(vault.connect(browser, vault.connectUrl(Oidc.DEMO, alias, "prompt=login"), "alice", "alice-work", null));
        }
    }

    /** Lets the upstream's client redirect to this connector's callback too (as an upstream admin registers it). */
    private void allowCallback(String admin, String alias) {
        String clients = server.baseUrl() + "/admin/realms/" + Vault.UPSTREAM + "/clients";
        JsonNode client = http.get(clients + "?clientId=agent-auth-connector", admin).json().get(0);
        ArrayNode redirects = (ArrayNode) client.path("redirectUris");
        String callback = server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/" + alias + "/callback";
        for (JsonNode r : redirects) {
            if (callback.equals(r.asText())) {
                return;
            }
        }
        redirects.add(callback);
        assertEquals(204, http.putJson(clients + "/" + client.path("id").asText(), admin, client).status());
    }

    /** A demo realm user holding realm-management's view-users only; returns their access token. */
    private String viewUsersOnlyAdmin(String admin) {
        String realmAdmin = server.baseUrl() + "/admin/realms/" + Oidc.DEMO;
        String name = "it-viewer";
        if (http.get(realmAdmin + "/users?exact=true&username=" + name, admin).json().isEmpty()) {
            Map<String, Object> user = Map.of("username", name, "enabled", true, "email", name + "@example.com", "emailVerified", true,
                    "firstName", "View", "lastName", "Users",
                    "credentials", List.of(Map.of("type", "password", "value", name, "temporary", false)));
            assertEquals(201, http.postJson(realmAdmin + "/users", admin, user).status());
            String id = users.userId(admin, name);
            String rm = http.get(realmAdmin + "/clients?clientId=realm-management", admin).json().get(0).path("id").asText();
            JsonNode role = http.get(realmAdmin + "/clients/" + rm + "/roles/view-users", admin).json();
            assertEquals(204, http.postJson(realmAdmin + "/users/" + id + "/role-mappings/clients/" + rm, admin, List.of(role)).status());
        }
        return users.loginToHost(name, name, "openid").get("access_token").asText();
    }

    /** An HTTP listener on another origin ({@code localhost}, its own port) that records every request it receives. */
    static final class Recorder implements AutoCloseable {
        private final HttpServer server;
        private final List<String> received = java.util.Collections.synchronizedList(new ArrayList<>());

        Recorder() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.createContext("/", exchange -> {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                StringBuilder r = new StringBuilder(exchange.getRequestMethod() + " " + exchange.getRequestURI());
                String auth = exchange.getRequestHeaders().getFirst("Authorization");
                if (auth != null) {
                    r.append(" Authorization: ").append(auth);
                    if (auth.startsWith("Basic ")) {
                        r.append(" (").append(new String(Base64.getDecoder().decode(auth.substring(6)), StandardCharsets.UTF_8)).append(")");
                    }
                }
                received.add(r.append(" body: ").append(body).toString());
                byte[] answer = "{\"error\":\"invalid_grant\"}".getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                exchange.sendResponseHeaders(400, answer.length);
                exchange.getResponseBody().write(answer);
                exchange.close();
            });
            server.start();
        }

        String url(String path) {
            return "http://localhost:" + server.getAddress().getPort() + path;
        }

        List<String> received() {
            return List.copyOf(received);
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
