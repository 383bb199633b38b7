package org.agentauth.keycloak.delegation;

import jakarta.persistence.EntityManager;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.delegation.jpa.AgentAuthDelegationGrantEntity;
import org.keycloak.common.util.Time;
import org.keycloak.connections.jpa.JpaConnectionProvider;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.KeycloakModelUtils;

/**
 * Delegation grant storage. Uses the request's EntityManager, so every change joins Keycloak's own transaction
 * (never a transaction of its own).
 */
public final class DelegationGrants {

    /** Where a grant came from. */
    public static final String ORIGIN_CONSENT = "consent";
    public static final String ORIGIN_CONSENT_SCOPE = "consent_scope";
    public static final String ORIGIN_ADMIN = "admin";
    /** Recorded without a screen because the agent's policy pre-authorises it. */
    public static final String ORIGIN_PREAUTHORIZED = "preauthorized";

    private final KeycloakSession session;
    private final EntityManager em;

    public DelegationGrants(KeycloakSession session) {
        this.session = session;
        this.em = session.getProvider(JpaConnectionProvider.class).getEntityManager();
    }

    /** The grant for (user, agent, host) whether or not it has expired. */
    public Optional<DelegationGrant> find(RealmModel realm, String userId, ClientModel agent, ClientModel host) {
        return findEntity(realm, userId, agent.getId(), host.getId()).map(DelegationGrant::of);
    }

    /** The unexpired grant for (user, agent, host), if any. */
    public Optional<DelegationGrant> findActive(RealmModel realm, String userId, ClientModel agent, ClientModel host) {
        long now = Time.currentTimeMillis();
        return find(realm, userId, agent, host).filter(g -> g.isActive(now));
    }

    /** Every grant of a user, oldest first (expired ones included: the user may still want to see and delete them). */
    public List<DelegationGrant> listForUser(RealmModel realm, String userId) {
        return em.createNamedQuery("agentAuthGrant.byUser", AgentAuthDelegationGrantEntity.class)
                .setParameter("realmId", realm.getId())
                .setParameter("userId", userId)
                .getResultStream().map(DelegationGrant::of).toList();
    }

    /** Every grant to one agent, oldest first. */
    public List<DelegationGrant> listForAgent(RealmModel realm, ClientModel agent) {
        return em.createNamedQuery("agentAuthGrant.byAgent", AgentAuthDelegationGrantEntity.class)
                .setParameter("realmId", realm.getId())
                .setParameter("agentClientId", agent.getId())
                .getResultStream().map(DelegationGrant::of).toList();
    }

    public Optional<DelegationGrant> byId(RealmModel realm, String grantId) {
        if (grantId == null || grantId.length() > 36) {
            return Optional.empty();
        }
        AgentAuthDelegationGrantEntity e = em.find(AgentAuthDelegationGrantEntity.class, grantId);
        return e != null && e.getRealmId().equals(realm.getId()) ? Optional.of(DelegationGrant.of(e)) : Optional.empty();
    }

    /**
     * Records the user's consent. An existing grant for the same (user, agent, host) is replaced: its scopes,
     * connectors and downstream agents become the new ones and its expiry starts again.
     */
    public DelegationGrant grant(RealmModel realm, String userId, AgentPolicy agent, ClientModel host, Set<String> scopes,
            Set<String> connectors, Set<String> downstreamAgents, String origin) {
        long now = Time.currentTimeMillis();
        AgentAuthDelegationGrantEntity e = findEntity(realm, userId, agent.client().getId(), host.getId()).orElse(null);
        boolean created = e == null;
        if (created) {
            e = new AgentAuthDelegationGrantEntity();
            e.setId(KeycloakModelUtils.generateId());
            e.setRealmId(realm.getId());
            e.setUserId(userId);
            e.setAgentClientId(agent.client().getId());
            e.setHostClientId(host.getId());
            e.setCreatedAt(now);
        }
        e.setScope(String.join(" ", scopes));
        e.setConnectors(connectors.isEmpty() ? null : String.join(" ", connectors));
        e.setDownstreamAgents(downstreamAgents.isEmpty() ? null : String.join(" ", downstreamAgents));
        e.setUpdatedAt(now);
        long lifetime = agent.grantLifetimeSeconds();
        e.setExpiresAt(lifetime == 0 ? null : now + lifetime * 1000);
        e.setOrigin(origin);
        if (created) {
            em.persist(e);
        }
        return DelegationGrant.of(e);
    }

    /** Notes that a grant was relied upon just now. */
    public void touch(String grantId) {
        AgentAuthDelegationGrantEntity e = em.find(AgentAuthDelegationGrantEntity.class, grantId);
        if (e != null) {
            e.setLastUsedAt(Time.currentTimeMillis());
        }
    }

    /** Deletes a grant; returns false when there was none with that id in the realm. */
    public boolean revoke(RealmModel realm, String grantId) {
        if (grantId == null || grantId.length() > 36) {
            return false;
        }
        AgentAuthDelegationGrantEntity e = em.find(AgentAuthDelegationGrantEntity.class, grantId);
        if (e == null || !e.getRealmId().equals(realm.getId())) {
            return false;
        }
        em.remove(e);
        return true;
    }

    public int deleteForUser(RealmModel realm, String userId) {
        return em.createNamedQuery("agentAuthGrant.deleteByUser").setParameter("realmId", realm.getId())
                .setParameter("userId", userId).executeUpdate();
    }

    public int deleteForClient(RealmModel realm, String clientUuid) {
        return em.createNamedQuery("agentAuthGrant.deleteByClient").setParameter("realmId", realm.getId())
                .setParameter("clientId", clientUuid).executeUpdate();
    }

    public int deleteForRealm(String realmId) {
        return em.createNamedQuery("agentAuthGrant.deleteByRealm").setParameter("realmId", realmId).executeUpdate();
    }

    private Optional<AgentAuthDelegationGrantEntity> findEntity(RealmModel realm, String userId, String agentUuid, String hostUuid) {
        return em.createNamedQuery("agentAuthGrant.byTriple", AgentAuthDelegationGrantEntity.class)
                .setParameter("realmId", realm.getId())
                .setParameter("userId", userId)
                .setParameter("agentClientId", agentUuid)
                .setParameter("hostClientId", hostUuid)
                .getResultStream().findFirst();
    }

    KeycloakSession session() {
        return session;
    }
}
