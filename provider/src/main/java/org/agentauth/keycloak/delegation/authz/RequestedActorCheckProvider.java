package org.agentauth.keycloak.delegation.authz;

import org.agentauth.keycloak.support.RealmIssuer;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.agent.ConnectorResources;
import org.agentauth.keycloak.delegation.OfflineAccess;
import org.agentauth.keycloak.delegation.scope.DelegationScopes;
import org.jboss.logging.Logger;
import org.keycloak.OAuth2Constants;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;
import org.keycloak.protocol.oidc.endpoints.AuthorizationEndpointCheckProvider;
import org.keycloak.protocol.oidc.endpoints.AuthorizationEndpointChecker;
import org.keycloak.protocol.oidc.endpoints.request.AuthorizationEndpointRequest;
import org.keycloak.protocol.oidc.par.endpoints.ParEndpoint;

/**
 * Checks {@code requested_actor} at the authorization endpoint, before any login (DESIGN section 4.1): response type
 * {@code code} only, PKCE S256, an enabled agent that allows the client as its host. A failure is redirected to the
 * (already validated) redirect URI as {@code invalid_request} with {@code state} and {@code iss}.
 *
 * <p>The value is read from the raw request (query or form), never from Keycloak's additional-parameter list, which
 * keeps at most 5 unknown parameters; through PAR it comes only from what was pushed (see {@link AgentParEndpoint}),
 * and a copy next to {@code request_uri} is refused. The validated value is then put back into the request's
 * additional parameters, so Keycloak stores it in the new authentication session whatever the limit dropped.
 *
 * <p>{@code offline_access} with an agent (either flow) outside the agent's scope ceiling is refused here as
 * {@code invalid_scope} ({@link OfflineAccess}). The check only reads configuration: the consent required action and
 * the {@code delegation:client:*} scopes are kept in step at start-up, realm creation/import and client changes.
 */
public class RequestedActorCheckProvider implements AuthorizationEndpointCheckProvider {

    private static final Logger LOG = Logger.getLogger(RequestedActorCheckProvider.class);
    static final String CONSENT_DISABLED = "Agent consent (required action " + RequestedActor.CONSENT_ACTION
            + ") is not enabled in this realm";

    private final KeycloakSession session;

    public RequestedActorCheckProvider(KeycloakSession session) {
        this.session = session;
    }

