package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.DbRows;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 15: a seeded generator sends at least {@code hostile.perFamily} (default 1,000) malformed or hostile requests to
 * every endpoint family the extension adds or changes (token endpoint with our parameters, authorization endpoint and
 * PAR with {@code requested_actor} / {@code resource} / {@code delegation:client:*}, the connect flow, the brokered
 * proxy, the account and admin REST APIs), over raw sockets so that methods, headers, paths and bytes are exactly as
 * generated. Then: no 5xx, every refusal a documented error shape, the agent-auth tables and the demo realm's users,
 * clients, agents and connectors unchanged, and none of the tokens or secrets sent in the server log.
 * Reproduce a run with {@code -Dhostile.seed=<the printed seed>} (same choices; the tokens themselves are fresh).
 */
@Order(50)
@ExtendWith(KeycloakServerExtension.class)
class HostileInputIT {

    private static final String TE = "urn:ietf:params:oauth:grant-type:token-exchange";
    private static final String AT_TYPE = "urn:ietf:params:oauth:token-type:access_token";
    private static final String[] TOKEN_TYPES = {AT_TYPE, "urn:ietf:params:oauth:token-type:refresh_token",
        "urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:jwt", "urn:ietf:params:oauth:token-type:saml2",
        "urn:x-oath:params:oauth:token-type:key-bound-jwt"};
    /** Columns that legitimate calls in this run may move (a proxied call's touch, the vault's refresh of the upstream token). */
    private static final Set<String> VOLATILE = Set.of("LAST_USED_AT", "UPDATED_AT", "TOKENS", "KEY_ID", "ACCESS_EXPIRES_AT",
            "REFRESH_EXPIRES_AT", "LEASE_UNTIL", "VERSION");

    private final KeycloakServer server;
    private final int port;
    private final Oidc oidc;
    private final String realmUrl;
    private final String connectorUri;
    private final Map<String, String> tokens = new LinkedHashMap<>();
    /** Every token and secret this test sends: none may appear in the server log. */
    private final Set<String> secrets = ConcurrentHashMap.newKeySet();
    private String aliceId;
    private String bobId;
    private String grantId;
    private String connectionId;
    private String refreshToken;

    HostileInputIT(KeycloakServer server) {
        this.server = server;
        this.port = Integer.parseInt(server.baseUrl().substring(server.baseUrl().lastIndexOf(':') + 1));
        this.oidc = new Oidc(server);
        this.realmUrl = server.realmUrl(Oidc.DEMO);
        this.connectorUri = realmUrl + "/agent-auth/connectors/" + Vault.CONNECTOR;
    }

    // ------------------------------------------------------------------------------------------------ the test

    @Test
    void hostileRequestsChangeNothingAndGetDocumentedErrors() throws Exception {
        long seed = Long.getLong("hostile.seed", System.currentTimeMillis());
        int perFamily = Integer.getInteger("hostile.perFamily", 1000);
        System.out.println("[hostile] seed " + seed + " (reproduce with -Dhostile.seed=" + seed + "), " + perFamily + " requests per family");
        long t0 = System.nanoTime();
        String admin = oidc.adminToken();
        setUp(admin);
        Snapshot before = snapshot(admin);
        frameworkAnswers500ForBrokenBodies();

        Random rnd = new Random(seed);
        Map<String, List<Req>> families = new LinkedHashMap<>();
        families.put("proxy", generate(perFamily, () -> proxyRequest(rnd)));
        families.put("token", generate(perFamily, () -> tokenRequest(rnd)));
        families.put("authorize", generate(perFamily, () -> authorizeRequest(rnd, false)));
        families.put("par", generate(perFamily, () -> authorizeRequest(rnd, true)));
        families.put("connect", generate(perFamily, () -> connectRequest(rnd)));
        families.put("account", generate(perFamily, () -> accountRequest(rnd)));
        families.put("admin", generate(perFamily, () -> adminRequest(rnd)));
        families.put("ciba", generate(perFamily, () -> cibaRequest(rnd)));

        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(Integer.getInteger("hostile.threads", 4));
        try {
            for (Map.Entry<String, List<Req>> f : families.entrySet()) {
                long f0 = System.nanoTime();
                Map<String, AtomicInteger> statuses = new TreeMap<>();
                Map<String, AtomicInteger> shapes = new TreeMap<>();
                List<Future<?>> done = new ArrayList<>();
                for (Req r : f.getValue()) {
                    done.add(pool.submit(() -> {
                        Res res = send(r);
                        String shape = shape(r, res);
                        synchronized (statuses) {
                            statuses.computeIfAbsent(res.statusLabel(), k -> new AtomicInteger()).incrementAndGet();
                            shapes.computeIfAbsent(shape, k -> new AtomicInteger()).incrementAndGet();
                        }
                        String problem = judge(f.getKey(), r, res, shape);
                        if (problem != null) {
                            problems.add("[" + f.getKey() + "] " + problem + "\n    request: " + r.describe() + "\n    answer: " + res.describe());
                        }
                    }));
                }
                for (Future<?> d : done) {
                    d.get();
                }
                System.out.printf("[hostile] %-9s %5d requests in %5.1f s; status %s; shape %s%n", f.getKey(), f.getValue().size(),
                        (System.nanoTime() - f0) / 1e9, statuses, shapes);
            }
        } finally {
            pool.shutdownNow();
        }

        bodilessBy.forEach((k, v) -> System.out.printf("[hostile] bodiless 4xx %5d  %s%n", v.get(), k));

        admin = oidc.adminToken();
        Snapshot after = snapshot(admin);
        tearDown(admin);
        System.out.printf("[hostile] %d requests, %d problems, %.1f s in all%n", families.values().stream().mapToInt(List::size).sum(),
                problems.size(), (System.nanoTime() - t0) / 1e9);

        List<String> shown = problems.subList(0, Math.min(problems.size(), 40));
        assertTrue(problems.isEmpty(), problems.size() + " answers were 5xx or not a documented error (seed " + seed + "):\n"
                + String.join("\n", shown));
        before.assertSame(after);
        String log = server.logText();
        List<String> leaked = secrets.stream().filter(s -> s.length() >= 12 && log.contains(s))
                .map(s -> s.substring(0, 12) + "... (" + s.length() + " chars)").toList();
        assertTrue(leaked.isEmpty(), "tokens or secrets this test sent are in the server log: " + leaked);
    }

