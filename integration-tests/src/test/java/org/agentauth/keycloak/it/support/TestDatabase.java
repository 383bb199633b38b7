package org.agentauth.keycloak.it.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The database the server under test uses: dev mode's embedded H2 (default), or a fresh database on the machine's
 * own PostgreSQL or MariaDB server ({@code -Dagentauth.db=postgres|mariadb}), dropped and created before the server
 * starts so Keycloak's and the extension's Liquibase changelogs run from scratch.
 */
final class TestDatabase {

    private final String kind;

    private TestDatabase(String kind) {
        this.kind = kind;
    }

    static TestDatabase fromSystemProperties() {
        return new TestDatabase(System.getProperty("agentauth.db", "h2"));
    }

    /** Recreates the database if needed and returns the Keycloak options that point the server at it. */
    List<String> prepareAndGetServerArgs(int port) {
        // one database per HTTP port, so test runs on different ports never share (or drop) each other's
        String dbName = "agentauth_it_" + port;
        switch (kind) {
            case "h2":
                return List.of();
            case "postgres":
                return List.of("--db=postgres", freshPostgres(dbName), "--db-username=postgres", "--db-password=unused");
            case "mariadb":
                recreate(System.getProperty("agentauth.mariadbUrl"), "DROP DATABASE IF EXISTS " + dbName,
                        "CREATE DATABASE " + dbName + " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
                return List.of("--db=mariadb", "--db-url=jdbc:mariadb://127.0.0.1:3306/" + dbName,
                        "--db-username=root", "--db-password=");
            default:
                throw new IllegalArgumentException("agentauth.db must be h2, postgres or mariadb, not " + kind);
        }
    }

    /**
     * Drops and creates database {@code dbName} on the machine's PostgreSQL server; returns the {@code --db-url} option
     * for it. (A cluster's nodes share one: see {@link KeycloakCluster}.)
     */
    static String freshPostgres(String dbName) {
        recreate(System.getProperty("agentauth.pgUrl"), "DROP DATABASE IF EXISTS " + dbName + " WITH (FORCE)",
                "CREATE DATABASE " + dbName);
        return "--db-url=jdbc:postgresql://127.0.0.1:5432/" + dbName;
    }

    private static void recreate(String adminUrl, String drop, String create) {
        try (Connection c = DriverManager.getConnection(adminUrl); Statement st = c.createStatement()) {
            st.execute(drop);
            st.execute(create);
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot prepare the test database through " + adminUrl.replaceAll("password=[^&]*", "password=***")
                    + " (is the server running? skip with -Dagentauth.skipDbTests=true): " + e.getMessage(), e);
        }
    }
}
