package org.agentauth.keycloak.vault.jpa;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.agentauth.keycloak.support.cluster.InvalidationText;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.crypto.TokenCipher.Sealed;

/**
 * A node's cache of connection rows for the brokered calls (proxy, vault exchange: DESIGN section 10,
 * docs/performance.md "Caches"): a user's rows on one connector, as read from the database, with their tokens still
 * sealed (decrypted per call, as before: no plaintext token is kept). Each list is kept for at most {@code ttlMillis}
 * and is invalidated:
 * <ul>
 * <li>on this node, synchronously, by every write of the connections table ({@link #invalidate}, before the write and
 * again after its commit): link, refresh lease, refreshed tokens, expiry, disconnect, re-encryption, connector change
 * or removal, user or realm removal;</li>
 * <li>on every other node by a cluster message sent after the commit and before the writing request answers.</li>
 * </ul>
 * A read that races a write cannot put a stale list back: {@link #mark()} is taken before the database read, every
 * invalidation advances the generation under the same lock as {@link #put}, and a put whose mark is no longer current
 * is dropped. Reads take no lock.
 */
final class ConnectionCache {

    /** A connection row as read: its model and its sealed tokens. */
    record Row(UpstreamConnection connection, Sealed sealed) {
    }

    private record Key(String realmId, String userId, String connectorId) {
    }

    private record Entry(List<Row> rows, long loadedAt) {
    }

    private final long ttlMillis;
    private final int maxEntries;
    private final Map<Key, Entry> entries = new ConcurrentHashMap<>();
    /** Advanced by every invalidation; guarded by {@code this} for writes. */
    private volatile long generation;

    ConnectionCache(long ttlMillis, int maxEntries) {
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

    /** The user's rows on the connector (newest first) as last read, or null when not held or older than the TTL. */
    List<Row> get(String realmId, String userId, String connectorId, long now) {
        Entry e = entries.get(new Key(realmId, userId, connectorId));
        if (e == null || now - e.loadedAt() >= ttlMillis || now < e.loadedAt()) {
            return null;
        }
        return e.rows();
    }

    /** Caches rows read after {@code mark} was taken; dropped when any invalidation happened since. */
    synchronized boolean put(String realmId, String userId, String connectorId, List<Row> rows, long mark, long loadedAt) {
        if (!enabled() || mark != generation) {
            return false;
        }
        if (entries.size() >= maxEntries) {
            entries.values().removeIf(e -> loadedAt - e.loadedAt() >= ttlMillis);
            if (entries.size() >= maxEntries) {
                entries.clear();
            }
        }
        entries.put(new Key(realmId, userId, connectorId), new Entry(List.copyOf(rows), loadedAt));
        return true;
    }

    /** Drops what the invalidation names and makes every read begun before it unable to put. */
    synchronized void invalidate(Invalidation inv) {
        generation++;
        entries.entrySet().removeIf(e -> inv.matches(e.getKey(), e.getValue()));
    }

    synchronized void clear() {
        generation++;
        entries.clear();
    }

    int size() {
        return entries.size();
    }

    @Override
    public String toString() {
        return "ConnectionCache[ttl=" + ttlMillis + "ms, max=" + maxEntries + ", size=" + entries.size() + "]";
    }

    /**
     * What a write of the connections table makes stale: one connection (by id), a user's connections, a connector's,
     * or a realm's. Sent across the cluster as an {@link InvalidationText}.
     */
    record Invalidation(char kind, String realmId, String value) {

        static final char CONNECTION = 'i';
        static final char USER = 'u';
        static final char CONNECTOR = 'c';
        static final String PREFIX = "agent-auth-connection/";

        static Invalidation connection(String realmId, String connectionId) {
            return new Invalidation(CONNECTION, realmId, connectionId);
        }

        static Invalidation user(String realmId, String userId) {
            return new Invalidation(USER, realmId, userId);
        }

        static Invalidation connector(String realmId, String connectorId) {
            return new Invalidation(CONNECTOR, realmId, connectorId);
        }

        static Invalidation realm(String realmId) {
            return new Invalidation(InvalidationText.REALM, realmId, "");
        }

        static Invalidation all() {
            return new Invalidation(InvalidationText.ALL, "", "");
        }

        private boolean matches(Key k, Entry e) {
            return switch (kind) {
                case CONNECTION -> e.rows().stream().anyMatch(r -> r.connection().id().equals(value));
                case USER -> k.realmId().equals(realmId) && k.userId().equals(value);
                case CONNECTOR -> k.realmId().equals(realmId) && k.connectorId().equals(value);
                case InvalidationText.REALM -> k.realmId().equals(realmId);
                default -> true;
            };
        }

        String encode() {
            return new InvalidationText(kind, realmId, value).encode(PREFIX);
        }

        /** The invalidation a text names; {@link #all()} for anything else (never less than was meant). */
        static Invalidation decode(String text) {
            InvalidationText t = InvalidationText.decode(PREFIX, text, "" + CONNECTION + USER + CONNECTOR);
            return new Invalidation(t.kind(), t.realmId(), t.value());
        }
    }
}
