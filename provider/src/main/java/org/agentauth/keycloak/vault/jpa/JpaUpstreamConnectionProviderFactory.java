package org.agentauth.keycloak.vault.jpa;

import com.google.auto.service.AutoService;
import org.agentauth.keycloak.support.cluster.CacheLink;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.UpstreamConnectionProviderFactory;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;

/**
 * The JPA storage of connections. Owns the removal listeners: connections go with their user (whatever storage the
 * user lives in) and their realm; the connector's component factory removes them with the connector.
 */
@AutoService(UpstreamConnectionProviderFactory.class)
public class JpaUpstreamConnectionProviderFactory implements UpstreamConnectionProviderFactory {

    public static final String PROVIDER_ID = "jpa";

    /** How long a user's rows on a connector may be served from this node's memory (ms); 0 = no cache. */
    static final long DEFAULT_CACHE_TTL_MILLIS = 30_000;

    /** Lists of rows (one per user and connector) a node holds at most: a few kB each (sealed tokens). */
    static final int DEFAULT_CACHE_MAX_ENTRIES = 10_000;

    /** The cluster task key of the connection cache's invalidations: only its listener receives what is sent under it. */
    static final String TASK_KEY = "agent-auth-connection-cache";

    private ConnectionCache cache = new ConnectionCache(DEFAULT_CACHE_TTL_MILLIS, DEFAULT_CACHE_MAX_ENTRIES);

    private CacheLink<ConnectionCache.Invalidation> link = link(cache, DEFAULT_CACHE_TTL_MILLIS);

    private static CacheLink<ConnectionCache.Invalidation> link(ConnectionCache cache, long ttlMillis) {
        return new CacheLink<>(TASK_KEY, "connection cache", cache, cache.enabled(), cache::invalidate, ConnectionCache.Invalidation::encode,
                ConnectionCache.Invalidation::decode, ttlMillis);
    }

    @Override
    public UpstreamConnectionProvider create(KeycloakSession session) {
        link.open(session); // listens from this node's first session on, and lets its writes be sent
        return new JpaUpstreamConnectionProvider(session, this);
    }

    /** The node's connection cache, or null when it is off (no cluster invalidation possible, or configured off). */
    ConnectionCache cache(KeycloakSession session) {
        return cache.enabled() && link.open(session) ? cache : null;
    }

    /** After a committed write: drops what it names here and on every other node, before the writing request answers. */
    void invalidateEverywhere(KeycloakSession session, ConnectionCache.Invalidation inv) {
        link.everywhere(session, inv);
    }

    /** This node only: before a write (no read begun earlier can put a row back), or for a row this node cannot use. */
    void invalidateHere(ConnectionCache.Invalidation inv) {
        cache.invalidate(inv);
    }

    /** {@code --spi-agent-auth-connection--jpa--cache-ttl-ms} (0 = off), {@code ...--cache-max-entries}. */
    @Override
    public void init(Config.Scope config) {
        long ttl = Math.max(0, config.getLong("cache-ttl-ms", DEFAULT_CACHE_TTL_MILLIS));
        int max = Math.max(0, config.getInt("cache-max-entries", DEFAULT_CACHE_MAX_ENTRIES));
        cache = new ConnectionCache(ttl, max);
        link = link(cache, ttl);
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(event -> {
            if (event instanceof UserModel.UserRemovedEvent e) {
                e.getKeycloakSession().getProvider(UpstreamConnectionProvider.class).deleteForUser(e.getRealm(), e.getUser().getId());
            } else if (event instanceof RealmModel.RealmRemovedEvent e) {
                e.getKeycloakSession().getProvider(UpstreamConnectionProvider.class).deleteForRealm(e.getRealm().getId());
            }
        });
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }
}
