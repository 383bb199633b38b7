package org.agentauth.keycloak.resource;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.keycloak.models.AbstractKeycloakTransaction;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.provider.ProviderEvent;

/**
 * Which client owns a resource URI, without scanning every client of the realm on every request that carries
 * {@code resource}. Per realm, a map from normalized URI to the owning client's internal id, built by one scan and
 * kept for {@link #MAX_AGE_MILLIS} or until a client of the realm changes on this node.
 *
 * <p>The map is only a hint: a hit is checked against the live client (enabled, still answering to the URI), and a
 * stale hit rebuilds the map once. So a removed or moved URI is never accepted from the cache; a URI added on another
 * cluster node is unknown here for at most {@link #MAX_AGE_MILLIS}.
 */
final class ResourceOwnerIndex {

    static final long MAX_AGE_MILLIS = 30_000;

    private record Snapshot(long builtAt, Map<String, String> owners) {
    }

    private static final Map<String, Snapshot> BY_REALM = new ConcurrentHashMap<>();

    private ResourceOwnerIndex() {
    }

    static Optional<ClientModel> owner(RealmModel realm, String normalized) {
        Snapshot s = BY_REALM.get(realm.getId());
        boolean fresh = false;
        if (s == null || System.currentTimeMillis() - s.builtAt() > MAX_AGE_MILLIS) {
            s = build(realm);
            fresh = true;
        }
        Optional<ClientModel> hit = live(realm, s.owners().get(normalized), normalized);
        if (hit.isPresent() || fresh || !s.owners().containsKey(normalized)) {
            return hit;
        }
        return live(realm, build(realm).owners().get(normalized), normalized); // stale hit: once more from scratch
    }

    private static Optional<ClientModel> live(RealmModel realm, String clientId, String normalized) {
        if (clientId == null) {
            return Optional.empty();
        }
        ClientModel c = realm.getClientById(clientId);
        return c != null && c.isEnabled() && ResourceIndicators.urisOf(c).contains(normalized) ? Optional.of(c) : Optional.empty();
    }

    private static Snapshot build(RealmModel realm) {
        Map<String, String> owners = new HashMap<>();
        realm.getClientsStream().filter(ClientModel::isEnabled)
                .forEach(c -> ResourceIndicators.urisOf(c).forEach(u -> owners.putIfAbsent(u, c.getId())));
        Snapshot s = new Snapshot(System.currentTimeMillis(), Map.copyOf(owners));
        BY_REALM.put(realm.getId(), s);
        return s;
    }

    /** Forgets the realm's map (a client of it was created, changed or removed on this node). */
    static void invalidate(RealmModel realm) {
        if (realm != null) {
            BY_REALM.remove(realm.getId());
        }
    }

    /**
     * Forgets the realm's map now and again once the session's transaction has ended, so that a map rebuilt by a
     * concurrent request from the not yet committed state does not outlive the change.
     */
    static void invalidate(KeycloakSession session, RealmModel realm) {
        invalidate(realm);
        // Keycloak's transaction manager refuses new participants only once its commit or rollback has begun; clients
        // change (and these events fire) before that, while it is active. A manager that is not active has no pending
        // change to follow: the immediate invalidation is all there is to do. (No catch: a refusal would be a bug.)
        if (session != null && realm != null && session.getTransactionManager().isActive()) {
            enlist(session, realm.getId());
        }
    }

    private static void enlist(KeycloakSession session, String realmId) {
        session.getTransactionManager().enlistAfterCompletion(new AbstractKeycloakTransaction() {
            @Override
            protected void commitImpl() {
                BY_REALM.remove(realmId);
            }

            @Override
            protected void rollbackImpl() {
                BY_REALM.remove(realmId);
            }
        });
    }

    /** Provider events that change which client owns which URI. */
    static void onEvent(ProviderEvent event) {
        if (event instanceof ClientModel.ClientUpdatedEvent e) {
            invalidate(e.getKeycloakSession(), e.getUpdatedClient().getRealm());
        } else if (event instanceof ClientModel.ClientRemovedEvent e) {
            invalidate(e.getKeycloakSession(), e.getClient().getRealm());
        } else if (event instanceof ClientModel.ClientIdChangeEvent e) {
            invalidate(e.getKeycloakSession(), e.getUpdatedClient().getRealm());
        } else if (event instanceof RealmModel.RealmRemovedEvent e) {
            BY_REALM.remove(e.getRealm().getId());
        }
    }
}
