package org.agentauth.keycloak.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Keycloak distribution (unpacked from {@code org.keycloak:keycloak-quarkus-dist} by Maven) started in dev
 * mode with the provider JAR in {@code providers/} and the demo realms of {@code realm-exports/} imported. One
 * server per test JVM: see {@link KeycloakServerExtension}.
 */
public final class KeycloakServer implements AutoCloseable {

    public static final String ADMIN_USER = "admin";
    public static final String ADMIN_PASSWORD = "admin";

    private final Path home;
    private final int port;
    private final Path log;
    /** Set for a server someone else started ({@link #external}): never started or stopped here. */
    private String externalBaseUrl;
    private Process process;
    /** The command of the first start, for {@link #restart}. */
    private List<String> command;
    /** Extra environment variables of every start. */
    private Map<String, String> environment = Map.of();

    KeycloakServer(Path home, int port, Path log) {
        this.home = home;
        this.port = port;
        this.log = log;
    }

    /** Creates the server from the system properties failsafe passes (see integration-tests/pom.xml). */
    public static KeycloakServer fromSystemProperties() {
        Path home = Path.of(required("keycloak.home"));
        int port = Integer.parseInt(System.getProperty("keycloak.port", "8080"));
        Path log = Path.of(required("agentauth.targetDir")).resolve(System.getProperty("agentauth.logName", "keycloak-server.log"));
        return new KeycloakServer(home, port, log);
    }

    /**
     * A server that is already running at {@code baseUrl} (e.g. {@code ./run-demo.sh}, for the benchmark's
     * {@code -Dbench.baseUrl=}): this object only names its URLs; {@link #close} leaves it running.
     */
    public static KeycloakServer external(String baseUrl) {
        String url = baseUrl.replaceAll("/+$", "");
        KeycloakServer s = new KeycloakServer(Path.of(System.getProperty("keycloak.home", ".")), URI.create(url).getPort(),
                Path.of(System.getProperty("agentauth.targetDir", "target")).resolve("external-server.log"));
        s.externalBaseUrl = url;
        return s;
    }

    public boolean isExternal() {
        return externalBaseUrl != null;
    }

    public String baseUrl() {
        return externalBaseUrl != null ? externalBaseUrl : "http://localhost:" + port;
    }

    public String realmUrl(String realm) {
        return baseUrl() + "/realms/" + realm;
    }

    public Path home() {
        return home;
    }

    public Path logFile() {
        return log;
    }

    /** The server's log so far, as text. */
    public String logText() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public synchronized void start() throws IOException, InterruptedException {
        if (externalBaseUrl != null) {
            throw new IllegalStateException("an external server is not started here");
        }
        if (!Files.isDirectory(home.resolve("bin"))) {
            throw new IllegalStateException("No Keycloak distribution at " + home + " (run through ./run-tests.sh or mvn verify)");
        }
        assertPortFree(port);
        int managementPort = freePort();

        // Fresh H2 database and import directory on every run, so Liquibase and the realm import run from scratch.
        deleteTree(home.resolve("data"));
        writeRealmImports(home, baseUrl());
        Path jar = installProvider(home);

        List<String> cmd = new ArrayList<>();
        cmd.add(home.resolve("bin").resolve("kc.sh").toString());
        cmd.add("start-dev");
        cmd.add("--http-port=" + port);
        cmd.add("--http-management-port=" + managementPort);
        cmd.add("--import-realm");
        // the demo connector's upstream is this server itself (realm upstream-saas on localhost); github.com and
        // api.github.com because ConnectorAdminPageIT saves a connector from the GitHub preset and the admin API refuses
        // a host that does not resolve, while test machines may have no DNS (an allow-listed host is not resolved)
        cmd.add(ALLOWED_HOSTS);
        // CimdIT's HTTPS document server: the test CA, localhost allowed for documents, and a hosts file with names that
        // resolve to internal addresses (the server's own resolver otherwise: /etc/hosts, no DNS on test machines)
        cmd.addAll(CimdTestTls.serverArgs());
        javaOptsExtra = CimdTestTls.hostsFileOption();
        cmd.addAll(TestDatabase.prepareAndGetServerArgs(port));
        cmd.addAll(extraArgs());
        long t0 = System.nanoTime();
        launch(cmd, Map.of());
        System.out.printf("[keycloak] %s up on %s in %.1f s with provider %s, database %s%n",
                distributionVersion(), baseUrl(), (System.nanoTime() - t0) / 1e9, jar.getFileName(),
                TestDatabase.kind());
    }

    /** The vault's allow-list: see {@link #start}. */
    static final String ALLOWED_HOSTS = "--spi-agent-auth-vault--default--allowed-hosts=localhost,github.com,api.github.com";

    /**
     * Writes the demo realms of {@code realm-exports/} into {@code home}'s import directory, with the demo's
     * {@code http://localhost:8080} (connector URLs, upstream redirect URIs) replaced by {@code baseUrl}.
     */
    static void writeRealmImports(Path home, String baseUrl) throws IOException {
        Path importDir = Files.createDirectories(home.resolve("data").resolve("import"));
        try (Stream<Path> realms = Files.list(Path.of(required("agentauth.realmExports")))) {
            for (Path realm : realms.filter(p -> p.toString().endsWith(".json")).toList()) {
                String json = Files.readString(realm, StandardCharsets.UTF_8).replace("http://localhost:8080", baseUrl);
                Files.writeString(importDir.resolve(realm.getFileName()), json, StandardCharsets.UTF_8);
            }
        }
        // the tests' own realm: a connector the host policy refuses, which the start-up import keeps disabled (ConnectorOriginIT)
        try (java.io.InputStream in = KeycloakServer.class.getResourceAsStream("/realm-imports/it-import-policy.json")) {
            if (in != null) {
                Files.write(importDir.resolve("it-import-policy.json"), in.readAllBytes());
            }
        }
    }

