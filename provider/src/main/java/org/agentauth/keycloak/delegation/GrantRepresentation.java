package org.agentauth.keycloak.delegation;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;
import org.keycloak.common.util.Time;
import org.keycloak.models.ClientModel;
import org.keycloak.models.RealmModel;

/** JSON shape of a delegation grant in the account and admin REST APIs. Times are epoch milliseconds. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GrantRepresentation(
        String id,
        String userId,
        String agent,
        String agentName,
        String host,
        String hostName,
        List<String> scopes,
        List<String> connectors,
        /* the account picked per connector on the consent screen (alias to connection id); absent: any account */
        Map<String, String> connections,
        List<String> downstreamAgents,
        long createdAt,
        Long expiresAt,
        Long lastUsedAt,
        String origin,
        boolean active) {

    public static GrantRepresentation of(RealmModel realm, DelegationGrant g) {
        ClientModel agent = realm.getClientById(g.agentClientUuid());
        ClientModel host = realm.getClientById(g.hostClientUuid());
        return new GrantRepresentation(g.id(), g.userId(),
                agent == null ? null : agent.getClientId(), agent == null ? null : agent.getName(),
                host == null ? null : host.getClientId(), host == null ? null : host.getName(),
                List.copyOf(g.scopes()), List.copyOf(g.connectors()),
                g.connections().isEmpty() ? null : g.connections(), List.copyOf(g.downstreamAgents()),
                g.createdAt(), g.expiresAt(), g.lastUsedAt(), g.origin(), g.isActive(Time.currentTimeMillis()));
    }
}