    private static List<Req> generate(int n, Supplier<Req> next) {
        List<Req> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(next.get());
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------ set-up

    private void setUp(String admin) throws Exception {
        DemoUsers users = new DemoUsers(server);
        AgentFlows flows = new AgentFlows(server);
        aliceId = users.userId(admin, "alice");
        bobId = users.userId(admin, "bob");

        // alice links her upstream account (the connect flow, by plain HTTP: forms and redirects)
        Http browser = new Http();
        connectionId = connectOverHttp(browser);
        tokens.put("alice-session-cookie", browser.cookieHeaderFor(connectorUri + "/connect"));

        // a delegated token for the connector (requested_actor code flow with resource = the connector's URI), and its refresh token
        Pkce pkce = Pkce.create();
        String code = flows.codeFor(browser, flows.authParams("calendar-agent", pkce, "resource", connectorUri), "alice");
        Http.Response t = flows.redeem(code, pkce, "actor_token", flows.agentToken("calendar-agent"));
        assertEquals(200, t.status(), t.body());
        tokens.put("delegated-connector", t.json().get("access_token").asText());
        refreshToken = t.json().get("refresh_token").asText();
        tokens.put("refresh-token", refreshToken);
        tokens.put("used-code", code);
        Http.Response grants = new Http().get(users.grantsUrl(aliceId), admin);
        assertEquals(200, grants.status(), grants.body());
        grantId = grants.json().get(0).get("id").asText();

        tokens.put("alice", users.accessToken("alice"));
        tokens.put("bob", users.accessToken("bob"));
        tokens.put("calendar-agent", flows.agentToken("calendar-agent"));
        tokens.put("research-agent", flows.agentToken("research-agent"));
        tokens.put("plain-service", flows.agentToken("plain-service"));
        tokens.put("admin-master", admin);
        Http.Response upstream = oidc.clientCredentials(Vault.UPSTREAM, "agent-auth-connector", "agent-auth-connector-secret");
        if (upstream.status() == 200) {
            tokens.put("upstream-saas", upstream.json().get("access_token").asText());
        }

        // expired: a client with 1 s access tokens (removed again at the end)
        flows.createClient(admin, Map.of("clientId", "hostile-expiring", "secret", "hostile-expiring-secret",
                "serviceAccountsEnabled", true, "publicClient", false, "standardFlowEnabled", false,
                "attributes", Map.of("access.token.lifespan", "1")));
        Http.Response exp = oidc.clientCredentials(Oidc.DEMO, "hostile-expiring", "hostile-expiring-secret");
        assertEquals(200, exp.status(), exp.body());
        tokens.put("expired", exp.json().get("access_token").asText());
        Thread.sleep(2100);

        // crafted: tampered payload, alg none, HS256 signed with a client secret, truncated, garbage
        String[] d = tokens.get("delegated-connector").split("\\.");
        JsonNode claims = Oidc.claims(tokens.get("delegated-connector"));
        String otherPayload = b64(claims.toString().replace(aliceId, bobId).replace("\"exp\":", "\"exp\":1" ));
        tokens.put("tampered", d[0] + "." + otherPayload + "." + d[2]);
        tokens.put("alg-none", b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + d[1] + ".");
        tokens.put("alg-none-nosig", b64("{\"alg\":\"none\"}") + "." + d[1]);
        String hsHead = b64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
        tokens.put("hs256-agent-secret", hsHead + "." + d[1] + "." + hmac(hsHead + "." + d[1], "calendar-agent-secret"));
        tokens.put("hs256-host-secret", hsHead + "." + d[1] + "." + hmac(hsHead + "." + d[1], "agent-host-secret"));
        tokens.put("truncated", tokens.get("alice").substring(0, tokens.get("alice").length() - 7));
        tokens.put("sig-swapped", d[0] + "." + d[1] + "." + tokens.get("bob").split("\\.")[2]);
        tokens.put("garbage", "not-a-token");
        secrets.addAll(tokens.values());
        for (String v : new ArrayList<>(tokens.values())) {
            String[] parts = v.split("\\.");
            if (parts.length == 3 && parts[2].length() > 20 && v.startsWith("eyJ")) { // a JWT's signature (a code's last part is the client's id)
                secrets.add(parts[2]);
            }
        }
        secrets.addAll(List.of("calendar-agent-secret", "agent-host-secret", "research-agent-secret", "plain-service-secret",
                "agent-auth-connector-secret", "hostile-expiring-secret"));
        System.out.println("[hostile] tokens: " + tokens.keySet());
    }

    private void tearDown(String admin) {
        JsonNode c = new AgentFlows(server).client(admin, "hostile-expiring");
        new Http().delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + c.get("id").asText(), admin);
    }

    /** The connect flow without a browser: alice signs in, continues, signs in upstream as alice-work; the connection id. */
    private String connectOverHttp(Http browser) {
        Http.Response r = browser.get(new Vault(server).connectUrl(Oidc.DEMO, Vault.CONNECTOR, null));
        for (int i = 0; i < 12; i++) {
            if (r.status() == 302 && r.location().startsWith(Vault.RETURN_TO)) {
                return Vault.connectionId(r.location());
            } else if (r.status() == 302 || r.status() == 303) {
                r = browser.get(r.location());
            } else if (r.status() == 200 && r.body().contains("id=\"kc-form-login\"")) {
                String action = Oidc.formAction(r.body(), "kc-form-login");
                String user = action.contains("/realms/" + Vault.UPSTREAM + "/") ? "alice-work" : "alice";
                r = browser.postForm(action, List.of(Map.entry("username", user), Map.entry("password", user), Map.entry("credentialId", "")));
            } else if (r.status() == 200 && r.body().contains("id=\"kc-agent-connect-form\"")) {
                List<Map.Entry<String, String>> form = new ArrayList<>(AgentFlows.hiddenFields(r.body(), "kc-agent-connect-form"));
                form.add(Map.entry("decision", "allow"));
                r = browser.postForm(Oidc.formAction(r.body(), "kc-agent-connect-form"), form);
            } else {
                break;
            }
        }
        throw new AssertionError("the connect flow did not end at return_to: " + r);
    }

    // ------------------------------------------------------------------------------------------------ generators

    /** Hostile strings: empty, huge, unicode, control characters, path tricks, injections, numbers, URLs. */
    private String hostile(Random rnd) {
        return switch (rnd.nextInt(30)) {
            case 0 -> "";
            case 1 -> " ";
            case 2 -> "A".repeat(300 + rnd.nextInt(3000));
            case 3 -> "x".repeat(9000 + rnd.nextInt(20000));
            case 4 -> "ünïcødé-名前-🔑";
            case 5 -> "\u202Eevil\u200B\uFEFF";
            case 6 -> "a\u0000b";
            case 7 -> "\u0001\u0002\u001b[31m\u007f";
            case 8 -> "line\r\nInjected: 1";
            case 9 -> "../../../admin";
            case 10 -> "%2e%2e%2f%2e%2e";
            case 11 -> "..\\..\\windows";
            case 12 -> "' OR '1'='1' --";
            case 13 -> "<script>alert(1)</script>";
            case 14 -> "${jndi:ldap://127.0.0.1/a}";
            case 15 -> "{{7*7}}${7*7}#{7*7}";
            case 16 -> "%s%n%x%p";
            case 17 -> "-1";
            case 18 -> "99999999999999999999999999";
            case 19 -> "1e309";
            case 20 -> "null";
            case 21 -> "{\"a\":[1,2,{\"b\":null}]}";
            case 22 -> "http://evil.example/steal";
            case 23 -> "javascript:alert(1)";
            case 24 -> "file:///etc/passwd";
            case 25 -> connectorUri + "/../../admin";
            case 26 -> connectorUri + "#frag";
            case 27 -> server.realmUrl(Vault.UPSTREAM) + "/agent-auth/connectors/" + Vault.CONNECTOR;
            case 28 -> "\uD800";
            default -> UUID.randomUUID().toString();
        };
    }

    /** A token of some kind, usually a wrong one; null = none. */
    private String token(Random rnd) {
        List<String> kinds = new ArrayList<>(tokens.keySet());
        kinds.remove("alice-session-cookie");
        int i = rnd.nextInt(kinds.size() + 3);
        if (i == kinds.size()) {
            return null;
        }
        if (i > kinds.size()) {
            return hostile(rnd);
        }
        return tokens.get(kinds.get(i));
    }

