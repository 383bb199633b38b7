package org.agentauth.keycloak.it.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * Stored grants and connections of other users, written with SQL beside the running server (PostgreSQL or MariaDB;
 * dev mode's H2 file is locked by the server). The rows are what the extension itself stores for a user who consented
 * to calendar-agent via agent-host and linked a Demo Calendar account, except that their users do not exist and their
 * ciphertext is a placeholder (no request of the benchmark ever reads another user's row; the point is the size of the
 * tables the lookups run against). Filler rows are recognisable: ORIGIN / LABEL {@code bench-filler}.
 */
final class Fillers {

    private final String jdbcUrl;

    Fillers(String jdbcUrl) {
        this.jdbcUrl = jdbcUrl;
    }

    record Counts(long grants, long connections) {
    }

    Counts counts() throws SQLException {
        try (Connection c = DriverManager.getConnection(jdbcUrl); Statement st = c.createStatement()) {
            return new Counts(count(st, "AGENT_AUTH_DELEGATION_GRANT"), count(st, "AGENT_AUTH_CONNECTION"));
        }
    }

    private static long count(Statement st, String table) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Adds filler rows until each table holds {@code total} rows, or deletes filler rows down to it (a level after a
     * larger one: the scaling run goes small, large, small); then VACUUM ANALYZE (PostgreSQL) or ANALYZE (MariaDB), as
     * autovacuum would soon.
     */
    Counts fillTo(long total, String realmName) throws SQLException {
        Counts before = counts();
        if (before.grants() > total || before.connections() > total) {
            return shrinkTo(total);
        }
        try (Connection c = DriverManager.getConnection(jdbcUrl)) {
            c.setAutoCommit(false);
            String realmId = one(c, "SELECT ID FROM REALM WHERE NAME = ?", realmName);
            String agent = one(c, "SELECT ID FROM CLIENT WHERE REALM_ID = ? AND CLIENT_ID = 'calendar-agent'", realmId);
            String host = one(c, "SELECT ID FROM CLIENT WHERE REALM_ID = ? AND CLIENT_ID = 'agent-host'", realmId);
            String connector;
            try (PreparedStatement ps = c.prepareStatement("SELECT CONNECTOR_ID FROM AGENT_AUTH_CONNECTION WHERE REALM_ID = ?")) {
                ps.setString(1, realmId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new IllegalStateException("no connection stored yet: connect an account first");
                    }
                    connector = rs.getString(1);
                }
            }
            Counts now;
            try (Statement st = c.createStatement()) {
                now = new Counts(count(st, "AGENT_AUTH_DELEGATION_GRANT"), count(st, "AGENT_AUTH_CONNECTION"));
            }
            long t = System.currentTimeMillis();
            try (PreparedStatement g = c.prepareStatement("INSERT INTO AGENT_AUTH_DELEGATION_GRANT (ID, REALM_ID, USER_ID, "
                    + "AGENT_CLIENT_ID, HOST_CLIENT_ID, SCOPE, CONNECTORS, DOWNSTREAM_AGENTS, CREATED_AT, UPDATED_AT, EXPIRES_AT, "
                    + "LAST_USED_AT, ORIGIN, VERSION) VALUES (?, ?, ?, ?, ?, 'openid profile email', 'demo-calendar', NULL, ?, ?, ?, NULL, 'bench-filler', 0)")) {
                for (long i = now.grants(); i < total; i++) {
                    g.setString(1, UUID.randomUUID().toString());
                    g.setString(2, realmId);
                    g.setString(3, UUID.randomUUID().toString());
                    g.setString(4, agent);
                    g.setString(5, host);
                    g.setLong(6, t);
                    g.setLong(7, t);
                    g.setLong(8, t + 30L * 24 * 3600 * 1000);
                    g.addBatch();
                    if (i % 1000 == 999) {
                        g.executeBatch();
                    }
                }
                g.executeBatch();
            }
            try (PreparedStatement k = c.prepareStatement("INSERT INTO AGENT_AUTH_CONNECTION (ID, REALM_ID, USER_ID, CONNECTOR_ID, "
                    + "SUBJECT, LABEL, SCOPE, STATUS, KEY_ID, TOKENS, REFRESHABLE, ACCESS_EXPIRES_AT, REFRESH_EXPIRES_AT, LEASE_UNTIL, "
                    + "CREATED_AT, UPDATED_AT, LAST_USED_AT, VERSION) VALUES (?, ?, ?, ?, ?, 'bench-filler', 'openid', 'ACTIVE', 'filler', "
                    + "'placeholder', TRUE, ?, NULL, NULL, ?, ?, NULL, 0)")) {
                for (long i = now.connections(); i < total; i++) {
                    k.setString(1, UUID.randomUUID().toString());
                    k.setString(2, realmId);
                    k.setString(3, UUID.randomUUID().toString());
                    k.setString(4, connector);
                    k.setString(5, UUID.randomUUID().toString());
                    k.setLong(6, t + 3600_000);
                    k.setLong(7, t);
                    k.setLong(8, t);
                    k.addBatch();
                    if (i % 1000 == 999) {
                        k.executeBatch();
                    }
                }
                k.executeBatch();
            }
            c.commit();
            c.setAutoCommit(true);
            if (jdbcUrl.startsWith("jdbc:postgresql:")) {
                try (Statement st = c.createStatement()) {
                    st.execute("ANALYZE AGENT_AUTH_DELEGATION_GRANT");
                    st.execute("ANALYZE AGENT_AUTH_CONNECTION");
                }
            }
        }
        return counts();
    }

    private Counts shrinkTo(long total) throws SQLException {
        boolean pg = jdbcUrl.startsWith("jdbc:postgresql:");
        try (Connection c = DriverManager.getConnection(jdbcUrl); Statement st = c.createStatement()) {
            for (String[] t : new String[][] {{"AGENT_AUTH_DELEGATION_GRANT", "ORIGIN"}, {"AGENT_AUTH_CONNECTION", "LABEL"}}) {
                long extra = count(st, t[0]) - total;
                if (extra > 0) {
                    st.executeUpdate(pg
                            ? "DELETE FROM " + t[0] + " WHERE ID IN (SELECT ID FROM " + t[0] + " WHERE " + t[1] + " = 'bench-filler' LIMIT " + extra + ")"
                            : "DELETE FROM " + t[0] + " WHERE " + t[1] + " = 'bench-filler' LIMIT " + extra);
                }
                st.execute((pg ? "VACUUM ANALYZE " : "ANALYZE TABLE ") + t[0]);
            }
        }
        return counts();
    }

    private static String one(Connection c, String sql, String param) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, param);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException("no row for " + sql + " / " + param);
                }
                return rs.getString(1);
            }
        }
    }
}
