package org.agentauth.keycloak.agent;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.agentauth.keycloak.support.AfterCompletion;
import org.agentauth.keycloak.support.SingleFlightCache;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.provider.ProviderEvent;

/**
 * Which client owns a resource URI, without scanning every client of the realm on every request that carries
 * {@code resource}. Per realm, a map from normalized URI to the owning client's internal id, built by one scan and
 * kept for at most {@link #MAX_AGE_MILLIS} (from the start of the scan) or until a client of the realm changes on
 * this node. The scan is single-flight ({@link SingleFlightCache}): when the map is missing or too old, one request
 * rescans and the requests arriving meanwhile wait for that scan instead of each scanning every client.
 *
 * <p>The map is only a hint: a hit is checked against the live client (enabled, still answering to the URI), and a
 * stale hit rescans once (again single-flight). So a removed or moved URI is never accepted from the cache. A miss
 * rescans once when the map is older than {@link #MISS_RESCAN_MILLIS}: a URI added on another cluster node (whose
 * change reaches this node's client cache through Keycloak's own invalidation, but fires no event here) is known here
 * within about that long, instead of waiting out {@link #MAX_AGE_MILLIS}.
 */
public final class ResourceOwnerIndex {

    static final long MAX_AGE_MILLIS = 30_000;
    /**
     * A miss rescans when the map is older than this: a URI added on another cluster node is known here within about
     * this long, and a flood of unknown URIs costs at most one scan per realm and node per this interval.
     */
    static final long MISS_RESCAN_MILLIS = 2_000;
    /** How long a request waits for another request's scan before it scans for itself. */
    static final long MAX_WAIT_MILLIS = 10_000;

    private static final SingleFlightCache<String, Map<String, String>> BY_REALM =
            new SingleFlightCache<>(MAX_AGE_MILLIS, MAX_WAIT_MILLIS, System::currentTimeMillis);

    private ResourceOwnerIndex() {
    }

    static Optional<ClientModel> owner(RealmModel realm, String normalized) {
        long asked = System.currentTimeMillis();
        SingleFlightCache.Entry<Map<String, String>> s = BY_REALM.get(realm.getId(), () -> scan(realm));
        Optional<ClientModel> hit = live(realm, s.value().get(normalized), normalized);
        if (hit.isPresent() || s.builtAt() >= asked) {
            return hit; // a hit, or a scan begun after this request: nothing newer to ask
        }
        if (!s.value().containsKey(normalized) && asked - s.builtAt() < MISS_RESCAN_MILLIS) {
            return hit; // a miss against a recent scan
        }
        // a stale hit, or a miss against a scan older than MISS_RESCAN_MILLIS (the URI may have been added on another
        // node, whose change reached this node's client cache but no event here): once more from a newer scan
        return live(realm, BY_REALM.refresh(realm.getId(), s, () -> scan(realm)).value().get(normalized), normalized);
    }

    private static Optional<ClientModel> live(RealmModel realm, String clientId, String normalized) {
        if (clientId == null) {
            return Optional.empty();
        }
        ClientModel c = realm.getClientById(clientId);
        return c != null && c.isEnabled() && ResourceServers.urisOf(c).contains(normalized) ? Optional.of(c) : Optional.empty();
    }

    private static Map<String, String> scan(RealmModel realm) {
        Map<String, String> owners = new HashMap<>();
        realm.getClientsStream().filter(ClientModel::isEnabled)
                .forEach(c -> ResourceServers.urisOf(c).forEach(u -> owners.putIfAbsent(u, c.getId())));
        return Map.copyOf(owners);
    }

    /**
     * Forgets the realm's map (a client of it was created, changed or removed on this node), now and again once the
     * session's transaction has ended, so that a map rebuilt by a concurrent request from the not yet committed state
     * does not outlive the change.
     */
    static void invalidate(KeycloakSession session, RealmModel realm) {
        if (realm != null) {
            String realmId = realm.getId();
            AfterCompletion.nowAndAfterCompletion(session, () -> BY_REALM.invalidate(realmId));
        }
    }

    /** Provider events that change which client owns which URI. */
    public static void onEvent(ProviderEvent event) {
        if (event instanceof ClientModel.ClientUpdatedEvent e) {
            invalidate(e.getKeycloakSession(), e.getUpdatedClient().getRealm());
        } else if (event instanceof ClientModel.ClientRemovedEvent e) {
            invalidate(e.getKeycloakSession(), e.getClient().getRealm());
        } else if (event instanceof ClientModel.ClientIdChangeEvent e) {
            invalidate(e.getKeycloakSession(), e.getUpdatedClient().getRealm());
        } else if (event instanceof RealmModel.RealmRemovedEvent e) {
            BY_REALM.invalidate(e.getRealm().getId());
        }
    }
}
