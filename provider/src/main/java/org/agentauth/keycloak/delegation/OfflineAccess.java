package org.agentauth.keycloak.delegation;

import org.agentauth.keycloak.agent.AgentPolicy;
import java.util.Arrays;
import java.util.Collection;
import org.keycloak.OAuth2Constants;
import org.keycloak.models.ClientModel;

/**
 * {@code offline_access} in agent delegation (DESIGN section 3 rule 8): an offline refresh token outlives the browser
 * session, so a login that delegates to an agent (the {@code requested_actor} code flow, or consent by scope
 * {@code delegation:client:<agent>}) may ask for it only when the agent's scope ceiling allows it, and then the agent
 * consent screen lists it and the grant records it. A request outside the ceiling is refused before login
 * ({@code invalid_scope}); a token issued without the grant covering it carries no delegation.
 */
public final class OfflineAccess {

    public static final String SCOPE = OAuth2Constants.OFFLINE_ACCESS;

    private OfflineAccess() {
    }

    /**
     * Whether a login of {@code host} with this {@code scope} parameter gets an offline token: the parameter names
     * {@code offline_access}, or the host has it as a default client scope (Keycloak then adds it without being asked).
     */
    public static boolean requested(ClientModel host, String scope) {
        return (scope != null && Arrays.asList(scope.split(" ")).contains(SCOPE))
                || (host != null && host.getClientScopes(true).containsKey(SCOPE));
    }

    /** Why this login may not ask for {@code offline_access} with {@code agent}, or null when it may (or does not ask). */
    public static String refusal(AgentPolicy agent, ClientModel host, String scope) {
        if (!requested(host, scope) || agent.allowedScopes().contains(SCOPE)) {
            return null;
        }
        return "offline_access is outside the scope ceiling of agent " + agent.clientId();
    }

    /** Whether an offline token may carry a delegation that rests on a grant with these scopes. */
    public static boolean covered(AgentPolicy agent, Collection<String> grantScopes) {
        return agent.allowedScopes().contains(SCOPE) && grantScopes != null && grantScopes.contains(SCOPE);
    }
}
