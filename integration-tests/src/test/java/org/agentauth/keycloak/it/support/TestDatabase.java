package org.agentauth.keycloak.it.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The database the server under test uses: dev mode's embedded H2 (default), or a fresh database on this run's
 * PostgreSQL or MariaDB server ({@code -Dagentauth.db=postgres|mariadb}; see {@link DatabaseServers}), dropped and
 * created before the server starts so Keycloak's and the extension's Liquibase changelogs run from scratch.
 */
public final class TestDatabase {

    private TestDatabase() {
    }

    /** {@code h2}, {@code postgres} or {@code mariadb}. */
    public static String kind() {
        return System.getProperty("agentauth.db", "h2");
    }

    /** The name of the database of the server on HTTP port {@code port}: one per port, so runs never share one. */
    public static String databaseName(int port) {
        return "agentauth_it_" + port;
    }

    /** The server of this run's database kind (PostgreSQL or MariaDB). */
    public static DatabaseServers.Server server() {
        switch (kind()) {
            case "postgres":
                return DatabaseServers.postgres();
            case "mariadb":
                return DatabaseServers.mariadb();
            default:
                throw new IllegalStateException("no database server beside the H2 run (-Dagentauth.db=" + kind() + ")");
        }
    }

    /** Recreates the database if needed and returns the Keycloak options that point the server at it. */
    static List<String> prepareAndGetServerArgs(int port) {
        String dbName = databaseName(port);
        switch (kind()) {
            case "h2":
                return List.of();
            case "postgres":
                return freshPostgres(dbName);
            case "mariadb": {
                DatabaseServers.Server s = DatabaseServers.mariadb();
                recreate(s, "DROP DATABASE IF EXISTS " + dbName,
                        "CREATE DATABASE " + dbName + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
                return serverArgs(s, dbName);
            }
            default:
                throw new IllegalArgumentException("agentauth.db must be h2, postgres or mariadb, not " + kind());
        }
    }

    /**
     * Drops and creates database {@code dbName} on this run's PostgreSQL server; returns the Keycloak options for it. (A
     * cluster's nodes share one: see {@link KeycloakCluster}.)
     */
    static List<String> freshPostgres(String dbName) {
        DatabaseServers.Server s = DatabaseServers.postgres();
        recreate(s, "DROP DATABASE IF EXISTS " + dbName + " WITH (FORCE)", "CREATE DATABASE " + dbName);
        return serverArgs(s, dbName);
    }

    private static List<String> serverArgs(DatabaseServers.Server s, String dbName) {
        return List.of("--db=" + s.kind(), "--db-url=" + s.databaseUrl(dbName), "--db-username=" + s.user(),
                // PostgreSQL's trust authentication ignores a password; MariaDB's root may have an empty one
                "--db-password=" + (s.password().isEmpty() && s.kind().equals("postgres") ? "unused" : s.password()));
    }

    private static void recreate(DatabaseServers.Server s, String drop, String create) {
        try (Connection c = DriverManager.getConnection(s.adminUrl()); Statement st = c.createStatement()) {
            st.execute(drop);
            st.execute(create);
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot prepare the test database on " + s.kind() + " at " + s.host() + ":" + s.port()
                    + ": " + e.getMessage(), e);
        }
    }
}
