package org.agentauth.keycloak.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.keycloak.models.ClientModel;

/**
 * One client as the agent admin page sees it: identity shown on consent screens (name, description, logo and policy
 * URIs, all the client's own settings), whether it can be an agent at all, and its agent policy.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AgentRepresentation(
        String id,
        String clientId,
        String name,
        String description,
        String logoUri,
        String policyUri,
        boolean enabled,
        boolean publicClient,
        boolean bearerOnly,
        boolean serviceAccountsEnabled,
        /** Confidential with a service account: the precondition for being marked an agent. */
        boolean agentCapable,
        boolean agent,
        AgentPolicyRepresentation policy) {

    public static final String ATTR_LOGO_URI = "logoUri";
    public static final String ATTR_POLICY_URI = "policyUri";

    public static AgentRepresentation of(ClientModel c) {
        AgentPolicyRepresentation policy = AgentPolicyRepresentation.of(c);
        return new AgentRepresentation(c.getId(), c.getClientId(), c.getName(), c.getDescription(),
                c.getAttribute(ATTR_LOGO_URI), c.getAttribute(ATTR_POLICY_URI), c.isEnabled(), c.isPublicClient(),
                c.isBearerOnly(), c.isServiceAccountsEnabled(), agentCapable(c), Boolean.TRUE.equals(policy.agent()),
                policy);
    }

    /** Only a confidential client with a service account has an identity of its own to act with. */
    public static boolean agentCapable(ClientModel c) {
        return !c.isPublicClient() && !c.isBearerOnly() && c.isServiceAccountsEnabled();
    }
}
