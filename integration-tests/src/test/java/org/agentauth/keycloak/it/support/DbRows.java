package org.agentauth.keycloak.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Raw rows of the server's database, read with SQL beside the server: PostgreSQL and MariaDB through JDBC on the test
 * database; dev mode's H2 from a copy of its file (the running server holds the file's lock).
 */
public final class DbRows {

    private final KeycloakServer server;

    public DbRows(KeycloakServer server) {
        this.server = server;
    }

    public String kind() {
        return TestDatabase.kind();
    }

    public List<Map<String, String>> query(String sql) {
        try (Connection c = connect()) {
            return rows(c, sql);
        } catch (SQLException e) {
            throw new IllegalStateException("SQL on the " + kind() + " database failed: " + e.getMessage(), e);
        }
    }

    /** The rows {@code sql} selects, column labels upper-cased. */
    private static List<Map<String, String>> rows(Connection c, String sql) throws SQLException {
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            List<Map<String, String>> rows = new ArrayList<>();
            while (rs.next()) {
                Map<String, String> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    row.put(md.getColumnLabel(i).toUpperCase(), rs.getString(i));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    /** A write beside the server (PostgreSQL and MariaDB only: H2 is read from a copy). */
    public int update(String sql) {
        if (kind().equals("h2")) {
            throw new IllegalStateException("the running server holds H2's file: no writes beside it");
        }
        try (Connection c = connect()) {
            return c.createStatement().executeUpdate(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("SQL on the " + kind() + " database failed: " + e.getMessage(), e);
        }
    }

    /**
     * A write beside a stopped server, on any database: for H2 on its file itself (use it only inside
     * {@link KeycloakServer#restart(List, List, Runnable)}'s {@code whileStopped}).
     */
    public int updateWhileStopped(String sql) {
        try (Connection c = kind().equals("h2") ? h2File() : connect()) {
            return c.createStatement().executeUpdate(sql);
        } catch (SQLException e) {
            throw new IllegalStateException("SQL on the " + kind() + " database failed: " + e.getMessage(), e);
        }
    }

    /** Dev mode's H2 file itself: only while the server is stopped (it holds the file's lock while it runs). */
    private Connection h2File() throws SQLException {
        return DriverManager.getConnection("jdbc:h2:file:" + server.home().resolve("data/h2/keycloakdb") + ";NON_KEYWORDS=VALUE", "", "");
    }

    /** A read beside a stopped server (see {@link #updateWhileStopped}). */
    public List<Map<String, String>> queryWhileStopped(String sql) {
        if (!kind().equals("h2")) {
            return query(sql);
        }
        try (Connection c = h2File()) {
            return rows(c, sql);
        } catch (SQLException e) {
            throw new IllegalStateException("SQL on the " + kind() + " database failed: " + e.getMessage(), e);
        }
    }

    private Connection connect() throws SQLException {
        if (kind().equals("h2")) {
            return h2Copy();
        }
        int port = Integer.parseInt(server.baseUrl().substring(server.baseUrl().lastIndexOf(':') + 1));
        return DriverManager.getConnection(TestDatabase.server().jdbcUrl(TestDatabase.databaseName(port)));
    }

    /** H2 writes committed changes to its file within about a second; then a copy of the file is consistent. */
    private Connection h2Copy() throws SQLException {
        try {
            Thread.sleep(2500);
            Path dir = Files.createTempDirectory("agentauth-h2-");
            Files.copy(server.home().resolve("data/h2/keycloakdb.mv.db"), dir.resolve("copy.mv.db"), StandardCopyOption.REPLACE_EXISTING);
            return DriverManager.getConnection("jdbc:h2:file:" + dir.resolve("copy") + ";NON_KEYWORDS=VALUE", "", "");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