    private String tok(String kind) {
        return tokens.get(kind);
    }

    /**
     * A value for a parameter: usually its valid value, else hostile. Never a token: Keycloak itself echoes a bad
     * {@code redirect_uri}, {@code client_id}, {@code scope} or {@code resource} into its LOGIN_ERROR events and log
     * lines (AuthorizationEndpointChecker, PAR), which is not ours to change; tokens go where tokens belong, and into the
     * extension's own parameters ({@link #ours}).
     */
    private String value(Random rnd, String valid) {
        return rnd.nextInt(10) < 4 && valid != null ? valid : hostile(rnd);
    }

    /** A value for one of the extension's own parameters: valid, hostile, or a token of some kind. */
    private String ours(Random rnd, String valid) {
        int p = rnd.nextInt(10);
        return p < 4 && valid != null ? valid : p < 8 ? hostile(rnd) : String.valueOf(token(rnd));
    }

    /** Mutations shared by form requests: drop, repeat, add unknown, hostile values. */
    private List<String[]> mutate(Random rnd, List<String[]> params) {
        List<String[]> out = new ArrayList<>(params);
        int n = 1 + rnd.nextInt(3);
        for (int k = 0; k < n && !out.isEmpty(); k++) {
            int i = rnd.nextInt(out.size());
            switch (rnd.nextInt(5)) {
                case 0 -> out.remove(i);
                case 1 -> out.add(new String[] {out.get(i)[0], value(rnd, out.get(i)[1])});
                case 2 -> out.add(new String[] {hostile(rnd), hostile(rnd)});
                default -> out.set(i, new String[] {out.get(i)[0], value(rnd, null)});
            }
        }
        return out;
    }

    private static String form(List<String[]> params) {
        StringBuilder sb = new StringBuilder();
        for (String[] p : params) {
            if (sb.length() > 0) {
                sb.append('&');
            }
            sb.append(Http.urlEncode(p[0])).append('=').append(Http.urlEncode(p[1]));
        }
        return sb.toString();
    }

    private String clientAuth(Random rnd, String usual, String secret) {
        return switch (rnd.nextInt(8)) {
            case 0 -> null;
            case 1 -> "Basic " + Http.basic(usual, "wrong-secret");
            case 2 -> "Basic " + hostile(rnd).replaceAll("[\r\n]", "");
            case 3 -> "Basic " + Http.basic("agent-host", "agent-host-secret");
            case 4 -> "Bearer " + token(rnd);
            default -> "Basic " + Http.basic(usual, secret);
        };
    }

    private Req tokenRequest(Random rnd) {
        List<String[]> p = new ArrayList<>();
        String who = "calendar-agent";
        switch (rnd.nextInt(4)) {
            case 0, 1 -> {
                p.add(new String[] {"grant_type", TE});
                p.add(new String[] {"subject_token", rnd.nextBoolean() ? tok("alice") : String.valueOf(token(rnd))});
                p.add(new String[] {"subject_token_type", TOKEN_TYPES[rnd.nextInt(TOKEN_TYPES.length)]});
                if (rnd.nextInt(4) > 0) {
                    p.add(new String[] {"actor_token", rnd.nextBoolean() ? tok("calendar-agent") : String.valueOf(token(rnd))});
                    p.add(new String[] {"actor_token_type", TOKEN_TYPES[rnd.nextInt(TOKEN_TYPES.length)]});
                }
                String[] optional = {"resource", "audience", "requested_token_type", "scope", "requested_issuer", "connection_id"};
                String[] valid = {connectorUri, "calendar-agent", AT_TYPE, "openid calendar", Vault.CONNECTOR, connectionId};
                for (int i = 0; i < optional.length; i++) {
                    if (rnd.nextInt(3) == 0) {
                        p.add(new String[] {optional[i], i >= 4 ? ours(rnd, valid[i]) : value(rnd, valid[i])});
                    }
                }
                if (rnd.nextInt(5) == 0) {
                    p.add(new String[] {"subject_token", tok("delegated-connector")});
                }
            }
            case 2 -> {
                who = "agent-host";
                p.add(new String[] {"grant_type", "authorization_code"});
                p.add(new String[] {"code", rnd.nextBoolean() ? tok("used-code") : hostile(rnd)});
                p.add(new String[] {"redirect_uri", DemoUsers.REDIRECT});
                p.add(new String[] {"code_verifier", rnd.nextBoolean() ? "v".repeat(50) : hostile(rnd)});
                p.add(new String[] {"actor_token", rnd.nextBoolean() ? tok("calendar-agent") : String.valueOf(token(rnd))});
                if (rnd.nextBoolean()) {
                    p.add(new String[] {"actor_token_type", TOKEN_TYPES[rnd.nextInt(TOKEN_TYPES.length)]});
                }
                if (rnd.nextBoolean()) {
                    p.add(new String[] {"resource", value(rnd, connectorUri)});
                }
            }
            default -> {
                who = "agent-host";
                p.add(new String[] {"grant_type", "refresh_token"});
                // the real refresh token only with a resource that is never valid (a valid refresh would rotate it)
                p.add(new String[] {"refresh_token", rnd.nextBoolean() ? refreshToken : String.valueOf(token(rnd))});
                p.add(new String[] {"resource", hostile(rnd)});
                if (rnd.nextBoolean()) {
                    p.add(new String[] {"scope", value(rnd, "openid")});
                }
            }
        }
        List<String[]> params = rnd.nextInt(4) == 0 ? p : mutate(rnd, p);
        if (p.get(0)[1].equals("refresh_token")) {
            // keep the real refresh token away from any request that could succeed
            boolean real = params.stream().anyMatch(x -> x[1].equals(refreshToken));
            boolean badResource = params.stream().anyMatch(x -> x[0].equals("resource") && !x[1].equals(connectorUri));
            if (real && !badResource) {
                params.add(new String[] {"resource", "urn:hostile:never"});
            }
        }
        Req r = new Req("POST", "/realms/" + realm(rnd) + "/protocol/openid-connect/token");
        r.header("Content-Type", contentType(rnd));
        String auth = clientAuth(rnd, who, who + "-secret");
        if (auth != null) {
            r.header("Authorization", auth);
        }
        if (rnd.nextInt(20) == 0) {
            r.body(hostile(rnd)).rawForm = true;
        } else {
            r.body(form(params));
        }
        return r;
    }

    private String realm(Random rnd) {
        int i = rnd.nextInt(20);
        return i == 0 ? Vault.UPSTREAM : i == 1 ? "no-such-realm" : i == 2 ? Http.urlEncode(hostile(rnd)) : Oidc.DEMO;
    }

    private static String contentType(Random rnd) {
        return switch (rnd.nextInt(12)) {
            case 0 -> "application/json";
            case 1 -> "text/plain; charset=utf-16";
            case 2 -> "multipart/form-data; boundary=x";
            case 3 -> "application/x-www-form-urlencoded; charset=\u00ff\u00fe";
            default -> "application/x-www-form-urlencoded";
        };
    }