    /** Puts exactly one copy of the provider JAR, the one this build produced, into {@code home}'s providers; returns it. */
    static Path installProvider(Path home) throws IOException {
        Path providers = Files.createDirectories(home.resolve("providers"));
        try (Stream<Path> old = Files.list(providers)) {
            for (Path p : old.filter(p -> p.getFileName().toString().startsWith("keycloak-agent-auth")).toList()) {
                Files.delete(p);
            }
        }
        Path jar = Path.of(required("agentauth.providerJar"));
        Files.copy(jar, providers.resolve(jar.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        return jar;
    }

    /**
     * Starts the server with a command of the caller's (e.g. a cluster node's {@code kc.sh start --optimized ...}) and
     * extra environment variables, and waits until the demo realm answers; the log goes to this server's log file.
     */
    void launch(List<String> cmd, Map<String, String> env) throws IOException, InterruptedException {
        assertPortFree(port);
        command = List.copyOf(cmd);
        environment = Map.copyOf(env);
        launch(cmd, false);
    }

    /**
     * Stops the server and starts it again on the same data (database, realms, provider), with the first start's options
     * except that every option starting with one of {@code replacedPrefixes} is dropped and {@code extra} added. The log
     * continues in the same file.
     */
    public synchronized void restart(List<String> replacedPrefixes, List<String> extra) throws IOException, InterruptedException {
        restart(replacedPrefixes, extra, null);
    }

    /** {@link #restart(List, List)}, running {@code whileStopped} (e.g. a write to dev mode's H2 file) before starting again. */
    public synchronized void restart(List<String> replacedPrefixes, List<String> extra, Runnable whileStopped)
            throws IOException, InterruptedException {
        stopQuietly();
        if (whileStopped != null) {
            whileStopped.run();
        }
        List<String> cmd = new ArrayList<>();
        for (String c : command) {
            if (c.equals("--import-realm") || replacedPrefixes.stream().anyMatch(c::startsWith)) {
                continue;
            }
            cmd.add(c.startsWith("--http-management-port=") ? "--http-management-port=" + freePort() : c);
        }
        cmd.addAll(extra);
        assertPortFree(port);
        long t0 = System.nanoTime();
        launch(cmd, true);
        System.out.printf("[keycloak] restarted on %s in %.1f s%n", baseUrl(), (System.nanoTime() - t0) / 1e9);
    }

    private void launch(List<String> cmd, boolean appendLog) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(home.toFile())
                .redirectErrorStream(true)
                .redirectOutput(appendLog ? ProcessBuilder.Redirect.appendTo(log.toFile()) : ProcessBuilder.Redirect.to(log.toFile()));
        pb.environment().put("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN_USER);
        pb.environment().put("KC_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD);
        pb.environment().putAll(environment);
        // extra JVM options of the server, e.g. a JFR recording for the benchmark: -Dkeycloak.javaOpts="-XX:StartFlightRecording=..."
        String javaOpts = (System.getProperty("keycloak.javaOpts", "") + " " + javaOptsExtra).trim();
        if (!javaOpts.isEmpty()) {
            pb.environment().put("JAVA_OPTS_APPEND", javaOpts);
        }
        System.out.println("[keycloak] starting " + String.join(" ", cmd).replaceAll("(keys|db-password)=\\S+", "$1=***") + " (log: " + log + ")");
        process = pb.start();
        if (!hookAdded) {
            Runtime.getRuntime().addShutdownHook(new Thread(this::stopQuietly));
            hookAdded = true;
        }
        waitUntilReady(Duration.ofSeconds(Long.getLong("keycloak.startTimeoutSeconds", 600)));
    }

    private boolean hookAdded;

    /** JVM options of this server's own starts ({@link #start}) besides {@code keycloak.javaOpts}. */
    private String javaOptsExtra = "";

    /** Extra server options, space separated, from {@code -Dkeycloak.extraArgs=...}. */
    private static List<String> extraArgs() {
        String extra = System.getProperty("keycloak.extraArgs", "").trim();
        return extra.isEmpty() ? List.of() : List.of(extra.split("\\s+"));
    }

    public String distributionVersion() {
        try {
            return Files.readString(home.resolve("version.txt")).trim();
        } catch (IOException e) {
            return "Keycloak (unknown version)";
        }
    }

    private void waitUntilReady(Duration timeout) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        URI probe = URI.create(realmUrl("agents-demo") + "/.well-known/openid-configuration");
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("Keycloak exited with " + process.exitValue() + ":\n" + tail(60));
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(probe).timeout(Duration.ofSeconds(5)).GET().build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("Keycloak not ready after " + timeout + ":\n" + tail(60));
    }

    /** The last lines of the server log, for failure messages. */
    public String tail(int lines) {
        String[] all = logText().split("\n");
        StringBuilder sb = new StringBuilder();
        for (int i = Math.max(0, all.length - lines); i < all.length; i++) {
            sb.append(all[i]).append('\n');
        }
        return sb.toString();
    }

    void stopQuietly() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        p.descendants().forEach(ProcessHandle::destroy);
        p.destroy();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stopQuietly();
        System.out.println("[keycloak] stopped");
    }

    static void assertPortFree(int port) {
        try (ServerSocket s = new ServerSocket(port)) {
            s.setReuseAddress(true);
        } catch (IOException e) {
            throw new IllegalStateException("Port " + port + " is in use: stop whatever listens there (a running demo?) "
                    + "or pass -Dkeycloak.port=<free port>", e);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    static String required(String name) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("System property " + name + " is not set (run the tests through ./run-tests.sh or mvn verify)");
        }
        return v;
    }
}
