package org.agentauth.keycloak.admin;

import org.agentauth.keycloak.agent.ResourceServers;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.resource.ResourceIndicators;
import org.keycloak.models.ClientModel;

/**
 * JSON shape of an agent's policy in the admin REST API ({@code GET/PUT /admin/realms/{realm}/agent-auth/agents/{clientId}}).
 * Each field maps to one {@code agent_auth.*} client attribute (see {@link AgentPolicy}); lists are stored space-separated.
 * On PUT the body replaces the whole policy: a missing list means empty, a missing number its default, a missing
 * flag {@code false}. {@code resourceUris}/{@code resourceClients} mark any client (agent or not) as an RFC 8707
 * resource server (DESIGN section 9): the URIs it answers to, and the clients that may ask for them (empty: any).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AgentPolicyRepresentation(
        Boolean agent,
        List<String> allowedScopes,
        List<String> allowedHosts,
        List<String> allowedAudiences,
        List<String> allowedConnectors,
        List<String> downstreamAgents,
        Integer maxDepth,
        Long grantLifetime,
        Boolean refreshAllowed,
        Boolean preauthorized,
        List<String> resourceUris,
        List<String> resourceClients) {

    /** The policy as stored on the client; numbers that are missing or unreadable come back as their defaults. */
    public static AgentPolicyRepresentation of(ClientModel client) {
        return new AgentPolicyRepresentation(
                AgentPolicy.isAgent(client),
                list(client, AgentPolicy.ATTR_ALLOWED_SCOPES),
                list(client, AgentPolicy.ATTR_ALLOWED_HOSTS),
                list(client, AgentPolicy.ATTR_ALLOWED_AUDIENCES),
                list(client, AgentPolicy.ATTR_ALLOWED_CONNECTORS),
                list(client, AgentPolicy.ATTR_DOWNSTREAM_AGENTS),
                (int) AgentPolicy.number(client, AgentPolicy.ATTR_MAX_DEPTH, AgentPolicy.DEFAULT_MAX_DEPTH),
                AgentPolicy.number(client, AgentPolicy.ATTR_GRANT_LIFETIME, AgentPolicy.DEFAULT_GRANT_LIFETIME_SECONDS),
                "true".equals(client.getAttribute(AgentPolicy.ATTR_REFRESH_ALLOWED)),
                "true".equals(client.getAttribute(AgentPolicy.ATTR_PREAUTHORIZED)),
                list(client, ResourceServers.ATTR_RESOURCE_URIS),
                list(client, ResourceServers.ATTR_RESOURCE_CLIENTS));
    }

    private static List<String> list(ClientModel client, String attr) {
        return List.copyOf(AgentPolicy.split(client.getAttribute(attr)));
    }
}
