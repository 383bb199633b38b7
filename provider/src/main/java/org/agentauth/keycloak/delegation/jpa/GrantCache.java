package org.agentauth.keycloak.delegation.jpa;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.support.cluster.InvalidationText;

/**
 * A node's cache of grant rows read from the database, for the exchange, refresh, introspection and code paths that ask
 * "is the grant still there, and what does it say" (DESIGN section 10, docs/performance.md "Caches"). Holds only rows
 * that were found (never "there is no grant"), each for at most {@code ttlMillis}, and is invalidated:
 * <ul>
 * <li>on this node, synchronously, by every write of the grants table ({@link #invalidate}, before the write and again
 * after its commit);</li>
 * <li>on every other node by a cluster message sent after the commit and before the writing request answers
 * ({@link Invalidation}).</li>
 * </ul>
 * A read that races a write cannot put a stale row back: {@link #mark()} is taken before the database read, every
 * invalidation advances the generation under the same lock as {@link #put}, and a put whose mark is no longer current
 * is dropped. Reads ({@link #byId}, {@link #byTriple}) take no lock.
 */
final class GrantCache {

    /** What is cached: a grant row as read, in its realm, when it was read. */
    private record Entry(String realmId, DelegationGrant grant, long loadedAt) {
    }

    private record Triple(String realmId, String userId, String agentId, String hostId) {
    }

    private final long ttlMillis;
    private final int maxEntries;
    private final Map<String, Entry> byId = new ConcurrentHashMap<>();
    private final Map<Triple, Entry> byTriple = new ConcurrentHashMap<>();
    /** Advanced by every invalidation; guarded by {@code this} for writes. */
    private volatile long generation;

    GrantCache(long ttlMillis, int maxEntries) {
        this.ttlMillis = ttlMillis;
        this.maxEntries = maxEntries;
    }

    boolean enabled() {
        return ttlMillis > 0 && maxEntries > 0;
    }

    /** To be taken before the database read whose result may be {@link #put}. */
    long mark() {
        return generation;
    }

    DelegationGrant byId(String realmId, String grantId, long now) {
        return fresh(byId.get(grantId), realmId, now);
    }

    DelegationGrant byTriple(String realmId, String userId, String agentId, String hostId, long now) {
        return fresh(byTriple.get(new Triple(realmId, userId, agentId, hostId)), realmId, now);
    }

    private DelegationGrant fresh(Entry e, String realmId, long now) {
        if (e == null || !e.realmId().equals(realmId) || now - e.loadedAt() >= ttlMillis || now < e.loadedAt()) {
            return null;
        }
        return e.grant();
    }

    /**
     * Caches a row read from the database after {@code mark} was taken; dropped when any invalidation happened since
     * (the row may be older than that write).
     */
    synchronized boolean put(String realmId, DelegationGrant grant, long mark, long loadedAt) {
        if (!enabled() || mark != generation) {
            return false;
        }
        if (byId.size() >= maxEntries) {
            byId.values().removeIf(e -> loadedAt - e.loadedAt() >= ttlMillis);
            byTriple.values().removeIf(e -> loadedAt - e.loadedAt() >= ttlMillis);
            if (byId.size() >= maxEntries) {
                byId.clear();
                byTriple.clear();
            }
        }
        Entry e = new Entry(realmId, grant, loadedAt);
        Entry before = byId.put(grant.id(), e);
        if (before != null) {
            byTriple.remove(triple(before), before);
        }
        byTriple.put(triple(e), e);
        return true;
    }

    private static Triple triple(Entry e) {
        return new Triple(e.realmId(), e.grant().userId(), e.grant().agentClientUuid(), e.grant().hostClientUuid());
    }

    /** Drops what the invalidation names and makes every read begun before it unable to put. */
    void invalidate(Invalidation inv) {
        invalidate(inv::matches);
    }

    private synchronized void invalidate(Predicate<Entry> which) {
        generation++;
        byId.values().removeIf(which);
        byTriple.values().removeIf(which);
    }

    synchronized void clear() {
        generation++;
        byId.clear();
        byTriple.clear();
    }

    int size() {
        return byId.size();
    }

    @Override
    public String toString() {
        return "GrantCache[ttl=" + ttlMillis + "ms, max=" + maxEntries + ", size=" + byId.size() + "]";
    }

    /**
     * What a write of the grants table makes stale, as sent across the cluster: one grant (by id), a user's grants, a
     * client's grants (as agent or as host), or a realm's. Encoded as text ({@link #encode}, {@link #decode}); a text
     * that does not decode invalidates everything.
     */
    record Invalidation(char kind, String realmId, String value) {

        static final char GRANT = 'g';
        static final char USER = 'u';
        static final char CLIENT = 'c';
        static final char REALM = InvalidationText.REALM;
        static final char ALL = InvalidationText.ALL;

        static Invalidation grant(String realmId, String grantId) {
            return new Invalidation(GRANT, realmId, grantId);
        }

        static Invalidation user(String realmId, String userId) {
            return new Invalidation(USER, realmId, userId);
        }

        static Invalidation client(String realmId, String clientUuid) {
            return new Invalidation(CLIENT, realmId, clientUuid);
        }

        static Invalidation realm(String realmId) {
            return new Invalidation(REALM, realmId, "");
        }

        static Invalidation all() {
            return new Invalidation(ALL, "", "");
        }

        boolean matches(Entry e) {
            DelegationGrant g = e.grant();
            return switch (kind) {
                case GRANT -> g.id().equals(value);
                case USER -> e.realmId().equals(realmId) && g.userId().equals(value);
                case CLIENT -> e.realmId().equals(realmId) && (g.agentClientUuid().equals(value) || g.hostClientUuid().equals(value));
                case REALM -> e.realmId().equals(realmId);
                default -> true;
            };
        }

        /** As sent across the cluster ({@link InvalidationText}). */
        String encode() {
            return new InvalidationText(kind, realmId, value).encode(PREFIX);
        }

        static final String PREFIX = "agent-auth-grant/";

        /** The invalidation a text names; {@link #all()} for anything else (never less than was meant). */
        static Invalidation decode(String text) {
            InvalidationText t = InvalidationText.decode(PREFIX, text, "" + GRANT + USER + CLIENT);
            return new Invalidation(t.kind(), t.realmId(), t.value());
        }
    }
}
