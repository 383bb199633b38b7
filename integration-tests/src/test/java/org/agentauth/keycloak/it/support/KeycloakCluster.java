package org.agentauth.keycloak.it.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Two Keycloak nodes clustered the way Keycloak clusters in production, on one machine and without Docker: one
 * optimized build ({@code kc.sh build --db=postgres --cache=ispn}, the provider JAR in {@code providers/}), then two
 * {@code kc.sh start --optimized} processes sharing one fresh PostgreSQL database, their embedded Infinispan finding
 * each other through the {@code jdbc-ping} stack (the default of {@code --cache=ispn}: the members' addresses are
 * rows in that database) on 127.0.0.1 with a JGroups port each.
 * <p>
 * Both nodes have the same {@code --hostname}, node A's URL, as nodes behind one load balancer have the public URL:
 * so both issue tokens with the same {@code iss} and accept each other's, and pages and redirects name that URL
 * whichever node rendered them. Tests reach node B directly on its own port ({@link #b()}), the way a load balancer
 * would route a request there. Only node A imports the demo realms (their {@code http://localhost:8080} rewritten to
 * node A's URL); node B starts on the imported database.
 * <p>
 * Each node is a copy of the unpacked distribution under {@code target/cluster/} (the shared
 * {@code target/keycloak-<version>} stays as the dev-mode runs expect it), with its own data directory and log file.
 */
public final class KeycloakCluster implements AutoCloseable {

    /** The vault's key in production mode (no development fallback key outside start-dev); test-only material. */
    static final String VAULT_KEYS = "--spi-agent-auth-vault--default--keys=k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    private static final Pattern VIEW = Pattern.compile("ISPN000094: Received new cluster view for channel \\S+: \\[[^]]*] \\((\\d+)\\) \\[([^]]*)]");

    private final Path template;
    private final Path target;
    private final int portA;
    private final int portB;
    private KeycloakServer a;
    private KeycloakServer b;

    private KeycloakCluster(Path template, Path target, int portA, int portB) {
        this.template = template;
        this.target = target;
        this.portA = portA;
        this.portB = portB;
    }

    /** Node A on {@code keycloak.port}, node B on {@code agentauth.cluster.portB} (default: the next port). */
    public static KeycloakCluster fromSystemProperties() {
        int portA = Integer.parseInt(System.getProperty("keycloak.port", "8080"));
        int portB = Integer.parseInt(System.getProperty("agentauth.cluster.portB", String.valueOf(portA + 1)));
        return new KeycloakCluster(Path.of(KeycloakServer.required("keycloak.home")),
                Path.of(KeycloakServer.required("agentauth.targetDir")), portA, portB);
    }

    /** Node A: imported the realms; its URL is the cluster's public URL (every token's issuer). */
    public KeycloakServer a() {
        return a;
    }

    /** Node B, reached directly on its own port. */
    public KeycloakServer b() {
        return b;
    }

    public synchronized void start() throws IOException, InterruptedException {
        if (!Files.isDirectory(template.resolve("bin"))) {
            throw new IllegalStateException("No Keycloak distribution at " + template + " (run through ./run-tests.sh or mvn verify)");
        }
        KeycloakServer.assertPortFree(portA);
        KeycloakServer.assertPortFree(portB);
        String publicUrl = "http://localhost:" + portA;
        Path root = target.resolve("cluster");
        Path homeA = root.resolve("node-a");
        Path homeB = root.resolve("node-b");
        KeycloakServer.deleteTree(root);
        long t0 = System.nanoTime();

        // the optimized build, once: node B is a copy of the built node A
        copyDistribution(template, homeA);
        Path jar = KeycloakServer.installProvider(homeA);
        build(homeA, target.resolve("keycloak-cluster-build.log"));
        copyDistribution(homeA, homeB);
        KeycloakServer.writeRealmImports(homeA, publicUrl);
        long built = System.nanoTime();

        List<String> db = TestDatabase.freshPostgres("agentauth_it_cluster_" + portA);
        a = new KeycloakServer(homeA, portA, target.resolve("keycloak-cluster-node-a.log"));
        b = new KeycloakServer(homeB, portB, target.resolve("keycloak-cluster-node-b.log"));
        // one after the other: node A creates the schema, the master realm and its admin, and imports the demo realms
        a.launch(command(homeA, "node-a", portA, publicUrl, db, true), Map.of());
        long upA = System.nanoTime();
        b.launch(command(homeB, "node-b", portB, publicUrl, db, false), Map.of());
        long upB = System.nanoTime();
        System.out.printf("[cluster] %s with provider %s: built in %.1f s, node A up on %s in %.1f s, node B on %s in %.1f s%n",
                a.distributionVersion(), jar.getFileName(), (built - t0) / 1e9, a.baseUrl(), (upA - built) / 1e9,
                b.baseUrl(), (upB - upA) / 1e9);
    }

    private static List<String> command(Path home, String name, int port, String publicUrl, List<String> db, boolean importRealms)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(home.resolve("bin").resolve("kc.sh").toString());
        cmd.add("start");
        cmd.add("--optimized");
        cmd.add("--http-enabled=true");
        cmd.add("--http-port=" + port);
        cmd.add("--http-management-port=" + KeycloakServer.freePort());
        cmd.add("--hostname=" + publicUrl);
        // --db=postgres is a build option, already in the optimized build
        db.stream().filter(o -> !o.startsWith("--db=")).forEach(cmd::add);
        cmd.add("--cache-stack=jdbc-ping");
        cmd.add("--cache-embedded-network-bind-address=127.0.0.1");
        cmd.add("--cache-embedded-network-bind-port=" + KeycloakServer.freePort());
        cmd.add("--spi-cache-embedded--default--node-name=" + name);
        cmd.add(KeycloakServer.ALLOWED_HOSTS);
        cmd.add(VAULT_KEYS);
        if (importRealms) {
            cmd.add("--import-realm");
        }
        return cmd;
    }

    private static void build(Path home, Path log) throws IOException, InterruptedException {
        List<String> cmd = List.of(home.resolve("bin").resolve("kc.sh").toString(), "build", "--db=postgres", "--cache=ispn");
        System.out.println("[cluster] " + String.join(" ", cmd) + " (log: " + log + ")");
        Process p = new ProcessBuilder(cmd).directory(home.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(Long.getLong("keycloak.startTimeoutSeconds", 600), TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new IllegalStateException("kc.sh build did not finish; see " + log);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("kc.sh build failed with " + p.exitValue() + ":\n" + Files.readString(log));
        }
    }

    /** Copies a distribution, without its data directory (database files, imports, transaction logs). */
    private static void copyDistribution(Path from, Path to) throws IOException {
        Path data = from.resolve("data");
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.filter(p -> !p.startsWith(data)).toList()) {
                Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(p, dest, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    /** The members of the newest cluster view a node's log reports (empty before the first). */
    public static List<String> lastView(KeycloakServer node) {
        Matcher m = VIEW.matcher(node.logText());
        List<String> members = List.of();
        while (m.find()) {
            members = Stream.of(m.group(2).split(",")).map(s -> s.trim().replaceAll("\\(.*\\)$", "")).toList();
        }
        return members;
    }

    @Override
    public void close() {
        for (KeycloakServer node : new KeycloakServer[] {b, a}) {
            if (node != null) {
                node.stopQuietly();
            }
        }
        System.out.println("[cluster] stopped");
    }
}
