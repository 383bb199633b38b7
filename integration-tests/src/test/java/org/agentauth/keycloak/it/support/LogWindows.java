package org.agentauth.keycloak.it.support;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Stretches of the server log where a test caused ERROR lines on purpose (e.g. FaultsIT's database outage, where
 * Keycloak's connection pool logs its failures). {@code ServerLogIT} runs in the same JVM and leaves the lines of a
 * closed window out of its check, after printing how many it skipped and why.
 */
public final class LogWindows {

    private static final List<Window> CLOSED = new CopyOnWriteArrayList<>();

    private LogWindows() {
    }

    public static Window open(KeycloakServer server, String reason) {
        return new Window(server, reason, lines(server));
    }

    /** True when line {@code index} (0-based) of the log lies in a closed window. */
    public static boolean expected(int index) {
        return CLOSED.stream().anyMatch(w -> index >= w.from && index < w.to);
    }

    public static List<Window> closed() {
        return List.copyOf(CLOSED);
    }

    private static int lines(KeycloakServer server) {
        return (int) server.logText().lines().count();
    }

    public static final class Window {
        private final KeycloakServer server;
        public final String reason;
        final int from;
        int to = Integer.MAX_VALUE;

        Window(KeycloakServer server, String reason, int from) {
            this.server = server;
            this.reason = reason;
            this.from = from;
        }

        public void close() {
            to = lines(server);
            CLOSED.add(this);
        }

        public long errorLines() {
            List<String> all = server.logText().lines().toList();
            return all.subList(from, Math.min(to, all.size())).stream().filter(l -> l.contains(" ERROR ")).count();
        }

        @Override
        public String toString() {
            return reason + " (log lines " + (from + 1) + "-" + to + ")";
        }
    }
}
