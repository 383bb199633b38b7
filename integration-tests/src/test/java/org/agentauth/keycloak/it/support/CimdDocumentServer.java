package org.agentauth.keycloak.it.support;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An HTTPS server on 127.0.0.1 with a certificate of the test CA ({@link CimdTestTls}) that serves client ID metadata
 * documents (or whatever answer a test sets for a path) and counts every request per path, so that a test can assert
 * that Keycloak fetched something exactly so often, or never.
 */
public final class CimdDocumentServer implements AutoCloseable {

    /** What the server answers at one path. */
    public record Answer(int status, String contentType, byte[] body, Map<String, String> headers, long delayMillis) {
        public static Answer json(String body) {
            return new Answer(200, "application/json", body.getBytes(StandardCharsets.UTF_8), Map.of(), 0);
        }

        public Answer withHeader(String name, String value) {
            Map<String, String> h = new java.util.LinkedHashMap<>(headers);
            h.put(name, value);
            return new Answer(status, contentType, body, h, delayMillis);
        }
    }

    private final HttpsServer server;
    private final Map<String, Answer> answers = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();

    public CimdDocumentServer() throws IOException {
        server = HttpsServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(CimdTestTls.serverContext()));
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getRawPath();
            hits.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
            total.incrementAndGet();
            Answer a = answers.getOrDefault(path, new Answer(404, "text/plain", "not found".getBytes(StandardCharsets.UTF_8), Map.of(), 0));
            try {
                if (a.delayMillis() > 0) {
                    Thread.sleep(a.delayMillis());
                }
                exchange.getResponseHeaders().set("Content-Type", a.contentType());
                a.headers().forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
                exchange.sendResponseHeaders(a.status(), a.body().length == 0 ? -1 : a.body().length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(a.body());
                }
            } catch (InterruptedException | IOException e) {
                exchange.close();
            }
        });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code https://localhost:<port><path>}. */
    public String url(String path) {
        return "https://localhost:" + port() + path;
    }

    public void set(String path, Answer answer) {
        answers.put(path, answer);
    }

    /** Requests seen at {@code path}. */
    public int hits(String path) {
        AtomicInteger n = hits.get(path);
        return n == null ? 0 : n.get();
    }

    /** Requests seen at any path. */
    public int total() {
        return total.get();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
