package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.microsoft.playwright.Page;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.DbRows;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.FaultyRelay;
import org.agentauth.keycloak.it.support.FaultyRelay.Mode;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.LogWindows;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.TestDatabase;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Faults (issue 15, Deliver 4). The upstream stays a real OAuth server (realm upstream-saas on the same Keycloak); the
 * fault is injected on the wire by a {@link FaultyRelay} between the extension and the upstream: connector
 * {@code faulty-calendar}'s token, revocation, userinfo and API URLs point at the relay, its timeout is
 * {@value #TIMEOUT_MILLIS} ms. What must hold: the proxy answers 502/504 quickly and never hangs, a network fault never
 * marks a connection EXPIRED nor loses its refresh token, the connection works again once the fault clears (with
 * exactly one upstream refresh), a connect flow cut by a restart stores nothing and ends on a clear page, and a short
 * database outage (PostgreSQL run) corrupts nothing.
 *
 * <p>Runs next to last (it restarts the shared server), before {@link ServerLogIT}. In the PostgreSQL run only the
 * database case runs (the others are the H2 run's).
 */
@Order(Integer.MAX_VALUE - 1)
@ExtendWith(KeycloakServerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultsIT {

    static final String ALIAS = "faulty-calendar";
    static final String UPSTREAM_CLIENT = "faulty-connector";
    static final String UPSTREAM_SECRET = "faulty-connector-secret";
    static final String USER = "faults-user";
    static final int TIMEOUT_MILLIS = 2000;
    /** What a busy 2-core CI machine may add to an answer that should be immediate. */
    static final long SLACK_MILLIS = 3000;

    static final Predicate<String> TOKEN_ENDPOINT = FaultyRelay.onPath("POST ", "/protocol/openid-connect/token ");
    static final Predicate<String> API_USERINFO = FaultyRelay.onPath("/protocol/openid-connect/userinfo");

    private final KeycloakServer server;
    private final Vault vault;
    private final DemoUsers users;
    private final AgentFlows flows;
    private final DbRows db;
    private final Http http = new Http();
    private final String connectorUri;
    private FaultyRelay relay;
    private JsonNode originalPolicy;
    private String userId;

    FaultsIT(KeycloakServer server) {
        this.server = server;
        this.vault = new Vault(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
        this.db = new DbRows(server);
        this.connectorUri = server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/" + ALIAS;
    }

    private boolean h2() {
        return db.kind().equals("h2");
    }

    @BeforeAll
    void setUp() throws Exception {
        relay = new FaultyRelay(java.net.URI.create(server.baseUrl()).getPort());
        String admin = vault.oidc().adminToken();
        // a dedicated upstream client (its own redirect URI and access token lifespan) and users of our own
        vault.upstreamClient(admin, UPSTREAM_CLIENT, UPSTREAM_SECRET, connectorUri + "/callback", 1200);
        for (String u : List.of("faults-a", "faults-b", "faults-c", "faults-d")) {
            users.create(admin, Vault.UPSTREAM, u, "Faults");
        }
        users.create(admin, Oidc.DEMO, USER, "Faults");
        userId = users.userId(admin, USER);

        String upstream = "http://localhost:" + relay.port() + "/realms/" + Vault.UPSTREAM + "/protocol/openid-connect";
        Map<String, Object> connector = new LinkedHashMap<>();
        connector.put("alias", ALIAS);
        connector.put("displayName", "Faulty Calendar");
        connector.put("authorizationUrl", server.realmUrl(Vault.UPSTREAM) + "/protocol/openid-connect/auth");
        connector.put("tokenUrl", upstream + "/token");
        connector.put("revocationUrl", upstream + "/revoke");
        connector.put("userinfoUrl", upstream + "/userinfo");
        connector.put("clientId", UPSTREAM_CLIENT);
        connector.put("clientSecret", UPSTREAM_SECRET);
        connector.put("scopes", List.of("openid", "profile", "email"));
        connector.put("apiBaseUrl", upstream);
        connector.put("deliveryMode", "proxy");
        connector.put("preset", "oauth2");
        connector.put("timeoutMillis", TIMEOUT_MILLIS);
        Http.Response made = http.postJson(connectors(), admin, connector);
        assertEquals(201, made.status(), made.toString());

        // calendar-agent may use it (restored afterwards); the user's grant includes it
        originalPolicy = vault.allowConnector(admin, ALIAS);
        users.adminGrant(admin, userId, Map.of("agent", "calendar-agent", "host", "agent-host", "connectors", List.of(ALIAS)));
        System.out.println("[faults] relay on port " + relay.port() + " -> " + server.baseUrl());
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

    // ---- 1. the API faulted: 502 / 504 quickly, the connection untouched ----

    @Test
    @Order(1)
    void proxyCallsUnderApiFaultsAnswerQuicklyAndLeaveTheConnectionAlone() throws Exception {
        assumeTrue(h2(), "the H2 run's case");
        String id = connect("faults-a");
        String token = proxyToken();
        Map<String, String> before = row(id);
        long tokenCalls = relay.count(TOKEN_ENDPOINT);

        relay.fault(Mode.REFUSE, 0, line -> true);
        Timed refused = call(token, id);
        assertEquals(502, refused.r.status(), refused.r.toString());
        assertEquals("upstream_unreachable", refused.r.json().get("error").asText());
        assertTrue(refused.millis < TIMEOUT_MILLIS, "refused is answered well within the timeout: " + refused.millis + " ms");

        relay.fault(Mode.RESET, 0, API_USERINFO);
        Timed reset = call(token, id);
        assertEquals(502, reset.r.status(), reset.r.toString());
        assertEquals("upstream_unreachable", reset.r.json().get("error").asText());

        relay.fault(Mode.DELAY, TIMEOUT_MILLIS + 3000, API_USERINFO);
        Timed slow = call(token, id);
        assertEquals(504, slow.r.status(), slow.r.toString());
        assertEquals("upstream_timeout", slow.r.json().get("error").asText());
        assertTrue(slow.millis >= TIMEOUT_MILLIS - 100 && slow.millis < TIMEOUT_MILLIS + SLACK_MILLIS,
                "504 after the connector's timeout, not after the upstream's delay: " + slow.millis + " ms");

        relay.fault(Mode.TRUNCATED, 0, API_USERINFO);
        Timed truncated = call(token, id);
        assertEquals(502, truncated.r.status(), truncated.r.toString());
        assertEquals("upstream_unreachable", truncated.r.json().get("error").asText());

        // the proxy passes bytes, not meaning: a well-formed HTTP answer with a body that is not JSON goes through as is
        relay.fault(Mode.GARBAGE, 0, API_USERINFO);
        Timed garbage = call(token, id);
        assertEquals(200, garbage.r.status(), garbage.r.toString());
        assertTrue(garbage.r.body().contains("captive portal"), garbage.r.body());
        assertEquals("nosniff", garbage.r.header("X-Content-Type-Options"));

        relay.fault(Mode.UNAVAILABLE, 0, API_USERINFO);
        Timed unavailable = call(token, id);
        assertEquals(503, unavailable.r.status(), "the upstream's own status is passed through: " + unavailable.r);

        relay.pass();
        Timed ok = call(token, id);
        assertEquals(200, ok.r.status(), ok.r.toString());
        assertEquals("faults-a", ok.r.json().get("preferred_username").asText());
        System.out.printf("[faults] API faults: refused 502 in %d ms, reset 502 in %d ms, delayed 504 in %d ms (timeout %d), "
                + "truncated 502 in %d ms, garbage 200 in %d ms, 503 in %d ms, then 200 in %d ms%n", refused.millis, reset.millis,
                slow.millis, TIMEOUT_MILLIS, truncated.millis, garbage.millis, unavailable.millis, ok.millis);

        Map<String, String> after = row(id);
        assertEquals("ACTIVE", after.get("STATUS"));
        assertEquals(before.get("TOKENS"), after.get("TOKENS"), "no token was rewritten (no refresh was due)");
        assertEquals(before.get("KEY_ID"), after.get("KEY_ID"));
        assertEquals(tokenCalls, relay.count(TOKEN_ENDPOINT), "no refresh was attempted: " + relay.seen());
    }

    // ---- 2. the token endpoint faulted during a refresh ----

    @Test
    @Order(2)
    void aRefreshUnderFaultsKeepsTheConnectionAndRecoversWithOneRefresh() throws Exception {
        assumeTrue(h2(), "the H2 run's case");
        String admin = vault.oidc().adminToken();
        // the next tokens of the upstream client live 5 s: less than the refresh margin, so every use needs a refresh
        setUpstreamLifespan(admin, "5");
        String id;
        try {
            id = connect("faults-b");
        } finally {
            setUpstreamLifespan(vault.oidc().adminToken(), "1200");
        }
        String token = proxyToken();
        String upstreamUser = vault.upstreamUserId(admin, "faults-b");
        Thread.sleep(4000); // the access token is now within 2 s of its end: no longer usable as it is
        Map<String, String> before = row(id);
        assertEquals("ACTIVE", before.get("STATUS"));
        int refreshesBefore = refreshes(admin, upstreamUser);
        long tokenCallsBefore = relay.count(TOKEN_ENDPOINT);

        relay.fault(Mode.REFUSE, 0, line -> true);
        Timed refused = call(token, id);
        relay.fault(Mode.DELAY, TIMEOUT_MILLIS + 3000, TOKEN_ENDPOINT);
        Timed slow = call(token, id);
        relay.fault(Mode.GARBAGE, 0, TOKEN_ENDPOINT);
        Timed garbage = call(token, id);
        relay.fault(Mode.UNAVAILABLE, 0, TOKEN_ENDPOINT);
        Timed unavailable = call(token, id);
        for (Timed t : List.of(refused, slow, garbage, unavailable)) {
            assertEquals(502, t.r.status(), t.r.toString());
            assertEquals("upstream_unavailable", t.r.json().get("error").asText(), t.r.toString());
        }
        // each waits for the previous failure's back-off (1, 2, 4 s) before trying, then at most the timeout
        assertTrue(refused.millis < TIMEOUT_MILLIS, "refused: " + refused.millis + " ms");
        assertTrue(slow.millis < 1000 + TIMEOUT_MILLIS + SLACK_MILLIS, "delayed: " + slow.millis + " ms");
        assertTrue(garbage.millis < 2000 + SLACK_MILLIS, "garbage: " + garbage.millis + " ms");
        assertTrue(unavailable.millis < 4000 + SLACK_MILLIS, "503: " + unavailable.millis + " ms");
        long tried = relay.count(TOKEN_ENDPOINT) - tokenCallsBefore;
        assertEquals(3, tried, "one refresh attempt per call that reached the relay (refused ones never do): " + relay.seen());
        int processedWhileDelayed = refreshes(admin, upstreamUser) - refreshesBefore;

        Map<String, String> during = row(id);
        assertEquals("ACTIVE", during.get("STATUS"), "a network fault never marks the connection EXPIRED");
        assertEquals(before.get("TOKENS"), during.get("TOKENS"), "the refresh token is kept as it was");
        assertEquals("true", during.get("REFRESHABLE").toLowerCase());

        // the fault clears; the 4th failure's back-off is 8 s, longer than a caller waits (timeout + 5 s): a call in it
        // is answered 502 without any upstream request; the first call after it refreshes and succeeds
        relay.pass();
        long tokenCallsAtRecovery = relay.count(TOKEN_ENDPOINT);
        int refreshesAtRecovery = refreshes(admin, upstreamUser);
        List<Long> backingOff = new java.util.ArrayList<>();
        Timed ok = call(token, id);
        while (ok.r.status() == 502 && backingOff.size() < 3) {
            assertEquals("upstream_unavailable", ok.r.json().get("error").asText(), ok.r.toString());
            assertTrue(ok.millis < TIMEOUT_MILLIS + 5000 + SLACK_MILLIS, "a bounded wait: " + ok.millis + " ms");
            assertEquals(tokenCallsAtRecovery, relay.count(TOKEN_ENDPOINT), "no upstream call during the back-off");
            backingOff.add(ok.millis);
            ok = call(token, id);
        }
        assertEquals(200, ok.r.status(), ok.r.toString());
        assertEquals("faults-b", ok.r.json().get("preferred_username").asText());
        assertEquals(tokenCallsAtRecovery + 1, relay.count(TOKEN_ENDPOINT), "one refresh request after recovery");
        assertEquals(refreshesAtRecovery + 1, refreshes(admin, upstreamUser), "exactly one successful refresh after recovery");
        System.out.printf("[faults] refresh faults: refused 502 in %d ms, delayed 502 in %d ms, garbage 502 in %d ms, 503 -> 502 in %d ms "
                + "(%d token requests reached the relay, %d processed by the upstream though answered too late); "
                + "after recovery 502 while backing off in %s ms; then 200 in %d ms with exactly 1 upstream refresh%n", refused.millis, slow.millis,
                garbage.millis, unavailable.millis, tried, processedWhileDelayed, backingOff, ok.millis);

        Map<String, String> after = row(id);
        assertEquals("ACTIVE", after.get("STATUS"));
        assertNotEquals(before.get("TOKENS"), after.get("TOKENS"), "the refreshed tokens are saved");
    }

    // ---- 4. the database briefly unavailable (PostgreSQL run) ----

    @Test
    @Order(3)
    void aShortDatabaseOutageCorruptsNothing() throws Exception {
        assumeTrue(db.kind().equals("postgres"), "the PostgreSQL run's case");
        String id = connect("faults-d");
        String token = proxyToken();
        Timed first = call(token, id);
        assertEquals(200, first.r.status(), first.r.toString());
        Map<String, String> before = row(id);
        String dbName = TestDatabase.databaseName(java.net.URI.create(server.baseUrl()).getPort());
        String adminUrl = TestDatabase.server().adminUrl();

        LogWindows.Window window = LogWindows.open(server, "database outage (FaultsIT)");
        StringBuilder seen = new StringBuilder();
        try {
            try (Connection c = DriverManager.getConnection(adminUrl); Statement st = c.createStatement()) {
                st.execute("ALTER DATABASE " + dbName + " ALLOW_CONNECTIONS false");
                st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + dbName + "'");
            }
            long until = System.currentTimeMillis() + 5000;
            while (System.currentTimeMillis() < until) {
                Timed t = call(token, id);
                seen.append(t.r.status()).append(" in ").append(t.millis).append(" ms; ");
                assertTrue(t.r.status() != 200 || "faults-d".equals(t.r.json().path("preferred_username").asText()),
                        "never a 200 with another account's data: " + t.r);
                assertTrue(t.millis < 30_000, "no hang");
            }
        } finally {
            try (Connection c = DriverManager.getConnection(adminUrl); Statement st = c.createStatement()) {
                st.execute("ALTER DATABASE " + dbName + " ALLOW_CONNECTIONS true");
            }
        }
        // recovery: Keycloak's pool opens new connections on demand
        Timed ok = null;
        long deadline = System.currentTimeMillis() + 60_000;
        while (System.currentTimeMillis() < deadline) {
            ok = call(token, id);
            if (ok.r.status() == 200) {
                break;
            }
            Thread.sleep(500);
        }
        assertNotNull(ok);
        assertEquals(200, ok.r.status(), ok.r.toString());
        assertEquals("faults-d", ok.r.json().get("preferred_username").asText());
        Thread.sleep(1000);
        window.close();
        System.out.printf("[faults] database refusing for 5 s: proxy answers %s after recovery 200 in %d ms; %d ERROR lines in the window%n",
                seen, ok.millis, window.errorLines());
        Map<String, String> after = row(id);
        assertEquals("ACTIVE", after.get("STATUS"));
        assertEquals(before.get("TOKENS"), after.get("TOKENS"));
        assertEquals(before.get("KEY_ID"), after.get("KEY_ID"));
    }

    // ---- 3. Keycloak restarted in the middle of a connect flow (last: it restarts the shared server) ----

    @Test
    @Order(4)
    void aRestartInTheMiddleOfAConnectFlowStoresNothingAndANewFlowWorks() throws Exception {
        assumeTrue(h2(), "the H2 run's case");
        int rowsBefore = rowsOfUser().size();
        String ended;
        try (Browser browser = new Browser()) {
            Page p = browser.page();
            p.navigate(vault.connectUrl(Oidc.DEMO, ALIAS, "prompt=login"));
            p.locator("#kc-agent-connect-form, #kc-login").first().waitFor();
            if (p.locator("#kc-agent-connect-form").count() == 0) {
                p.locator("#username").fill(USER);
                p.locator("#password").fill(USER);
                p.locator("#kc-login").click();
            }
            p.locator("#kc-agent-connect-allow").click();
            p.waitForURL(u -> u.contains("/realms/" + Vault.UPSTREAM + "/"));
            p.locator("#kc-login").waitFor();
            String stateIssued = Oidc.params(p.url()).get("state");

            server.restart(List.of(), List.of());

            // the upstream's own login session is gone with the restart: it starts its login again (its restart cookie
            // keeps the authorization request, so the same state comes back to us)
            Vault.upstreamLogin(p, "faults-c");
            p.waitForURL(u -> u.contains("/agent-auth/connectors/" + ALIAS + "/callback") || u.contains("/realms/" + Vault.UPSTREAM + "/"));
            if (!p.url().contains("/callback")) {
                p.locator("#kc-login").waitFor();
                Vault.upstreamLogin(p, "faults-c");
                p.waitForURL(u -> u.contains("/agent-auth/connectors/" + ALIAS + "/callback"));
            }
            p.waitForLoadState();
            ended = p.url();
            String text = p.locator("body").innerText();
            System.out.println("[faults] after the restart the callback (state " + (stateIssued == null ? "?" : stateIssued.substring(0, 6) + "...")
                    + ") shows: " + text.replaceAll("\\s+", " ").trim() + "; screenshot " + browser.screenshot("faults-restart-callback"));
            assertTrue(text.contains("unknown, was used already or has expired"), text);
            assertTrue(text.contains("Nothing was stored"), text);
        }
        assertTrue(ended.contains("/callback"), ended);
        assertEquals(rowsBefore, rowsOfUser().size(), "no row written by the cut flow");

        // a new flow works, and the new connection is usable through the proxy
        String id = connect("faults-c");
        Timed ok = call(proxyToken(), id);
        assertEquals(200, ok.r.status(), ok.r.toString());
        assertEquals("faults-c", ok.r.json().get("preferred_username").asText());
        assertEquals(rowsBefore + 1, rowsOfUser().size());
    }

    // ---- helpers ----

    private record Timed(Http.Response r, long millis) {
    }

    private Timed call(String token, String connectionId) {
        long t0 = System.nanoTime();
        Http.Response r = new Http().get(connectorUri + "/proxy/userinfo?connection_id=" + connectionId, token);
        return new Timed(r, (System.nanoTime() - t0) / 1_000_000);
    }

    private String connect(String upstreamUser) {
        try (Browser b = new Browser()) {
            return Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, ALIAS, "prompt=login"), USER, upstreamUser, null));
        }
    }

    /** calendar-agent's delegated exchange of the user's agent-host token, for the connector's resource URI. */
    private String proxyToken() {
        return flows.connectorToken(users.accessToken(USER), connectorUri);
    }

    private Map<String, String> row(String id) {
        List<Map<String, String>> rows = db.query("SELECT ID, STATUS, TOKENS, KEY_ID, REFRESHABLE, VERSION FROM AGENT_AUTH_CONNECTION WHERE ID = '" + id + "'");
        assertEquals(1, rows.size(), id);
        return rows.get(0);
    }

    private List<Map<String, String>> rowsOfUser() {
        return db.query("SELECT ID, STATUS FROM AGENT_AUTH_CONNECTION WHERE USER_ID = '" + userId + "'");
    }

    private int refreshes(String admin, String upstreamUserId) {
        int n = 0;
        for (JsonNode e : vault.upstreamEvents(vault.oidc().adminToken(), "type=REFRESH_TOKEN&user=" + upstreamUserId)) {
            if (UPSTREAM_CLIENT.equals(e.path("clientId").asText())) {
                n++;
            }
        }
        return n;
    }

    private void setUpstreamLifespan(String admin, String seconds) {
        String clients = server.baseUrl() + "/admin/realms/" + Vault.UPSTREAM + "/clients";
        JsonNode c = http.get(clients + "?clientId=" + UPSTREAM_CLIENT, admin).json().get(0);
        ObjectNode changed = c.deepCopy();
        ((ObjectNode) changed.get("attributes")).put("access.token.lifespan", seconds);
        Http.Response r = http.putJson(clients + "/" + c.get("id").asText(), admin, changed);
        assertEquals(204, r.status(), r.toString());
    }

    private String connectors() {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/connectors";
    }

}
