package org.agentauth.keycloak.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Node.js processes of the MCP end-to-end tests: Node.js 20+ and npm present, {@code npm ci} of a pinned directory, the
 * example MCP server's start-up and stop, a clean environment for children. (As {@code McpClientIT}'s own helpers.)
 */
public final class NodeProcesses {

    private static final Duration NPM_TIMEOUT = Duration.ofMinutes(Long.getLong("agentauth.npmTimeoutMinutes", 10));

    private NodeProcesses() {
    }

    public static void requireNode(String test) throws InterruptedException {
        String node = version("node");
        String npm = version("npm");
        if (node == null || npm == null) {
            fail(test + " needs Node.js 20+ and npm on the PATH (node: " + (node == null ? "missing" : node) + ", npm: "
                    + (npm == null ? "missing" : npm) + "); on Debian: apt-get install nodejs npm");
        }
        int major = Integer.parseInt(node.replaceFirst("^v", "").split("\\.")[0]);
        assertTrue(major >= 20, test + " needs Node.js 20 or newer, found " + node);
    }

    private static String version(String tool) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            String[] lines = v.split("\n");
            return p.waitFor() == 0 ? lines[lines.length - 1].trim() : null;
        } catch (IOException e) {
            return null;
        }
    }

    public static void npmCi(Path dir, Path log) throws IOException, InterruptedException {
        String what = "npm ci in " + dir;
        System.out.println("[node] " + what + " (log: " + log + ")");
        long t0 = System.nanoTime();
        ProcessBuilder pb = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Process p = pb.start();
        if (!p.waitFor(NPM_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail(what + " did not finish within " + NPM_TIMEOUT + "; see " + log);
        }
        assertEquals(0, p.exitValue(), what + " failed:\n" + tail(log, 30));
        System.out.printf("[node] %s: %.1f s%n", what, (System.nanoTime() - t0) / 1e9);
    }

    /** Waits until {@code probe} answers 200 (the MCP server's protected resource metadata). */
    public static void waitForHttp(Process p, URI probe, Path log) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                fail("the process exited with " + p.exitValue() + ":\n" + tail(log, 30));
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
        fail(probe + " did not answer within 60 s:\n" + tail(log, 30));
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

    public static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", new ArrayList<>(all.subList(Math.max(0, all.size() - lines), all.size())));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
