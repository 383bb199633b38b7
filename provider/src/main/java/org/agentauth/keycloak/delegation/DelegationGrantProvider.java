package org.agentauth.keycloak.delegation;

import org.agentauth.keycloak.agent.AgentPolicy;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.keycloak.common.util.Time;
import org.keycloak.models.ClientModel;
import org.keycloak.models.RealmModel;
import org.keycloak.provider.Provider;

/**
 * Storage of delegation grants ({@link DelegationGrantSpi}), one per session:
 * {@code session.getProvider(DelegationGrantProvider.class)}. Reads see the request's own transaction. A grant's
 * removal goes with its user, its clients and its realm: the factory's removal listeners see to that.
 */
public interface DelegationGrantProvider extends Provider {

    /** The grant for (user, agent, host) whether or not it has expired. */
    Optional<DelegationGrant> find(RealmModel realm, String userId, ClientModel agent, ClientModel host);

    /** The unexpired grant for (user, agent, host), if any. */
    default Optional<DelegationGrant> findActive(RealmModel realm, String userId, ClientModel agent, ClientModel host) {
        long now = Time.currentTimeMillis();
        return find(realm, userId, agent, host).filter(g -> g.isActive(now));
    }

    /** Every grant of a user, oldest first (expired ones included: the user may still want to see and delete them). */
    List<DelegationGrant> listForUser(RealmModel realm, String userId);

    /** Every grant to one agent, oldest first. */
    List<DelegationGrant> listForAgent(RealmModel realm, ClientModel agent);

    Optional<DelegationGrant> byId(RealmModel realm, String grantId);

    /**
     * Records the user's consent. An active grant for the same (user, agent, host) is renewed: its scopes, connectors,
     * picked connections, downstream agents, expiry and origin become the new ones, its id stays. Without an active one
     * (none, revoked, or expired) the consent is a new grant with a new id, and an expired row is deleted: tokens are
     * bound to the id of the grant they were issued under, so a revoked or expired grant's tokens never come back (DESIGN
     * section 3 rule 5, "Bound to its grant"). Parallel calls for the same (user, agent, host), such as a
     * double-submitted consent, leave one grant and all succeed. The grant is stored at once, whatever becomes of the
     * calling request.
     *
     * @param connections the account picked per connector (alias to connection id); connectors without one: any account
     * @param lifetimeSeconds how long the grant lasts from the moment it is stored (its {@code createdAt} or
     *        {@code updatedAt}); null or 0 = until revoked
     */
    DelegationGrant grant(RealmModel realm, String userId, ClientModel agent, ClientModel host, Set<String> scopes,
            Set<String> connectors, Map<String, String> connections, Set<String> downstreamAgents, Long lifetimeSeconds,
            String origin);

    /** {@link #grant(RealmModel, String, ClientModel, ClientModel, Set, Set, Map, Set, Long, String)} for the agent's grant lifetime. */
    default DelegationGrant grant(RealmModel realm, String userId, AgentPolicy agent, ClientModel host, Set<String> scopes,
            Set<String> connectors, Map<String, String> connections, Set<String> downstreamAgents, String origin) {
        return grant(realm, userId, agent.client(), host, scopes, connectors, connections, downstreamAgents,
                agent.grantLifetimeSeconds(), origin);
    }

    /**
     * Notes that the grant was relied upon just now. Coarse (at most about once a minute per grant) and free for the
     * caller: it never fails, never waits for a lock of the request and never rolls the request back.
     */
    void touch(DelegationGrant grant);

    /** Deletes a grant; returns false when there was none with that id in the realm. */
    boolean revoke(RealmModel realm, String grantId);

    int deleteForUser(RealmModel realm, String userId);

    /** Deletes the grants to or through a client (as agent or as host). */
    int deleteForClient(RealmModel realm, String clientUuid);

    int deleteForRealm(String realmId);
}
