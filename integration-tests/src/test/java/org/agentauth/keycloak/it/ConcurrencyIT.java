package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.RSAPublicKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * DESIGN section 3 rule 10: an agent's parallel calls on one grant (exchange, refresh, code redemption, consent
 * double-submit, two grants for the same user, agent and host) never fail because of the grant's own bookkeeping.
 * Every call below relies on one grant of alice to calendar-agent via agent-host; no response may be a 5xx, and every
 * token that comes back must be a valid delegated token (signature checked against the realm's keys). ServerLogIT,
 * which runs last, then finds no ERROR line in the server log.
 */
@Order(12)
@ExtendWith(KeycloakServerExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConcurrencyIT {

    static final String TE = "urn:ietf:params:oauth:grant-type:token-exchange";
    static final String AT = "urn:ietf:params:oauth:token-type:access_token";
    static final String RT = "urn:ietf:params:oauth:token-type:refresh_token";
    static final String AGENT = "calendar-agent";
    static final String AGENT_SECRET = "calendar-agent-secret";
    static final List<String> GRANTED = List.of("openid", "profile", "email");
    static final int TOTAL = 64;
    static final int PARALLEL = 16;

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Delegations dlg;
    private final DemoUsers users;
    private final AgentFlows flows;
    private final String issuer;
    private String aliceId;
    private String agentSa;
    private Map<String, PublicKey> realmKeys;

    ConcurrencyIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.dlg = new Delegations(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
        this.issuer = server.realmUrl(Oidc.DEMO);
    }

    @BeforeEach
    void oneGrant() {
        dlg.revokeAll("alice");
        dlg.grant("alice", AGENT, DemoUsers.HOST, GRANTED, List.of());
        aliceId = dlg.userId("alice");
        agentSa = dlg.userId("service-account-" + AGENT);
        realmKeys = realmKeys();
    }

    @AfterEach
    void cleanUp() {
        dlg.revokeAll("alice");
        dlg.revokeAll("bob");
    }

    // ---------------------------------------------------------------- the calls

    @Test
    @Order(1)
    void parallelExchangesOnOneGrant() {
        Form form = exchangeForm(users.accessToken("alice"), flows.agentToken(AGENT));
        assertFalse(grantsOf("alice", AGENT).get(0).hasNonNull("lastUsedAt"), "a new grant was never used");
        long before = System.currentTimeMillis();
        List<Http.Response> rs = parallel("exchange", TOTAL, PARALLEL, i -> exchange(form));
        assertAllDelegated("exchange", rs, AGENT);

        // the last-used time is still recorded, once: a further use within the minute leaves it as it is
        long lastUsed = grantsOf("alice", AGENT).get(0).path("lastUsedAt").asLong();
        assertTrue(lastUsed >= before - 1000 && lastUsed <= System.currentTimeMillis(), "last use recorded: " + lastUsed);
        assertEquals(200, exchange(form).status());
        assertEquals(lastUsed, grantsOf("alice", AGENT).get(0).path("lastUsedAt").asLong(), "recorded at most once a minute");
    }

    @Test
    @Order(2)
    void parallelRefreshesOnOneGrant() {
        // demo refresh tokens are single-use: each refresh gets its own delegated refresh token
        Form form = exchangeForm(users.accessToken("alice"), flows.agentToken(AGENT)).add("requested_token_type", RT);
        List<Http.Response> issued = parallel("exchange for a refresh token", TOTAL, PARALLEL, i -> exchange(form));
        assertAllDelegated("exchange for a refresh token", issued, AGENT);
        List<String> refreshTokens = issued.stream().map(r -> r.json().path("refresh_token").asText()).toList();
        refreshTokens.forEach(t -> assertFalse(t.isEmpty(), "calendar-agent's policy allows refresh tokens"));

        List<Http.Response> rs = parallel("refresh", TOTAL, PARALLEL, i -> new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO),
                Form.of("grant_type", "refresh_token", "refresh_token", refreshTokens.get(i)).list(), Http.basic(AGENT, AGENT_SECRET)));
        assertAllDelegated("refresh", rs, AGENT);
    }

    @Test
    @Order(3)
    void parallelRequestedActorCodeRedemptionsOnOneGrant() {
        // the grant covers the scopes, so no consent screen: one browser session gives a code per request
        Http browser = new Http();
        List<Pkce> pkces = new ArrayList<>();
        List<String> codes = new ArrayList<>();
        for (int i = 0; i < TOTAL; i++) {
            Pkce pkce = Pkce.create();
            pkces.add(pkce);
            codes.add(flows.codeFor(browser, flows.authParams(AGENT, pkce), "alice"));
        }
        String actor = flows.agentToken(AGENT);
        List<Http.Response> rs = parallel("requested_actor code redemption", TOTAL, PARALLEL,
                i -> flows.redeem(codes.get(i), pkces.get(i), "actor_token", actor));
        assertAllDelegated("requested_actor code redemption", rs, DemoUsers.HOST);
    }

    @Test
    @Order(4)
    void doubleSubmittedConsentRecordsOneGrant() {
        // first consent (no grant yet: two inserts race) and a renewed one (prompt=consent: two updates race)
        for (boolean fresh : new boolean[] {true, false, true, false, true, false}) {
            if (fresh) {
                dlg.revokeAll("alice");
            }
            Http browser = new Http();
            Pkce pkce = Pkce.create();
            Http.Response page = flows.open(browser, oidc.authUrl(Oidc.DEMO,
                    flows.authParams(AGENT, pkce, "prompt", "consent").list()), "alice");
            assertTrue(AgentFlows.isConsentPage(page), "consent page expected: " + page);
            // the same form (with the fields the page carries) posted twice at once, as a double click does
            List<Http.Response> rs = parallel("consent double-submit (" + (fresh ? "first" : "renewed") + ")", 2, 2,
                    i -> flows.decide(browser, page, "allow"));
            assertNo5xx("consent double-submit", rs);
            List<String> codes = rs.stream().filter(r -> r.status() == 302 && r.location() != null
                    && r.location().startsWith(DemoUsers.REDIRECT)).map(r -> Oidc.params(r.location()).get("code")).toList();
            assertFalse(codes.isEmpty(), "at least one of the two submits ends the login with a code: " + rs);
            assertEquals(1, grantsOf("alice", AGENT).size(), "one grant after a double-submitted consent");
            // a code that came back is a working delegated code
            String code = codes.stream().filter(c -> c != null).findFirst().orElseThrow(() -> new AssertionError(rs.toString()));
            Http.Response t = flows.redeem(code, pkce, "actor_token", flows.agentToken(AGENT));
            assertEquals(200, t.status(), t.body());
            assertDelegated(t.json().get("access_token").asText(), DemoUsers.HOST);
        }
    }

    @Test
    @Order(5)
    void parallelGrantsForTheSameUserAgentAndHostGiveOneRow() {
        String admin = oidc.adminToken();
        String bobId = dlg.userId("bob");
        String url = users.grantsUrl(bobId);
        Map<String, Object> body = Map.of("agent", AGENT, "host", DemoUsers.HOST, "scopes", List.of("openid", "profile"));
        List<Http.Response> rs = parallel("admin grant", PARALLEL, PARALLEL, i -> new Http().postJson(url, admin, body));
        assertNo5xx("admin grant", rs);
        rs.forEach(r -> assertEquals(201, r.status(), r.body()));
        Set<String> ids = new java.util.TreeSet<>();
        rs.forEach(r -> ids.add(r.json().path("id").asText()));
        assertEquals(1, ids.size(), "every grant call answers with the one grant: " + ids);
        assertEquals(1, grantsOf("bob", AGENT).size(), "one grant row per user, agent and host");
    }

    @Test
    @Order(6)
    void eightConnectionsHammeringTheExchangeForEightSeconds() throws Exception {
        Form form = exchangeForm(users.accessToken("alice"), flows.agentToken(AGENT));
        int threads = 8;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<List<Http.Response>>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    List<Http.Response> mine = new ArrayList<>();
                    // bounded in time and in count
                    while (System.nanoTime() < end && mine.size() < 5_000) {
                        mine.add(exchange(form));
                    }
                    return mine;
                }));
            }
            List<Http.Response> rs = new ArrayList<>();
            for (Future<List<Http.Response>> f : futures) {
                rs.addAll(f.get(60, TimeUnit.SECONDS));
            }
            report("exchange hammer (8 threads, 8 s)", rs);
            assertAllDelegated("exchange hammer", rs, AGENT);
        } finally {
            pool.shutdownNow();
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Form exchangeForm(String subject, String actor) {
        return Form.of("grant_type", TE, "subject_token", subject, "subject_token_type", AT,
                "actor_token", actor, "actor_token_type", AT);
    }

    private Http.Response exchange(Form form) {
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), form.list(), Http.basic(AGENT, AGENT_SECRET));
    }

    /** Runs {@code total} calls, {@code parallel} at a time (the first wave released together); responses in call order. */
    private static List<Http.Response> parallel(String what, int total, int parallel, IntFunction<Http.Response> call) {
        ExecutorService pool = Executors.newFixedThreadPool(parallel);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<Http.Response>> futures = new ArrayList<>();
            for (int i = 0; i < total; i++) {
                int n = i;
                futures.add(pool.submit(() -> {
                    start.await();
                    return call.apply(n);
                }));
            }
            start.countDown();
            List<Http.Response> out = new ArrayList<>();
            for (Future<Http.Response> f : futures) {
                out.add(f.get(120, TimeUnit.SECONDS));
            }
            report(what, out);
            return out;
        } catch (Exception e) {
            throw new AssertionError(what + ": a call did not complete", e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static Map<Integer, Integer> counts(List<Http.Response> rs) {
        Map<Integer, Integer> byStatus = new TreeMap<>();
        rs.forEach(r -> byStatus.merge(r.status(), 1, Integer::sum));
        return byStatus;
    }

    private static void report(String what, List<Http.Response> rs) {
        System.out.println("[concurrency] " + what + ": " + rs.size() + " responses, by status " + counts(rs));
    }

    private static void assertNo5xx(String what, List<Http.Response> rs) {
        List<Http.Response> failed = rs.stream().filter(r -> r.status() >= 500).toList();
        assertTrue(failed.isEmpty(), what + ": " + failed.size() + " responses 5xx of " + rs.size() + " " + counts(rs)
                + (failed.isEmpty() ? "" : ", first: " + failed.get(0)));
    }

    /** No 5xx, every call a success, and every issued access token a valid delegated token. */
    private void assertAllDelegated(String what, List<Http.Response> rs, String azp) {
        assertNo5xx(what, rs);
        assertFalse(rs.isEmpty(), what + ": no calls made");
        for (Http.Response r : rs) {
            assertEquals(200, r.status(), what + ": " + counts(rs) + ", e.g. " + r);
            assertDelegated(r.json().path("access_token").asText(), azp);
        }
    }

    /** A token this realm signed (RS256, checked against its JWKS), unexpired, for alice, with calendar-agent as actor. */
    private void assertDelegated(String jwt, String azp) {
        String[] parts = jwt.split("\\.");
        assertEquals(3, parts.length, "a signed JWT");
        try {
            JsonNode header = Http.JSON.readTree(Base64.getUrlDecoder().decode(parts[0]));
            PublicKey key = realmKeys.get(header.path("kid").asText());
            assertNotNull(key, "signed by a key of the realm: " + header);
            assertEquals("RS256", header.path("alg").asText());
            Signature sig = Signature.getInstance("SHA256withRSA");
            sig.initVerify(key);
            sig.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            assertTrue(sig.verify(Base64.getUrlDecoder().decode(parts[2])), "signature verifies");
        } catch (java.io.IOException | java.security.GeneralSecurityException e) {
            throw new AssertionError(e);
        }
        JsonNode c = Oidc.claims(jwt);
        assertEquals(issuer, c.path("iss").asText());
        assertEquals(aliceId, c.path("sub").asText(), "keeps the user's sub");
        assertEquals(azp, c.path("azp").asText());
        assertTrue(c.path("exp").asLong() > System.currentTimeMillis() / 1000, "unexpired");
        assertEquals(AGENT, c.path("act").path("client_id").asText(), "act names the agent: " + c);
        assertEquals(agentSa, c.path("act").path("sub").asText());
        assertFalse(c.has("may_act"));
        for (String s : c.path("scope").asText().split(" ")) {
            assertTrue(GRANTED.contains(s), "scope within the grant: " + c.path("scope"));
        }
    }

    private Map<String, PublicKey> realmKeys() {
        Http.Response r = new Http().get(issuer + "/protocol/openid-connect/certs");
        assertEquals(200, r.status(), r.body());
        Map<String, PublicKey> keys = new HashMap<>();
        try {
            KeyFactory kf = KeyFactory.getInstance("RSA");
            for (JsonNode k : r.json().path("keys")) {
                if ("RSA".equals(k.path("kty").asText()) && "sig".equals(k.path("use").asText("sig"))) {
                    BigInteger n = new BigInteger(1, Base64.getUrlDecoder().decode(k.path("n").asText()));
                    BigInteger e = new BigInteger(1, Base64.getUrlDecoder().decode(k.path("e").asText()));
                    keys.put(k.path("kid").asText(), kf.generatePublic(new RSAPublicKeySpec(n, e)));
                }
            }
        } catch (java.security.GeneralSecurityException e) {
            throw new AssertionError(e);
        }
        assertFalse(keys.isEmpty(), "the realm publishes RSA signing keys");
        return keys;
    }

    /** A user's grants to {@code agent} via agent-host, through the admin REST API. */
    private List<JsonNode> grantsOf(String username, String agent) {
        Http.Response r = new Http().get(users.grantsUrl(dlg.userId(username)), oidc.adminToken());
        assertEquals(200, r.status(), r.body());
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode g : r.json()) {
            if (agent.equals(g.path("agent").asText()) && DemoUsers.HOST.equals(g.path("host").asText())) {
                out.add(g);
            }
        }
        return out;
    }
}
