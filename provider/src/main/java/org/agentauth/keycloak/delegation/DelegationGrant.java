package org.agentauth.keycloak.delegation;

import java.util.Set;
import org.agentauth.keycloak.delegation.jpa.AgentAuthDelegationGrantEntity;

/** A delegation grant as the rest of the extension sees it (immutable view of the stored row). */
public record DelegationGrant(
        String id,
        String userId,
        String agentClientUuid,
        String hostClientUuid,
        Set<String> scopes,
        Set<String> connectors,
        Set<String> downstreamAgents,
        long createdAt,
        Long expiresAt,
        Long lastUsedAt,
        String origin) {

    public static DelegationGrant of(AgentAuthDelegationGrantEntity e) {
        return new DelegationGrant(e.getId(), e.getUserId(), e.getAgentClientId(), e.getHostClientId(),
                AgentPolicy.split(e.getScope()), AgentPolicy.split(e.getConnectors()),
                AgentPolicy.split(e.getDownstreamAgents()), e.getCreatedAt(), e.getExpiresAt(), e.getLastUsedAt(),
                e.getOrigin());
    }

    public boolean isActive(long nowMillis) {
        return expiresAt == null || expiresAt > nowMillis;
    }

    /** True when the grant covers every one of {@code requested} scopes. */
    public boolean coversScopes(Set<String> requested) {
        return scopes.containsAll(requested);
    }
}
