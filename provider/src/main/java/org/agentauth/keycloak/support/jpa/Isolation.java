package org.agentauth.keycloak.support.jpa;

import java.sql.Connection;
import org.jboss.logging.Logger;
import org.keycloak.connections.jpa.JpaConnectionProvider;
import org.keycloak.connections.jpa.JpaConnectionProviderFactory;
import org.keycloak.models.KeycloakSession;

/** The database's transaction isolation, as the node-local row caches need to know it. */
public final class Isolation {

    private static final Logger LOG = Logger.getLogger(Isolation.class);

    private Isolation() {
    }

    /**
     * True when the database's transactions read committed data ({@code READ COMMITTED}: PostgreSQL's, H2's, SQL
     * Server's and Oracle's default). The row caches rely on it: a row read after an invalidation is at least as new as
     * the write that caused it. Under {@code REPEATABLE READ} (MySQL's and MariaDB's default) a request's snapshot may be
     * older than its read, so the caches stay off there; {@code what} names the cache in the log line that says so.
     */
    public static boolean readCommitted(KeycloakSession session, String what) {
        try {
            JpaConnectionProviderFactory jpa = (JpaConnectionProviderFactory) session.getKeycloakSessionFactory()
                    .getProviderFactory(JpaConnectionProvider.class);
            try (Connection c = jpa.getConnection()) {
                int level = c.getTransactionIsolation();
                if (level == Connection.TRANSACTION_READ_COMMITTED) {
                    return true;
                }
                LOG.infof("%s off: the database's transaction isolation is %d, not read committed", what, level);
                return false;
            }
        } catch (Exception | LinkageError e) {
            LOG.infof("%s off: transaction isolation unknown (%s)", what, e.toString());
            return false;
        }
    }
}