    private Req authorizeRequest(Random rnd, boolean par) {
        String client = rnd.nextInt(3) == 0 ? "mcp-client" : "agent-host";
        List<String[]> p = new ArrayList<>();
        p.add(new String[] {"client_id", client});
        p.add(new String[] {"redirect_uri", rnd.nextInt(6) == 0 ? "http://evil.example/cb" : DemoUsers.REDIRECT});
        p.add(new String[] {"response_type", "code"});
        String scope = "openid";
        if (client.equals("mcp-client") || rnd.nextInt(4) == 0) {
            scope += " delegation:client:" + (rnd.nextBoolean() ? "calendar-agent" : rnd.nextBoolean() ? "research-agent" : hostile(rnd));
        }
        p.add(new String[] {"scope", scope});
        p.add(new String[] {"state", "s" + rnd.nextInt(1000)});
        p.add(new String[] {"code_challenge", Pkce.create().challenge()});
        p.add(new String[] {"code_challenge_method", "S256"});
        if (rnd.nextInt(4) > 0) {
            p.add(new String[] {"requested_actor", ours(rnd, rnd.nextBoolean() ? "calendar-agent" : "research-agent")});
        }
        int resources = rnd.nextInt(3);
        for (int i = 0; i < resources; i++) {
            p.add(new String[] {"resource", value(rnd, rnd.nextBoolean() ? connectorUri : "http://localhost:3000/mcp")});
        }
        if (rnd.nextInt(3) == 0) {
            p.add(new String[] {"prompt", value(rnd, new String[] {"none", "login", "consent", "select_account"}[rnd.nextInt(4)])});
        }
        List<String[]> params = rnd.nextInt(5) == 0 ? p : mutate(rnd, p);
        if (!par) {
            Req r = new Req(rnd.nextInt(10) == 0 ? "POST" : "GET", "/realms/" + realm(rnd) + "/protocol/openid-connect/auth");
            if (r.method.equals("POST")) {
                r.header("Content-Type", "application/x-www-form-urlencoded").body(form(params));
            } else {
                r.target += "?" + form(params);
            }
            return r;
        }
        Req r = new Req("POST", "/realms/" + realm(rnd) + "/protocol/openid-connect/ext/par/request");
        r.header("Content-Type", contentType(rnd));
        String auth = clientAuth(rnd, "agent-host", "agent-host-secret");
        if (auth != null && !client.equals("mcp-client")) {
            r.header("Authorization", auth);
        }
        return r.body(form(params));
    }

    private String alias(Random rnd) {
        int i = rnd.nextInt(10);
        return i < 7 ? Vault.CONNECTOR : i == 7 ? "no-such-connector" : Http.urlEncode(hostile(rnd)).replace("+", "%20");
    }

    private Req connectRequest(Random rnd) {
        String base = "/realms/" + realm(rnd) + "/agent-auth/connectors/" + alias(rnd);
        Req r;
        switch (rnd.nextInt(3)) {
            case 0 -> {
                List<String[]> p = new ArrayList<>();
                p.add(new String[] {"client_id", value(rnd, rnd.nextBoolean() ? "agent-host" : "calendar-agent")});
                p.add(new String[] {"return_to", value(rnd, Vault.RETURN_TO)});
                if (rnd.nextBoolean()) {
                    p.add(new String[] {"scope", value(rnd, "openid profile")});
                }
                if (rnd.nextBoolean()) {
                    p.add(new String[] {"prompt", value(rnd, "login")});
                }
                if (rnd.nextInt(4) == 0) {
                    p.add(new String[] {"agent_auth_login", value(rnd, "1")});
                }
                r = new Req("GET", base + "/connect?" + form(mutate(rnd, p)));
            }
            case 1 -> {
                List<String[]> p = new ArrayList<>();
                p.add(new String[] {"pending", value(rnd, UUID.randomUUID().toString())});
                p.add(new String[] {"decision", value(rnd, rnd.nextBoolean() ? "allow" : "deny")});
                r = new Req(rnd.nextInt(8) == 0 ? "PUT" : "POST", base + "/connect")
                        .header("Content-Type", contentType(rnd)).body(form(mutate(rnd, p)));
            }
            default -> {
                List<String[]> p = new ArrayList<>();
                p.add(new String[] {"state", value(rnd, UUID.randomUUID().toString())});
                if (rnd.nextBoolean()) {
                    p.add(new String[] {"code", value(rnd, UUID.randomUUID().toString())});
                }
                if (rnd.nextInt(3) == 0) {
                    p.add(new String[] {"error", value(rnd, "access_denied")});
                    p.add(new String[] {"error_description", hostile(rnd)});
                }
                r = new Req("GET", base + "/callback?" + form(mutate(rnd, p)));
            }
        }
        // half of them in alice's signed-in browser session
        if (rnd.nextBoolean()) {
            r.header("Cookie", tok("alice-session-cookie"));
        }
        return r;
    }

    private static final String[] PATH_TRICKS = {"/userinfo", "/..", "/../token", "/%2e%2e/%2e%2e/admin", "/%2E%2E", "/a%2fb",
        "/a%2Fb", "/a%5cb", "/a\\b", "/%00", "/a%00.json", "//userinfo", "/./userinfo", "/.%2e/x", "/%252e%252e/x", "/a;b=c",
        "/%c0%ae%c0%ae/", "/%e2%80%ae", "/ü", "/%ff%fe", "/certs", "/token", "/userinfo?x=1#frag", "/userinfo/", "", "/",
        "/a b", "/a%20b", "/%u002e%u002e", "/.well-known/../../x", "/userinfo%3f", "/%23"};