    @Override
    public void check(AuthorizationEndpointChecker checker) throws AuthorizationEndpointChecker.AuthorizationCheckException {
        AuthorizationEndpointRequest request = checker.getAuthorizationEndpointRequest();
        if (request == null) {
            return;
        }
        Map<String, String> extra = request.getAdditionalReqParams();
        String fromQuery = checker.getQueryParams() == null ? null : checker.getQueryParams().getFirst(RequestedActor.PARAM);
        String requestUri = checker.getQueryParams() == null ? null : checker.getQueryParams().getFirst(OIDCLoginProtocol.REQUEST_URI_PARAM);

        if (RequestedActor.containsMarker(request.getScope())) {
            throw fail(checker, null, OAuthErrorException.INVALID_SCOPE, "Invalid scope");
        }

        String actor;
        if (requestUri != null && requestUri.startsWith(ParEndpoint.REQUEST_URI_PREFIX)) {
            if (fromQuery != null) {
                throw fail(checker, fromQuery, OAuthErrorException.INVALID_REQUEST,
                        "requested_actor must be pushed with the request (PAR), not repeated in the query");
            }
            String key = RequestedActor.PAR_STORE_PREFIX + requestUri.substring(ParEndpoint.REQUEST_URI_PREFIX_LENGTH);
            Map<String, String> pushed = session.singleUseObjects().remove(key);
            actor = pushed == null ? null : pushed.get(RequestedActor.PARAM);
            if (actor == null && extra != null && extra.containsKey(RequestedActor.PARAM)) {
                // pushed without our PAR endpoint having checked it: never trust it
                throw fail(checker, extra.get(RequestedActor.PARAM), OAuthErrorException.INVALID_REQUEST,
                        "requested_actor was not checked when it was pushed");
            }
        } else {
            actor = fromQuery != null ? fromQuery : (extra == null ? null : extra.get(RequestedActor.PARAM));
        }
        if (extra != null) {
            extra.remove(RequestedActor.PARAM);
        }
        checkDelegationScope(checker, request, actor);
        String connector = request.getResource() == null ? null : ConnectorResources.aliasOf(
                RealmIssuer.of(session, checker.getRealm()), request.getResource());
        if (actor == null) {
            if (connector != null) {
                // only a token that acts for the user reaches a connected account (DESIGN section 5)
                throw fail(checker, null, OAuthErrorException.INVALID_TARGET,
                        "A connector's resource can only be requested with requested_actor (an agent acting for the user)");
            }
            return;
        }

        if (!OAuth2Constants.CODE.equals(request.getResponseType())) {
            throw fail(checker, actor, OAuthErrorException.INVALID_REQUEST, "requested_actor needs response_type=code");
        }
        if (request.getCodeChallenge() == null || !OAuth2Constants.PKCE_METHOD_S256.equals(request.getCodeChallengeMethod())) {
            throw fail(checker, actor, OAuthErrorException.INVALID_REQUEST, "requested_actor needs PKCE with code_challenge_method=S256");
        }
        AgentPolicy agent;
        try {
            agent = RequestedActor.validate(checker.getRealm(), checker.getClient(), actor);
        } catch (IllegalArgumentException e) {
            throw fail(checker, actor, OAuthErrorException.INVALID_REQUEST, e.getMessage());
        }
        if (connector != null && !agent.allowedConnectors().contains(connector)) {
            throw fail(checker, actor, OAuthErrorException.INVALID_TARGET, "Connector " + connector + " is not allowed for agent " + actor);
        }
        String offline = OfflineAccess.refusal(agent, checker.getClient(), request.getScope());
        if (offline != null) {
            throw fail(checker, actor, OAuthErrorException.INVALID_SCOPE, offline);
        }
        if (!RequestedActor.consentEnabled(checker.getRealm())) {
            throw fail(checker, actor, OAuthErrorException.INVALID_REQUEST, CONSENT_DISABLED);
        }
        if (extra != null) {
            // Keycloak writes these to the new authentication session as client_request_param_* notes.
            extra.put(RequestedActor.PARAM, actor);
        }
        LOG.debugf("requested_actor %s accepted for client %s", actor, checker.getClient().getClientId());
    }

    /** Consent by scope (DESIGN section 4.6): a {@code delegation:client:<agent>} scope the agent's policy allows. */
    private static void checkDelegationScope(AuthorizationEndpointChecker checker, AuthorizationEndpointRequest request, String actor)
            throws AuthorizationEndpointChecker.AuthorizationCheckException {
        java.util.List<String> agents = DelegationScopes.agentsIn(request.getScope());
        if (agents.isEmpty()) {
            return;
        }
        String refusal = DelegationScopes.refusal(checker.getRealm(), checker.getClient(), request.getScope(), actor != null);
        if (refusal == null) {
            // refusal() found an enabled agent that allows this host
            AgentPolicy agent = AgentPolicy.enabledAgent(checker.getRealm(), agents.get(0)).orElseThrow();
            refusal = OfflineAccess.refusal(agent, checker.getClient(), request.getScope());
        }
        if (refusal == null && !RequestedActor.consentEnabled(checker.getRealm())) {
            refusal = CONSENT_DISABLED;
        }
        if (refusal != null) {
            throw fail(checker, actor != null ? actor : agents.get(0),
                    actor != null ? OAuthErrorException.INVALID_REQUEST : OAuthErrorException.INVALID_SCOPE, refusal);
        }
        LOG.debugf("delegation scope for agent %s accepted for client %s", agents.get(0), checker.getClient().getClientId());
    }

    private static AuthorizationEndpointChecker.AuthorizationCheckException fail(AuthorizationEndpointChecker checker, String actor,
            String error, String description) {
        if (checker.getEventBuilder() != null) {
            if (actor != null && actor.length() <= RequestedActor.MAX_LENGTH) {
                checker.getEventBuilder().detail(AgentAuthEvents.AGENT, org.agentauth.keycloak.support.Strings.safeId(actor)); // never a whole token or code sent here
            }
            checker.getEventBuilder().detail(Details.REASON, description).error(Errors.INVALID_REQUEST);
        }
        return new AuthorizationEndpointChecker.AuthorizationCheckException(Response.Status.BAD_REQUEST, error, description);
    }

    @Override
    public void close() {
    }
}
