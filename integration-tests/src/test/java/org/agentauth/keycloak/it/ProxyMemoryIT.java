package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.DemoUsers;
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
 * Proxy memory (issue 21, finding 8), on a server of its own started with a small heap (failsafe execution
 * {@code proxy-memory}, {@code -Xmx}{@value #HEAP_MIB}m): {@value #PARALLEL} parallel proxy calls, each sending a request
 * body of almost 10 MiB and receiving an upstream answer of {@value #ANSWER_MIB} MiB (the connector allows 64 MiB), far
 * more than the heap if any of it were held whole per call. Every call answers 200 with every byte, or 503 with
 * {@code Retry-After}; the server stays healthy; no {@code OutOfMemoryError} in its log. The upstream API is a loopback
 * HTTP server of the test's own (the OAuth side is the real upstream-saas realm).
 */
@Order(43)
@ExtendWith(KeycloakServerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxyMemoryIT {

    static final int HEAP_MIB = 384;
    static final int PARALLEL = 16;
    static final int ANSWER_MIB = 40;
    static final int REQUEST_BYTES = 10 * 1024 * 1024 - 4096;
    static final String ALIAS = "bulk-calendar";
    static final String UPSTREAM_CLIENT = "bulk-connector";
    static final String UPSTREAM_SECRET = "bulk-connector-secret";
    static final String USER = "bulk-user";

    private final KeycloakServer server;
    private final Vault vault;
    private final DemoUsers users;
    private final AgentFlows flows;
    private final Http http = new Http();
    private HttpServer api;
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong uploads = new AtomicLong();
    private JsonNode originalPolicy;

    ProxyMemoryIT(KeycloakServer server) {
        this.server = server;
        this.vault = new Vault(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
    }

    @BeforeAll
    void setUp() throws Exception {
        api = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        api.setExecutor(Executors.newCachedThreadPool());
        api.createContext("/api/bulk", ex -> {
            try (InputStream in = ex.getRequestBody()) {
                received.addAndGet(in.transferTo(OutputStream.nullOutputStream()));
            }
            uploads.incrementAndGet();
            ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
            ex.sendResponseHeaders(200, (long) ANSWER_MIB * 1024 * 1024);
            byte[] chunk = new byte[64 * 1024];
            try (OutputStream out = ex.getResponseBody()) {
                for (int i = 0; i < ANSWER_MIB * 16; i++) {
                    out.write(chunk);
                }
            } catch (java.io.IOException e) {
                // the proxy gave up on this answer: counted by the caller
            }
        });
        api.start();

        String admin = vault.oidc().adminToken();
        vault.upstreamClient(admin, UPSTREAM_CLIENT, UPSTREAM_SECRET, connectorUri() + "/callback", 1800);
        users.create(admin, Oidc.DEMO, USER, "Bulk");

        String upstream = server.realmUrl(Vault.UPSTREAM) + "/protocol/openid-connect";
        Map<String, Object> connector = new LinkedHashMap<>();
        connector.put("alias", ALIAS);
        connector.put("displayName", "Bulk Calendar");
        connector.put("authorizationUrl", upstream + "/auth");
        connector.put("tokenUrl", upstream + "/token");
        connector.put("userinfoUrl", upstream + "/userinfo");
        connector.put("clientId", UPSTREAM_CLIENT);
        connector.put("clientSecret", UPSTREAM_SECRET);
        connector.put("scopes", List.of("openid", "profile"));
        connector.put("apiBaseUrl", "http://localhost:" + api.getAddress().getPort() + "/api");
        connector.put("deliveryMode", "proxy");
        connector.put("preset", "oauth2");
        connector.put("timeoutMillis", 60_000);
        connector.put("maxResponseBytes", 64L * 1024 * 1024);
        Http.Response made = http.postJson(connectors(), admin, connector);
        assertEquals(201, made.status(), made.toString());

        originalPolicy = vault.allowConnector(admin, ALIAS);
        users.adminGrant(admin, users.userId(admin, USER), Map.of("agent", "calendar-agent", "host", "agent-host", "connectors", List.of(ALIAS)));
    }

    @AfterAll
    void tearDown() {
        try {
            if (originalPolicy != null) {
                String admin = vault.oidc().adminToken();
                vault.restorePolicy(admin, originalPolicy);
                http.delete(connectors() + "/" + ALIAS, admin);
            }
        } finally {
            if (api != null) {
                api.stop(0);
            }
        }
    }

    @Test
    void parallelLargeBodiesKeepTheHeapBounded() throws Exception {
        String heap = System.getProperty("keycloak.javaOpts", "");
        assertTrue(heap.contains("-Xmx" + HEAP_MIB + "m"), "run through the proxy-memory execution (a server with a small heap): " + heap);
        String id;
        try (Browser b = new Browser()) {
            id = Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, ALIAS, "prompt=login"), USER, "alice-work", null));
        }
        String token = proxyToken();
        byte[] body = new byte[REQUEST_BYTES];
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(30)).build();
        ExecutorService pool = Executors.newFixedThreadPool(PARALLEL);
        ConcurrentLinkedQueue<String> outcomes = new ConcurrentLinkedQueue<>();
        List<Future<?>> calls = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < PARALLEL; i++) {
            calls.add(pool.submit(() -> {
                HttpRequest req = HttpRequest.newBuilder(URI.create(connectorUri() + "/proxy/bulk?connection_id=" + id))
                        .timeout(Duration.ofMinutes(4)).header("Authorization", "Bearer " + token)
                        .header("Content-Type", "application/octet-stream")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
                HttpResponse<InputStream> r = client.send(req, HttpResponse.BodyHandlers.ofInputStream());
                long n;
                try (InputStream in = r.body()) {
                    n = in.transferTo(OutputStream.nullOutputStream());
                }
                if (r.statusCode() == 200) {
                    assertEquals((long) ANSWER_MIB * 1024 * 1024, n, "a 200 carries the whole answer");
                } else {
                    assertEquals(503, r.statusCode(), "200 or 503, nothing else (" + n + " bytes)");
                    assertNotNull(r.headers().firstValue("Retry-After").orElse(null), "a 503 says when to retry");
                }
                outcomes.add(String.valueOf(r.statusCode()));
                return null;
            }));
        }
        for (Future<?> f : calls) {
            f.get();
        }
        pool.shutdown();
        long ok = outcomes.stream().filter("200"::equals).count();
        System.out.printf("[proxy-memory] %d parallel calls in %.1f s: %d x 200, %d x 503; upstream received %d bodies, %d MiB%n",
                PARALLEL, (System.nanoTime() - t0) / 1e9, ok, PARALLEL - ok, uploads.get(), received.get() >> 20);
        assertEquals(PARALLEL, outcomes.size());
        assertTrue(ok >= 1, "some calls are served: " + outcomes);

        // the server is healthy and serves the next call
        Http.Response next = http.get(server.realmUrl(Oidc.DEMO) + "/.well-known/openid-configuration");
        assertEquals(200, next.status());
        Http.Response one = http.get(connectorUri() + "/proxy/bulk?connection_id=" + id, proxyToken());
        assertEquals(200, one.status(), "the next call is served");
        String log = server.logText();
        assertFalse(log.contains("OutOfMemoryError"), "no OutOfMemoryError in the server log");
        assertFalse(log.contains("Java heap space"), "no heap exhaustion in the server log");
    }

    private String proxyToken() {
        return flows.connectorToken(users.accessToken(USER), connectorUri());
    }

    private String connectorUri() {
        return server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/" + ALIAS;
    }

    private String connectors() {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/connectors";
    }

}
