package org.agentauth.keycloak.delegation.jpa;

import com.google.auto.service.AutoService;
import java.sql.Connection;
import java.util.concurrent.ConcurrentHashMap;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.delegation.DelegationGrantProviderFactory;
import org.jboss.logging.Logger;
import org.keycloak.Config;
import org.keycloak.cluster.ClusterProvider;
import org.keycloak.connections.jpa.JpaConnectionProvider;
import org.keycloak.connections.jpa.JpaConnectionProviderFactory;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;

/**
 * The JPA storage of delegation grants. Owns the removal listeners: grants go with their user, their clients and their
 * realm, whatever storage the user lives in (LDAP users too).
 */
@AutoService(DelegationGrantProviderFactory.class)
public class JpaDelegationGrantProviderFactory implements DelegationGrantProviderFactory {

    private static final Logger LOG = Logger.getLogger(JpaDelegationGrantProviderFactory.class);

    public static final String PROVIDER_ID = "jpa";

    /** The last-used time of a grant is recorded at most this often. */
    static final long TOUCH_INTERVAL_MILLIS = 60_000;

    /** Past this many entries, the notes older than the interval are dropped. */
    private static final int MAX_TOUCH_NOTES = 10_000;

    /** Grant id to the time this node last recorded (or is recording) its use. */
    private final ConcurrentHashMap<String, Long> touched = new ConcurrentHashMap<>();

    /** How long a grant row read from the database may be served from this node's memory (ms); 0 = no cache. */
    static final long DEFAULT_CACHE_TTL_MILLIS = 30_000;

    static final int DEFAULT_CACHE_MAX_ENTRIES = 100_000;

    private GrantCache cache = new GrantCache(DEFAULT_CACHE_TTL_MILLIS, DEFAULT_CACHE_MAX_ENTRIES);

    /** Set once the cache's cluster listener is registered; null (cache not used) until then or when impossible. */
    private volatile GrantCacheCluster cluster;

    private volatile boolean clusterTried;

    @Override
    public DelegationGrantProvider create(KeycloakSession session) {
        if (!clusterTried && cache.enabled()) {
            connectCluster(session);
        }
        return new JpaDelegationGrantProvider(session, this);
    }

    private synchronized void connectCluster(KeycloakSession session) {
        if (!clusterTried) {
            cluster = readCommitted(session) ? GrantCacheCluster.create(session, cache) : null;
            clusterTried = true;
            if (cluster != null) {
                LOG.infof("grant cache on (%s), invalidated across the cluster under key %s", cache, GrantCacheCluster.TASK_KEY);
            }
        }
    }

    /**
     * True when the database's transactions read committed data ({@code READ COMMITTED}: PostgreSQL's, H2's, SQL
     * Server's and Oracle's default). The cache relies on it: a row read after an invalidation is at least as new as the
     * write that caused it. Under {@code REPEATABLE READ} (MySQL's and MariaDB's default) a request's snapshot may be
     * older than its read, so the cache stays off there.
     */
    private static boolean readCommitted(KeycloakSession session) {
        try {
            JpaConnectionProviderFactory jpa = (JpaConnectionProviderFactory) session.getKeycloakSessionFactory()
                    .getProviderFactory(JpaConnectionProvider.class);
            try (Connection c = jpa.getConnection()) {
                int level = c.getTransactionIsolation();
                if (level == Connection.TRANSACTION_READ_COMMITTED) {
                    return true;
                }
                LOG.infof("grant cache off: the database's transaction isolation is %d, not read committed", level);
                return false;
            }
        } catch (Exception | LinkageError e) {
            LOG.infof("grant cache off: transaction isolation unknown (%s)", e.toString());
            return false;
        }
    }

    /** The node's grant cache, or null when it is off (no cluster invalidation possible, or configured off). */
    GrantCache cache() {
        return cluster != null && cache.enabled() ? cache : null;
    }

    /**
     * After a committed write: drops what it names here and on every other node, before the writing request answers.
     * A failure to reach the cluster is logged: the row is gone from the database, and the other nodes' copies expire
     * within the cache's time to live.
     */
    void invalidateEverywhere(KeycloakSession session, GrantCache.Invalidation inv) {
        cache.invalidate(inv);
        GrantCacheCluster c = cluster;
        if (c == null) {
            return;
        }
        try {
            c.send(session == null ? null : session.getProvider(ClusterProvider.class), inv);
        } catch (Exception | LinkageError e) {
            LOG.warnf("grant cache: invalidation %s not sent to the cluster (%s); other nodes drop their copy within %d ms",
                    inv, e.toString(), cacheTtlMillis);
        }
    }

    /** This node only, before a write: no read begun earlier can put a row back. */
    void invalidateHere(GrantCache.Invalidation inv) {
        cache.invalidate(inv);
    }

    /** True when this caller is the one to record the grant's use now (no other did within the interval on this node). */
    boolean claimTouch(String grantId, long now) {
        boolean[] claimed = {false};
        touched.compute(grantId, (id, last) -> {
            if (last != null && last > now - TOUCH_INTERVAL_MILLIS) {
                return last;
            }
            claimed[0] = true;
            return now;
        });
        if (touched.size() > MAX_TOUCH_NOTES) {
            touched.values().removeIf(t -> t <= now - TOUCH_INTERVAL_MILLIS);
        }
        return claimed[0];
    }

    /** The use claimed at {@code now} was not recorded: let the next caller try. */
    void releaseTouch(String grantId, long now) {
        touched.remove(grantId, now);
    }

    private long cacheTtlMillis = DEFAULT_CACHE_TTL_MILLIS;

    /** {@code --spi-agent-auth-delegation-grant--jpa--cache-ttl-ms} (0 = off), {@code ...--cache-max-entries}. */
    @Override
    public void init(Config.Scope config) {
        cacheTtlMillis = Math.max(0, config.getLong("cache-ttl-ms", DEFAULT_CACHE_TTL_MILLIS));
        int max = Math.max(0, config.getInt("cache-max-entries", DEFAULT_CACHE_MAX_ENTRIES));
        cache = new GrantCache(cacheTtlMillis, max);
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(event -> {
            if (event instanceof UserModel.UserRemovedEvent e) {
                grants(e.getKeycloakSession()).deleteForUser(e.getRealm(), e.getUser().getId());
            } else if (event instanceof ClientModel.ClientRemovedEvent e) {
                grants(e.getKeycloakSession()).deleteForClient(e.getClient().getRealm(), e.getClient().getId());
            } else if (event instanceof RealmModel.RealmRemovedEvent e) {
                grants(e.getKeycloakSession()).deleteForRealm(e.getRealm().getId());
            }
        });
    }

    private static DelegationGrantProvider grants(KeycloakSession session) {
        return session.getProvider(DelegationGrantProvider.class);
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }
}