    private Req proxyRequest(Random rnd) {
        String[] methods = {"GET", "GET", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PROPFIND", "G\u00e9T"};
        String path = PATH_TRICKS[rnd.nextInt(PATH_TRICKS.length)];
        int extra = rnd.nextInt(4);
        for (int i = 0; i < extra; i++) {
            path += rnd.nextInt(3) == 0 ? PATH_TRICKS[rnd.nextInt(PATH_TRICKS.length)] : "/" + Http.urlEncode(hostile(rnd)).replace("+", "%20");
        }
        if (rnd.nextInt(40) == 0) {
            path += "/" + "a".repeat(10000 + rnd.nextInt(10000));
        }
        String query = rnd.nextInt(4) == 0 ? "?connection_id=" + Http.urlEncode(ours(rnd, connectionId)) : "";
        Req r = new Req(methods[rnd.nextInt(methods.length)], "/realms/" + realm(rnd) + "/agent-auth/connectors/" + alias(rnd) + "/proxy" + path + query);
        // half with the one token that is right, so the path, header and account checks are reached
        String t = rnd.nextBoolean() ? tok("delegated-connector") : token(rnd);
        switch (rnd.nextInt(6)) {
            case 0 -> r.header("Authorization", "Basic " + Http.basic("calendar-agent", "calendar-agent-secret"));
            case 1 -> r.header("Authorization", "bearer " + t).header("Authorization", "Bearer " + token(rnd));
            case 2 -> {
            }
            default -> r.header("Authorization", "Bearer " + t);
        }
        int headers = rnd.nextInt(4);
        for (int i = 0; i < headers; i++) {
            switch (rnd.nextInt(10)) {
                case 0 -> r.header("Upgrade", "websocket").header("Connection", "Upgrade");
                case 1 -> r.header("Forwarded", "for=1.2.3.4;host=evil.example;proto=https");
                case 2 -> r.header("X-Forwarded-Host", "evil.example").header("X-Forwarded-For", "127.0.0.1");
                case 3 -> r.header("X-Connection-Id", ours(rnd, connectionId));
                case 4 -> r.header("X-Huge", "h".repeat(4000 + rnd.nextInt(12000)));
                case 5 -> r.header("Cookie", tok("alice-session-cookie"));
                case 6 -> r.header("Content-Type", contentType(rnd));
                case 7 -> r.header("Accept", hostile(rnd));
                case 8 -> r.header("Transfer-Encoding", "chunked, identity");
                default -> r.header("X-" + rnd.nextInt(100), hostile(rnd));
            }
        }
        if (!r.method.equals("GET") && !r.method.equals("HEAD") && rnd.nextBoolean()) {
            String body = rnd.nextInt(10) == 0 ? "b".repeat(200_000) : hostile(rnd);
            r.body(body);
            // declared as a form, with broken percent-encoding: Keycloak's HTTP layer parses such a body before the proxy's
            // method runs and answers 500, as it does at its own token endpoint (BROKEN_BODY_TYPES; the proxy itself only
            // streams the bytes). Seen with seed 1796569627919 (PATCH, body %s%n%x%p).
            r.rawForm = r.headers.stream().anyMatch(h -> h[0].equalsIgnoreCase("Content-Type")
                    && h[1].toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded")) && BROKEN_PERCENT.matcher(body).find();
        }
        return r;
    }

    /** A {@code %} not followed by two hex digits: what the form decoder refuses. */
    private static final Pattern BROKEN_PERCENT = Pattern.compile("%(?![0-9A-Fa-f]{2})");

    /**
     * CIBA (issue 24): the backchannel endpoint with {@code requested_actor}, {@code resource}, {@code authorization_details},
     * {@code max_age} and parameters named like claims; the CIBA grant's poll with hostile {@code auth_req_id} and actor
     * tokens; the approval page with hostile ids, methods and forms. A request the generator left valid stores a
     * pending request for bob (never decided here).
     */
    private Req cibaRequest(Random rnd) {
        String realm = realm(rnd);
        switch (rnd.nextInt(3)) {
            case 0 -> {
                List<String[]> p = new ArrayList<>();
                p.add(new String[] {"login_hint", value(rnd, "bob")});
                p.add(new String[] {"scope", value(rnd, "openid profile")});
                p.add(new String[] {"requested_actor", ours(rnd, "calendar-agent")});
                p.add(new String[] {"binding_message", value(rnd, "H-" + rnd.nextInt(100))});
                String[] optional = {"resource", "authorization_details", "max_age", "sub", "jti", "agent_auth_actor", "requested_expiry"};
                String[] valid = {connectorUri, "[{\"type\":\"agent_action\",\"description\":\"hostile test\"}]", "60", null, null, null, "30"};
                for (int i = 0; i < optional.length; i++) {
                    if (rnd.nextInt(4) == 0) {
                        // max_age and requested_expiry are Keycloak's own (it echoes a bad number): never a token there
                        boolean keycloaks = optional[i].equals("max_age") || optional[i].equals("requested_expiry");
                        p.add(new String[] {optional[i], keycloaks ? value(rnd, valid[i]) : ours(rnd, valid[i])});
                    }
                }
                Req r = new Req("POST", "/realms/" + realm + "/protocol/openid-connect/ext/ciba/auth");
                r.header("Content-Type", contentType(rnd));
                String auth = clientAuth(rnd, "calendar-agent", "calendar-agent-secret");
                if (auth != null) {
                    r.header("Authorization", auth);
                }
                return r.body(form(rnd.nextInt(4) == 0 ? p : mutate(rnd, p)));
            }
            case 1 -> {
                List<String[]> p = new ArrayList<>();
                p.add(new String[] {"grant_type", "urn:openid:params:grant-type:ciba"});
                p.add(new String[] {"auth_req_id", rnd.nextBoolean() ? hostile(rnd) : String.valueOf(token(rnd))});
                if (rnd.nextBoolean()) {
                    p.add(new String[] {"actor_token", rnd.nextBoolean() ? tok("calendar-agent") : String.valueOf(token(rnd))});
                    p.add(new String[] {"actor_token_type", TOKEN_TYPES[rnd.nextInt(TOKEN_TYPES.length)]});
                }
                Req r = new Req("POST", "/realms/" + realm + "/protocol/openid-connect/token");
                r.header("Content-Type", contentType(rnd));
                String auth = clientAuth(rnd, "calendar-agent", "calendar-agent-secret");
                if (auth != null) {
                    r.header("Authorization", auth);
                }
                return r.body(form(rnd.nextInt(4) == 0 ? p : mutate(rnd, p)));
            }
            default -> {
                String[] methods = {"GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"};
                String method = methods[rnd.nextInt(methods.length)];
                String id = rnd.nextBoolean() ? UUID.randomUUID().toString() : Http.urlEncode(hostile(rnd)).replace("+", "%20");
                Req r = new Req(method, "/realms/" + realm + "/agent-auth/account/approvals/" + id
                        + (rnd.nextInt(6) == 0 ? "?agent_auth_login=1&ui_locales=" + Http.urlEncode(hostile(rnd)) : ""));
                if (rnd.nextInt(3) == 0) {
                    r.header("Authorization", "Bearer " + (rnd.nextBoolean() ? tok("alice") : token(rnd)));
                }
                if (rnd.nextInt(3) == 0) {
                    r.header("Origin", rnd.nextBoolean() ? "http://evil.example" : "http://localhost");
                }
                if (method.equals("POST")) {
                    r.header("Content-Type", contentType(rnd));
                    r.body(form(mutate(rnd, new ArrayList<>(List.of(new String[] {"decision", value(rnd, "allow")},
                            new String[] {"form_token", hostile(rnd)}, new String[] {"shown", hostile(rnd)})))));
                }
                return r;
            }
        }
    }

    private Req accountRequest(Random rnd) {
        String[] methods = {"GET", "GET", "DELETE", "POST", "PUT", "PATCH", "OPTIONS", "HEAD"};
        String method = methods[rnd.nextInt(methods.length)];
        boolean delegations = rnd.nextBoolean();
        String real = delegations ? grantId : connectionId;
        String id = switch (rnd.nextInt(5)) {
            case 0 -> null;
            case 1 -> real;
            case 2 -> UUID.randomUUID().toString();
            default -> Http.urlEncode(hostile(rnd)).replace("+", "%20");
        };
        String t = token(rnd);
        if (rnd.nextInt(3) == 0) {
            t = tok("alice");
        }
        // alice's own token never changes her own rows: with it, only reads of real ids
        boolean writes = !method.equals("GET") && !method.equals("HEAD") && !method.equals("OPTIONS");
        if (writes && real.equals(id) && tok("alice").equals(t)) {
            id = UUID.randomUUID().toString();
        }
        String path = "/realms/" + realm(rnd) + "/agent-auth/account/" + (delegations ? "delegations" : "connections")
                + (id == null ? "" : "/" + id) + (!delegations && id != null && rnd.nextBoolean() ? "/check" : "")
                + (rnd.nextInt(15) == 0 ? "/%2e%2e/%2e%2e/x" : "");
        Req r = new Req(method, path);
        if (t != null || rnd.nextBoolean()) {
            r.header("Authorization", "Bearer " + t);
        }
        if (rnd.nextInt(4) == 0) {
            r.header("Origin", rnd.nextBoolean() ? "http://evil.example" : "http://localhost");
        }
        if (writes && rnd.nextBoolean()) {
            r.header("Content-Type", rnd.nextBoolean() ? "application/json" : contentType(rnd)).body(json(rnd));
        }
        return r;
    }

    /** A JSON-ish body: broken, of the wrong type, huge, or an object with hostile members. */
    private String json(Random rnd) {
        return switch (rnd.nextInt(9)) {
            case 0 -> "{";
            case 1 -> "[1,2,3]";
            case 2 -> "\"just a string\"";
            case 3 -> "42";
            case 4 -> "{\"x-hostile\": " + Http.JSON.valueToTree(hostile(rnd)) + "}";
            case 5 -> "{\"agent\": 7, \"scopes\": \"openid\", \"x-hostile\": true}";
            case 6 -> "{\"alias\": {\"nested\": [null]}, \"x-hostile\": 1}";
            case 7 -> "{\"a\":" + "[".repeat(3000) + "]".repeat(3000) + "}";
            default -> "\u0000\u00ff\uFFFD";
        };
    }

    private Req adminRequest(Random rnd) {
        String[] methods = {"GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
        String method = methods[rnd.nextInt(methods.length)];
        String t = rnd.nextInt(3) == 0 ? tok("admin-master") : token(rnd);
        boolean admin = tok("admin-master").equals(t);
        String unknown = UUID.randomUUID().toString();
        String user = switch (rnd.nextInt(4)) {
            case 0 -> aliceId;
            case 1 -> unknown;
            case 2 -> Http.urlEncode(hostile(rnd)).replace("+", "%20");
            default -> bobId;
        };
        String sub = switch (rnd.nextInt(12)) {
            case 0 -> "agents?first=" + Http.urlEncode(value(rnd, "0")) + "&max=" + Http.urlEncode(value(rnd, "100")) + "&search=" + Http.urlEncode(hostile(rnd));
            case 1 -> "agents/" + (rnd.nextBoolean() ? "calendar-agent" : Http.urlEncode(hostile(rnd)).replace("+", "%20"));
            case 2 -> "delegations?agent=" + Http.urlEncode(value(rnd, "calendar-agent"));
            case 3 -> "users/" + user + "/delegations" + (rnd.nextBoolean() ? "/" + (rnd.nextBoolean() ? grantId : unknown) : "");
            case 4 -> "users/" + user + "/connections" + (rnd.nextBoolean() ? "/" + (rnd.nextBoolean() ? connectionId : unknown)
                    + (rnd.nextBoolean() ? "/check" : "") : "");
            case 5 -> "connectors";
            case 6 -> "connectors/" + alias(rnd);
            case 7 -> "connectors/presets";
            case 8 -> "connectors/discover";
            case 9 -> "connectors/" + alias(rnd) + "/test";
            case 10 -> "vault" + (rnd.nextBoolean() ? "/reencrypt" : "");
            default -> Http.urlEncode(hostile(rnd)).replace("+", "%20");
        };
        String body = rnd.nextInt(3) == 0 ? hostileObject(rnd) : json(rnd);
        boolean writes = !method.equals("GET") && !method.equals("OPTIONS");
        if (admin && writes) {
            // the realm admin changes nothing here: unknown targets, or bodies that can never be valid
            boolean safeTarget = sub.startsWith("users/" + unknown) || sub.contains(unknown) || sub.startsWith("connectors/no-such")
                    || (!sub.contains(aliceId) && !sub.contains(bobId) && !sub.contains(grantId) && !sub.contains(connectionId)
                        && !sub.startsWith("agents") && !sub.startsWith("connectors") && !sub.startsWith("vault") && !sub.startsWith("users")
                        && !sub.startsWith("delegations"));
            if (!safeTarget) {
                body = json(rnd);
                if (body.startsWith("{\"x-hostile\"") || body.startsWith("{\"agent\"") || body.startsWith("{\"alias\"") || body.startsWith("{\"a\"")) {
                    body = "{";
                }
                if (sub.startsWith("vault/reencrypt") || sub.endsWith("/check") || sub.endsWith("/test") || sub.equals("connectors/discover")
                        || method.equals("DELETE")) {
                    sub = sub.startsWith("users/") ? "users/" + unknown + "/connections/" + unknown : "connectors/no-such-connector";
                }
            }
        }
        Req r = new Req(method, "/admin/realms/" + realm(rnd) + "/agent-auth/" + sub);
        if (t != null || rnd.nextBoolean()) {
            r.header("Authorization", "Bearer " + t);
        }
        if (writes) {
            r.header("Content-Type", rnd.nextInt(5) == 0 ? contentType(rnd) : "application/json").body(body);
        }
        return r;
    }

    /** An object with the admin API's field names, wrong types and hostile values. */
    private String hostileObject(Random rnd) {
        Map<String, Object> m = new LinkedHashMap<>();
        String[] fields = {"agent", "host", "scopes", "connectors", "downstreamAgents", "alias", "issuer", "clientSecret", "resourceUris",
            "allowedScopes", "enabled", "maxDelegationDepth"};
        int n = 1 + rnd.nextInt(5);
        for (int i = 0; i < n; i++) {
            String f = fields[rnd.nextInt(fields.length)];
            Object v = switch (rnd.nextInt(6)) {
                case 0 -> hostile(rnd);
                case 1 -> List.of(hostile(rnd), 1, Map.of());
                case 2 -> -1;
                case 3 -> Map.of("x", hostile(rnd));
                case 4 -> rnd.nextBoolean();
                default -> Collections.nCopies(1 + rnd.nextInt(2000), "s");
            };
            m.put(f, v);
        }
        m.put("agent", "no-such-agent-" + hostile(rnd)); // never a real agent: a grant can never be made
        m.put("x-hostile", true); // an unknown member: strict bodies are refused
        try {
            return Http.JSON.writeValueAsString(m);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------------------------------------ judging

    /** The endpoint a request target names, with its variable parts as placeholders. */
    static String endpoint(String target) {
        String path = target.split("\\?", 2)[0];
        String[] seg = path.split("/", -1);
        StringBuilder sb = new StringBuilder();
        int agentAuth = -1;
        for (int i = 1; i < seg.length; i++) {
            String x = seg[i];
            String prev = seg[i - 1];
            if (prev.equals("realms")) {
                x = "{realm}";
            } else if (agentAuth >= 0 && i > agentAuth + 1 && (prev.equals("connectors") || prev.equals("users") || prev.equals("delegations")
                    || prev.equals("connections") || prev.equals("agents") || prev.equals("grants"))) {
                x = "{id}";
            } else if (agentAuth >= 0 && sb.toString().contains("/proxy")) {
                sb.append("/...");
                break;
            } else if (x.length() > 24 || !x.matches("[A-Za-z0-9_.-]*")) {
                x = "{x}";
            }
            if (seg[i].equals("agent-auth")) {
                agentAuth = i;
            }
            sb.append('/').append(x);
        }
        return sb.toString();
    }

    /** How an answer looks: the documented shapes, or what else it is. */
    private String shape(Req req, Res res) {
        if (res.status < 0) {
            return "connection-closed";
        }
        String ct = res.header("content-type") == null ? "" : res.header("content-type").toLowerCase(Locale.ROOT);
        String body = res.text();
        if (res.status >= 300 && res.status < 400) {
            String loc = res.header("location");
            if (loc == null) {
                return "redirect-without-location";
            }
            return loc.contains("error=") ? "redirect-error" : loc.startsWith(server.baseUrl()) || loc.startsWith("/") ? "redirect-server" : "redirect-client";
        }
        if (body.isEmpty()) {
            return "empty";
        }
        if (ct.contains("json")) {
            try {
                JsonNode j = Http.JSON.readTree(body);
                if (j.isObject() && j.path("error").isTextual()) {
                    return "json-error";
                }
                if (j.isObject() && j.path("errorMessage").isTextual()) {
                    return "json-errorMessage";
                }
                return "json-other";
            } catch (IOException e) {
                return "json-unparsable";
            }
        }
        if (ct.contains("html")) {
            if (body.contains("id=\"kc-form-login\"")) {
                return "html-login";
            }
            if (body.contains("kc-error-message") || body.contains("agent-connect-result") || body.contains("kc-agent-connect-form")
                    || body.contains("kc-agent-consent-form")) {
                return "html-themed";
            }
            return "html-other";
        }
        return "other(" + ct + ")";
    }

    /**
     * Content types that Keycloak 26.7's HTTP layer (RESTEasy Reactive's FormBodyHandler, which parses form and multipart
     * bodies before any resource method runs) answers with 500 {@code unknown_error}: a form with an unknown charset
     * ({@code IllegalCharsetNameException}) and a multipart body that is not multipart ("Connection terminated parsing
     * multipart request"); and a form body whose percent-encoding is broken ("Failed to decode URL", {@link Req#rawForm}).
     * Keycloak's own endpoints do the same ({@link #frameworkAnswers500ForBrokenBodies} checks that
     * on every run), so a 500 to exactly these is excluded; any other 5xx fails the test.
     */
    private static final List<String> BROKEN_BODY_TYPES = List.of("application/x-www-form-urlencoded; charset=\u00ff\u00fe",
            "multipart/form-data; boundary=x");

    private static boolean brokenBody(Req req) {
        return req.rawForm || req.headers.stream().anyMatch(h -> h[0].equalsIgnoreCase("Content-Type") && BROKEN_BODY_TYPES.contains(h[1]))
                || formWithBrokenPercent(req);
    }

    /**
     * A body declared as a form whose percent-encoding is broken, on any POST-like endpoint: the framework's form parser
     * refuses it before the endpoint's method runs (seen at the account API's {@code connections/{id}/check} with seed
     * 1796581164869, as at the proxy before).
     */
    private static boolean formWithBrokenPercent(Req req) {
        return req.body != null && BROKEN_PERCENT.matcher(new String(req.body, StandardCharsets.UTF_8)).find() && req.headers.stream().anyMatch(h -> h[0].equalsIgnoreCase("Content-Type")
                && h[1].toLowerCase(Locale.ROOT).startsWith("application/x-www-form-urlencoded"));
    }

    /** Keycloak's own password grant in the master realm answers the broken bodies with 500 too. */
    private void frameworkAnswers500ForBrokenBodies() {
        for (String type : BROKEN_BODY_TYPES) {
            Res r = send(new Req("POST", "/realms/master/protocol/openid-connect/token")
                    .header("Content-Type", type).body("grant_type=password&client_id=admin-cli&username=no%20body&password=x"));
            assertEquals(500, r.status, "Keycloak now answers a " + type + " body without a 500 (" + r.describe()
                    + "): drop the exclusion in HostileInputIT.judge");
        }
        Res r = send(new Req("POST", "/realms/master/protocol/openid-connect/token")
                .header("Content-Type", "application/x-www-form-urlencoded").body("grant_type=password&username=%s%n%x%p"));
        assertEquals(500, r.status, "Keycloak now answers a form with broken percent-encoding without a 500 (" + r.describe()
                + "): drop the exclusion in HostileInputIT.judge");
    }

    /** The accepted bodiless 4xx answers by family, method, endpoint and status, with who answered them. */
    private final Map<String, AtomicInteger> bodilessBy = new TreeMap<>();

    /**
     * Why a 4xx without a documented error body is acceptable, or null when it is not. A HEAD answer has no body by
     * definition (RFC 9110 section 9.3.2): its GET twin, the same request otherwise, is sent and judged instead. Any other
     * bodiless answer must come from before every endpoint (Vert.x's HTTP codec, RESTEasy's matching): the same request
     * (method, headers, body, every byte of the path after the prefix) is sent to a path under which no endpoint exists,
     * {@code /agent-auth-absent/} instead of {@code /agent-auth/} (or {@code /protocol/openid-connect-absent/} for
     * Keycloak's own endpoints), and must get the same status without a body there too.
     */
    private String answeredWithoutBody(String family, Req req, Res res) {
        if (req.method.equals("HEAD")) {
            Req twin = req.copy("GET", req.target);
            twin.body = null;
            twin.headTwin = true;
            Res got = send(twin);
            String problem = judge(family, twin, got, shape(twin, got));
            return problem == null ? "a HEAD (its GET twin: " + got.status + " " + shape(twin, got) + ")" : null;
        }
        String control = req.target.contains("/agent-auth/") ? req.target.replaceFirst("/agent-auth/", "/agent-auth-absent/")
                : req.target.replaceFirst("/protocol/openid-connect/", "/protocol/openid-connect-absent/");
        if (control.equals(req.target)) {
            return null;
        }
        Res got = send(req.copy(req.method, control));
        if (got.status == res.status && got.text().isEmpty() == res.text().isEmpty()) {
            return "answered before any endpoint";
        }
        return null;
    }

    /** Null when the answer is acceptable, else what is wrong with it. */
    private String judge(String family, Req req, Res res, String shape) {
        if (res.status == 500 && brokenBody(req) && res.text().contains("\"unknown_error\"")) {
            return null;
        }
        if (res.status >= 500) {
            return "HTTP " + res.status;
        }
        if (res.status < 0) {
            return null; // the server closed the connection on a request it would not parse (oversized headers or line)
        }
        if (res.status >= 400) {
            if (shape.equals("json-error") || shape.equals("json-errorMessage") || shape.equals("html-themed")) {
                return null;
            }
            if (shape.equals("empty") || shape.startsWith("other(text/plain")) {
                String who = answeredWithoutBody(family, req, res);
                if (who != null) {
                    if (!req.headTwin) { // a HEAD's GET twin is counted as that HEAD's answer
                        synchronized (bodilessBy) {
                            bodilessBy.computeIfAbsent(family + " " + req.method + " " + endpoint(req.target) + " " + res.status + ": " + who,
                                    k -> new AtomicInteger()).incrementAndGet();
                        }
                    }
                    return null;
                }
                return "4xx without a documented error body (" + shape + "), and a path without any endpoint answers differently";
            }
            return "4xx in an undocumented shape " + shape;
        }
        if (res.status >= 300) {
            return shape.equals("redirect-without-location") ? shape : null;
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------------ state

    private record Snapshot(List<Map<String, String>> grants, List<Map<String, String>> connections, Map<String, String> rest) {
        void assertSame(Snapshot after) {
            assertEquals(grants, after.grants, "AGENT_AUTH_DELEGATION_GRANT rows changed");
            assertEquals(connections, after.connections, "AGENT_AUTH_CONNECTION rows changed");
            for (String k : rest.keySet()) {
                assertEquals(rest.get(k), after.rest.get(k), "admin REST " + k + " changed");
            }
        }
    }

    private Snapshot snapshot(String admin) {
        DbRows db = new DbRows(server);
        List<Map<String, String>> grants = stable(db.query("SELECT * FROM AGENT_AUTH_DELEGATION_GRANT ORDER BY ID"));
        List<Map<String, String>> connections = stable(db.query("SELECT * FROM AGENT_AUTH_CONNECTION ORDER BY ID"));
        Map<String, String> rest = new LinkedHashMap<>();
        Http http = new Http();
        String a = server.baseUrl() + "/admin/realms/";
        for (String path : List.of(Oidc.DEMO + "/users?briefRepresentation=false&max=1000", Oidc.DEMO + "/clients?max=1000",
                Oidc.DEMO + "/agent-auth/agents?max=500", Oidc.DEMO + "/agent-auth/connectors", Oidc.DEMO + "/agent-auth/users/" + aliceId
                        + "/delegations", Oidc.DEMO + "/agent-auth/users/" + bobId + "/delegations", Vault.UPSTREAM + "/users?max=1000",
                Vault.UPSTREAM + "/clients?max=1000")) {
            Http.Response r = http.get(a + path, admin);
            assertEquals(200, r.status(), path + ": " + r.body());
            rest.put(path, withoutVolatile(r.json()).toString());
        }
        System.out.println("[hostile] snapshot: " + grants.size() + " grants, " + connections.size() + " connections, " + rest.size() + " admin listings");
        return new Snapshot(grants, connections, rest);
    }

    private static List<Map<String, String>> stable(List<Map<String, String>> rows) {
        List<Map<String, String>> out = new ArrayList<>();
        for (Map<String, String> row : rows) {
            Map<String, String> m = new TreeMap<>(row);
            m.keySet().removeAll(VOLATILE);
            out.add(m);
        }
        return out;
    }

    /**
     * A listing without the fields legitimate calls in this run move ({@code lastUsedAt} of a grant), with lists of plain
     * strings sorted: Keycloak returns sets (a client's optional scopes, say) in no fixed order.
     */
    private static JsonNode withoutVolatile(JsonNode n) {
        if (n.isArray()) {
            com.fasterxml.jackson.databind.node.ArrayNode arr = (com.fasterxml.jackson.databind.node.ArrayNode) n;
            arr.forEach(HostileInputIT::withoutVolatile);
            boolean allText = arr.size() > 1;
            for (JsonNode e : arr) {
                allText &= e.isTextual();
            }
            if (allText) {
                List<String> values = new ArrayList<>();
                arr.forEach(e -> values.add(e.asText()));
                java.util.Collections.sort(values);
                arr.removeAll();
                values.forEach(arr::add);
            }
        } else if (n.isObject()) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) n).remove("lastUsedAt");
            n.forEach(HostileInputIT::withoutVolatile);
        }
        return n;
    }

    // ------------------------------------------------------------------------------------------------ raw HTTP

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String hmac(String data, String key) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(data.getBytes(StandardCharsets.UTF_8)));
    }

    /** One request, written byte for byte as generated. */
    private static final class Req {
        final String method;
        String target;
        final List<String[]> headers = new ArrayList<>();
        byte[] body;
        /** The body is raw text declared as a form: not necessarily valid percent-encoding. */
        boolean rawForm;
        /** Sent by the judge as the GET twin of a bodiless HEAD answer, not by the generator. */
        boolean headTwin;

        Req(String method, String target) {
            this.method = method;
            this.target = target;
        }

        Req header(String name, String value) {
            headers.add(new String[] {name, value == null ? "null" : value.replaceAll("[\r\n]", " ")});
            return this;
        }

        /** The same request (headers, body, form flag) with another method and target. */
        Req copy(String method, String target) {
            Req r = new Req(method, target);
            r.headers.addAll(headers);
            r.body = body;
            r.rawForm = rawForm;
            return r;
        }

        Req body(String text) {
            this.body = text.getBytes(StandardCharsets.UTF_8);
            return this;
        }

        String describe() {
            StringBuilder sb = new StringBuilder(method).append(' ').append(cut(target, 300));
            for (String[] h : headers) {
                sb.append(" | ").append(h[0]).append(": ").append(cut(h[1], 60));
            }
            if (body != null) {
                sb.append(" | body ").append(cut(new String(body, StandardCharsets.UTF_8), 300));
            }
            return sb.toString();
        }
    }

    private static String cut(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n) + "...(" + s.length() + ")";
    }

    private record Res(int status, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8).trim();
        }

