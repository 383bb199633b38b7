package org.agentauth.keycloak.delegation.jpa;

import com.google.auto.service.AutoService;
import java.util.concurrent.ConcurrentHashMap;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.delegation.DelegationGrantProviderFactory;
import org.agentauth.keycloak.support.cluster.CacheLink;
import org.keycloak.Config;
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

    /** The cluster task key of the grant cache's invalidations: only its listener receives what is sent under it. */
    static final String TASK_KEY = "agent-auth-grant-cache";

    private CacheLink<GrantCache.Invalidation> link = link(cache, DEFAULT_CACHE_TTL_MILLIS);

    private static CacheLink<GrantCache.Invalidation> link(GrantCache cache, long ttlMillis) {
        return new CacheLink<>(TASK_KEY, "grant cache", cache, cache.enabled(), cache::invalidate, GrantCache.Invalidation::encode,
                GrantCache.Invalidation::decode, ttlMillis);
    }

    @Override
    public DelegationGrantProvider create(KeycloakSession session) {
        link.open(session); // listens from this node's first session on, and lets its writes be sent
        return new JpaDelegationGrantProvider(session, this);
    }

    /** The node's grant cache, or null when it is off (no cluster invalidation possible, or configured off). */
    GrantCache cache(KeycloakSession session) {
        return cache.enabled() && link.open(session) ? cache : null;
    }

    /** After a committed write: drops what it names here and on every other node, before the writing request answers. */
    void invalidateEverywhere(KeycloakSession session, GrantCache.Invalidation inv) {
        link.everywhere(session, inv);
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

    /** {@code --spi-agent-auth-delegation-grant--jpa--cache-ttl-ms} (0 = off), {@code ...--cache-max-entries}. */
    @Override
    public void init(Config.Scope config) {
        long cacheTtlMillis = Math.max(0, config.getLong("cache-ttl-ms", DEFAULT_CACHE_TTL_MILLIS));
        int max = Math.max(0, config.getInt("cache-max-entries", DEFAULT_CACHE_MAX_ENTRIES));
        cache = new GrantCache(cacheTtlMillis, max);
        link = link(cache, cacheTtlMillis);
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
