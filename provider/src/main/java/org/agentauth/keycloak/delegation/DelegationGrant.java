package org.agentauth.keycloak.delegation;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A delegation grant as the rest of the extension sees it: the user's consent "agent A may act for me via host client C
 * with scopes S until T" (DESIGN section 2). Immutable; independent of how it is stored ({@link DelegationGrantProvider}).
 *
 * @param agentClientUuid internal id of the agent's client
 * @param hostClientUuid internal id of the host client the user delegated through
 * @param connections the account the user picked on the consent screen per connector (alias to connection id); a
 *        connector without an entry means any of the user's accounts on it (DESIGN section 5)
 * @param createdAt epoch milliseconds
 * @param expiresAt epoch milliseconds; null = until revoked
 * @param lastUsedAt epoch milliseconds of the last exchange, refresh or code redemption that relied on the grant, kept
 *        coarsely (at most once a minute); null = never used
 * @param origin how the grant came to be: one of the {@code ORIGIN_*} constants
 */
public record DelegationGrant(
        String id,
        String userId,
        String agentClientUuid,
        String hostClientUuid,
        Set<String> scopes,
        Set<String> connectors,
        Map<String, String> connections,
        Set<String> downstreamAgents,
        long createdAt,
        Long expiresAt,
        Long lastUsedAt,
        String origin) {

    /** Recorded by the user on the agent consent screen ({@code requested_actor}). */
    public static final String ORIGIN_CONSENT = "consent";
    /** Recorded by the user on the agent consent screen reached through scope {@code delegation:client:<agent>}. */
    public static final String ORIGIN_CONSENT_SCOPE = "consent_scope";
    /** Created by an administrator. */
    public static final String ORIGIN_ADMIN = "admin";
    /** Recorded without a screen because the agent's policy pre-authorises it. */
    public static final String ORIGIN_PREAUTHORIZED = "preauthorized";
    /** Approved on the approval page of a CIBA request (DESIGN section 12). */
    public static final String ORIGIN_CIBA = "ciba";

    public DelegationGrant {
        scopes = copy(scopes);
        connectors = copy(connectors);
        connections = connections == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(connections));
        downstreamAgents = copy(downstreamAgents);
    }

    private static Set<String> copy(Set<String> values) {
        return Collections.unmodifiableSet(new LinkedHashSet<>(values)); // keeps the order the user saw
    }

    public boolean isActive(long nowMillis) {
        return expiresAt == null || expiresAt > nowMillis;
    }

    /** The connection the user picked for a connector, or null for any of the user's accounts on it. */
    public String pickedConnection(String connectorAlias) {
        return connections.get(connectorAlias);
    }

    /** True when the grant covers every one of {@code requested} scopes. */
    public boolean coversScopes(Set<String> requested) {
        return scopes.containsAll(requested);
    }
}