        String statusLabel() {
            return status < 0 ? "closed" : String.valueOf(status);
        }

        String describe() {
            return statusLabel() + " " + headers.getOrDefault("content-type", "") + " " + headers.getOrDefault("location", "") + " "
                    + cut(text(), 400);
        }
    }

    private Res send(Req r) {
        try (Socket s = new Socket("localhost", port)) {
            s.setSoTimeout(60_000);
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            String target = r.target.replace(" ", "%20");
            head.writeBytes((r.method + " " + target + " HTTP/1.1\r\nHost: localhost:" + port + "\r\nConnection: close\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            for (String[] h : r.headers) {
                head.writeBytes((h[0] + ": " + h[1] + "\r\n").getBytes(StandardCharsets.UTF_8));
            }
            boolean chunkedClaim = r.headers.stream().anyMatch(h -> h[0].equalsIgnoreCase("Transfer-Encoding"));
            if (r.body != null && !chunkedClaim) {
                head.writeBytes(("Content-Length: " + r.body.length + "\r\n").getBytes(StandardCharsets.UTF_8));
            }
            head.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
            OutputStream out = s.getOutputStream();
            try {
                out.write(head.toByteArray());
                if (r.body != null) {
                    if (chunkedClaim) {
                        out.write((Integer.toHexString(r.body.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        out.write(r.body);
                        out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    } else {
                        out.write(r.body);
                    }
                }
                out.flush();
            } catch (IOException earlyAnswer) {
                // the server answered (and closed) before reading everything: read what it said
            }
            byte[] all;
            try (InputStream in = s.getInputStream()) {
                all = in.readAllBytes();
            } catch (IOException reset) {
                all = new byte[0];
            }
            return parse(all);
        } catch (IOException e) {
            return new Res(-1, Map.of("exception", e.toString()), new byte[0]);
        }
    }

    private static Res parse(byte[] all) {
        String text = new String(all, StandardCharsets.ISO_8859_1);
        int end = text.indexOf("\r\n\r\n");
        if (end < 0 || !text.startsWith("HTTP/")) {
            return new Res(-1, Map.of(), all);
        }
        String[] lines = text.substring(0, end).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0) {
                headers.putIfAbsent(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim());
            }
        }
        byte[] body = java.util.Arrays.copyOfRange(all, end + 4, all.length);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            body = dechunk(body);
        }
        return new Res(status, headers, body);
    }

    private static byte[] dechunk(byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < b.length) {
            int eol = i;
            while (eol + 1 < b.length && !(b[eol] == '\r' && b[eol + 1] == '\n')) {
                eol++;
            }
            String sizeLine = new String(b, i, eol - i, StandardCharsets.ISO_8859_1).split(";")[0].trim();
            int size;
            try {
                size = Integer.parseInt(sizeLine, 16);
            } catch (NumberFormatException e) {
                break;
            }
            if (size == 0) {
                break;
            }
            int start = eol + 2;
            out.write(b, start, Math.min(size, b.length - start));
            i = start + size + 2;
        }
        return out.toByteArray();
    }
}
