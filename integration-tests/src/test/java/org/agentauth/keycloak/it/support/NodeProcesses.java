package org.agentauth.keycloak.it.support;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Node.js processes of the MCP end-to-end tests: {@code npm ci} of a pinned directory, the
 * example MCP server's start-up and stop, a clean environment for children, for McpClientIT and CimdIT (the generic
 * process runner is {@link Commands}).
 */
public final class NodeProcesses {

    private static final Duration NPM_TIMEOUT = Duration.ofMinutes(Long.getLong("agentauth.npmTimeoutMinutes", 10));

    private NodeProcesses() {
    }

    public static void npmCi(Path dir, Path log) throws IOException, InterruptedException {
        Commands.run(dir, log, NPM_TIMEOUT, Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"), "[node]", "npm", "ci", "--no-audit", "--no-fund");
    }

    /** Waits until {@code probe} answers 200 (the MCP server's protected resource metadata). */
    public static void waitForHttp(Process p, URI probe, Path log) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                fail("the process exited with " + p.exitValue() + ":\n" + Commands.tail(log, 30));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(probe).timeout(Duration.ofSeconds(5)).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(300);
        }
        fail(probe + " did not answer within 60 s:\n" + Commands.tail(log, 30));
    }

    public static void stop(Process p) throws InterruptedException {
        if (!p.isAlive()) {
            return;
        }
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    public static void assertPortFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", port));
        } catch (IOException e) {
            fail("Port " + port + " is in use on 127.0.0.1");
        }
    }

    /** Child processes get their configuration from the test only, never from overrides left in the shell. */
    public static void clearOverrides(Map<String, String> env) {
        for (String k : List.of("SCOPES_SUPPORTED", "AUDIENCE_MODE", "CLIENT_ID", "CLIENT_SECRET", "HOST", "MCP_CLIENT_ID", "OTHER_RESOURCE",
                "UNKNOWN_RESOURCE", "AGENT", "AGENT_NAME", "E2E_USERNAME", "E2E_PASSWORD", "CONNECTOR", "UPSTREAM_PROFILE_PATH",
                "UPSTREAM_TIMEOUT_MS", "UPSTREAM_REALM", "UPSTREAM_USERNAME", "UPSTREAM_PASSWORD", "MAX_SESSIONS", "SESSION_IDLE_MINUTES",
                "CLIENT_METADATA_URL", "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS")) {
            env.remove(k);
        }
    }
}
