package org.agentauth.keycloak.ciba;

import jakarta.persistence.EntityManager;
import java.util.List;
import java.util.Optional;
import org.agentauth.keycloak.ciba.jpa.AgentAuthCibaRequestEntity;
import org.keycloak.common.util.Time;
import org.keycloak.connections.jpa.JpaConnectionProvider;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;

/**
 * The CIBA requests waiting for a user's decision ({@link AgentAuthCibaRequestEntity}), in the request's transaction.
 * Expired rows are never shown or decided, and are deleted whenever a request is stored.
 */
public final class CibaRequests {

    public static final String PENDING = "pending";
    public static final String APPROVED = "approved";
    public static final String DENIED = "denied";

    /** One waiting request, as the pages show it. */
    public record Pending(String id, String realmId, String userId, String clientUuid, String agentUuid, String scope,
            String bindingMessage, String description, String resource, Integer maxAge, String authResultId, String status,
            long createdAt, long expiresAt) {

        public boolean decidable(long now) {
            return PENDING.equals(status) && expiresAt > now;
        }

        static Pending of(AgentAuthCibaRequestEntity e) {
            return new Pending(e.getId(), e.getRealmId(), e.getUserId(), e.getClientId(), e.getAgentClientId(), e.getScope(),
                    e.getBindingMessage(), e.getDescription(), e.getResource(), e.getMaxAge(), e.getAuthResultId(), e.getStatus(),
                    e.getCreatedAt(), e.getExpiresAt());
        }
    }

    private final EntityManager em;

    public CibaRequests(KeycloakSession session) {
        this.em = session.getProvider(JpaConnectionProvider.class).getEntityManager();
    }

    public void store(AgentAuthCibaRequestEntity e) {
        // rows live as long as Keycloak keeps the request; a day later they are gone whatever happened
        em.createNamedQuery("agentAuthCiba.deleteExpired").setParameter("cutoff", Time.currentTimeMillis() - 86_400_000L).executeUpdate();
        em.persist(e);
    }

    /** The request with this id in the realm (decided and expired ones included). */
    public Optional<Pending> byId(RealmModel realm, String id) {
        if (id == null || id.length() > 36) {
            return Optional.empty();
        }
        AgentAuthCibaRequestEntity e = em.find(AgentAuthCibaRequestEntity.class, id);
        return e == null || !e.getRealmId().equals(realm.getId()) ? Optional.empty() : Optional.of(Pending.of(e));
    }

    /** The user's requests that are still waiting, oldest first. */
    public List<Pending> pendingForUser(RealmModel realm, String userId) {
        return em.createNamedQuery("agentAuthCiba.byUser", AgentAuthCibaRequestEntity.class)
                .setParameter("realmId", realm.getId()).setParameter("userId", userId)
                .setParameter("now", Time.currentTimeMillis()).getResultStream()
                .filter(e -> PENDING.equals(e.getStatus())).map(Pending::of).toList();
    }

    /**
     * Records the decision when the request is still waiting: true for the one caller that made it (on any node, the
     * database decides), false when it was decided already or has expired.
     */
    public boolean decide(String id, String status) {
        int n = em.createNamedQuery("agentAuthCiba.decide").setParameter("status", status)
                .setParameter("now", Time.currentTimeMillis()).setParameter("id", id).executeUpdate();
        return n == 1;
    }

    public void deleteForUser(RealmModel realm, String userId) {
        em.createNamedQuery("agentAuthCiba.deleteByUser").setParameter("realmId", realm.getId()).setParameter("userId", userId).executeUpdate();
    }

    public void deleteForClient(RealmModel realm, String clientUuid) {
        em.createNamedQuery("agentAuthCiba.deleteByClient").setParameter("realmId", realm.getId()).setParameter("clientId", clientUuid).executeUpdate();
    }
}
