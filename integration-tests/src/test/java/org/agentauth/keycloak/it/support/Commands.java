package org.agentauth.keycloak.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Runs the tools the agent developers' side is tested with (npm, node, python, pip, pytest) as child processes: output
 * to a log file and, prefixed, to the test's output; a time limit that kills the whole process tree; the log's tail in
 * the failure message.
 */
public final class Commands {

    /** A token-shaped string (a JWT's header and payload): never in a log of ours. */
    public static final Pattern JWT = Pattern.compile("eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}");

    private Commands() {
    }

    /** The tool's {@code --version} answer (the last line: npm may print config warnings first), or null when it is missing. */
    public static String version(String... tool) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(List.of(tool)).redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            String[] lines = v.split("\n");
            return p.waitFor() == 0 ? lines[lines.length - 1].trim() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Fails unless Node.js 20+ and npm are on the PATH. */
    public static void requireNode(String who) throws InterruptedException {
        String node = version("node", "--version");
        String npm = version("npm", "--version");
        if (node == null || npm == null) {
            fail(who + " needs Node.js 20+ and npm on the PATH (node: " + (node == null ? "missing" : node) + ", npm: "
                    + (npm == null ? "missing" : npm) + "); on Debian: apt-get install nodejs npm");
        }
        int major = Integer.parseInt(node.replaceFirst("^v", "").split("\\.")[0]);
        if (major < 20) {
            fail(who + " needs Node.js 20 or newer, found " + node);
        }
        System.out.println("[" + who + "] node " + node + ", npm " + npm);
    }

    /**
     * Runs {@code cmd} in {@code dir} and fails the test unless it exits 0 within {@code limit}.
     *
     * @param env variables to set (a null value removes the variable)
     * @param prefix the prefix of its lines in the test output
     * @return the whole output
     */
    public static String run(Path dir, Path log, Duration limit, Map<String, String> env, String prefix, String... cmd)
            throws IOException, InterruptedException {
        int exit = exitCode(dir, log, limit, env, prefix, cmd);
        assertEquals(0, exit, String.join(" ", cmd) + " in " + dir + " failed (exit " + exit + "):\n" + tail(log, 40));
        return Files.readString(log, StandardCharsets.UTF_8);
    }

    /** Like {@link #run}, but returns the exit code instead of failing. */
    public static int exitCode(Path dir, Path log, Duration limit, Map<String, String> env, String prefix, String... cmd)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        env.forEach((k, v) -> {
            if (v == null) {
                pb.environment().remove(k);
            } else {
                pb.environment().put(k, v);
            }
        });
        System.out.println(prefix + " " + String.join(" ", cmd) + " in " + dir + " (log: " + log + ")");
        long t0 = System.nanoTime();
        Process p = pb.start();
        Thread watchdog = new Thread(() -> {
            try {
                if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                    System.out.println(prefix + " timed out after " + limit + ": killing it");
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "command-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                PrintWriter w = new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                w.println(line);
                System.out.println(prefix + " " + line);
            }
        }
        int exit = p.waitFor();
        System.out.printf("%s exited %d after %.1f s%n", prefix, exit, (System.nanoTime() - t0) / 1e9);
        return exit;
    }

    /** Fails when a log holds a token-shaped string. */
    public static void assertNoToken(Path log) throws IOException {
        if (JWT.matcher(Files.readString(log, StandardCharsets.UTF_8)).find()) {
            fail("a token-shaped string in " + log);
        }
    }

    public static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
