package org.agentauth.keycloak.delegation.authz;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.delegation.OfflineAccess;
import org.agentauth.keycloak.delegation.scope.DelegationScopes;
import org.agentauth.keycloak.support.ClientLookupHook;
import org.agentauth.keycloak.support.ProtocolError;
import org.keycloak.OAuth2Constants;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.services.cors.Cors;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;
import org.keycloak.protocol.oidc.par.ParResponse;
import org.keycloak.protocol.oidc.par.endpoints.ParEndpoint;

/**
 * Keycloak's PAR endpoint, after the {@link ClientLookupHook}s (which may create the client first), plus the
 * {@code requested_actor} rules (DESIGN section 4.1): the pushed value is checked
 * here (HTTP 400 JSON {@code invalid_request}) after Keycloak's own checks and client authentication, and kept next to
 * the pushed request under its own key, so that the authorization endpoint takes it from there and from nowhere else
 * (and Keycloak's limit of 5 extra parameters cannot drop it). {@code offline_access} outside the agent's scope
 * ceiling (either flow) is {@code invalid_scope}, as at the authorization endpoint.
 */
public class AgentParEndpoint extends ParEndpoint {

    public AgentParEndpoint(KeycloakSession session, EventBuilder event) {
        super(session, event);
    }

    @Override
    @Path("/")
    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Produces(MediaType.APPLICATION_JSON)
    public Response request() {
        MultivaluedMap<String, String> form = session.getContext().getHttpRequest().getDecodedFormParameters();
        try {
            ClientLookupHook.runAll(session, ClientLookupHook.Endpoint.PAR, form);
        } catch (ProtocolError e) {
            // the hook recorded its own event; no client exists to authenticate, hence 400 and not 401
            // as Keycloak's request() sets them up before its own first refusal
            cors = Cors.builder().auth().allowedMethods("POST").auth().exposedHeaders(Cors.ACCESS_CONTROL_ALLOW_METHODS);
            event.event(EventType.PUSHED_AUTHORIZATION_REQUEST);
            throw errorResponseException(e.error(), e.description(), Response.Status.BAD_REQUEST);
        }
        String actor = form.getFirst(RequestedActor.PARAM);
        Response response = super.request();
        if (response.getStatus() != Response.Status.CREATED.getStatusCode() || !(response.getEntity() instanceof ParResponse par)) {
            return response;
        }
        String key = par.getRequestUri().substring(REQUEST_URI_PREFIX_LENGTH);
        String scope = form.getFirst(OAuth2Constants.SCOPE);
        String refusal = DelegationScopes.refusal(realm, client, scope, actor != null);
        if (refusal != null) {
            throw refuse(key, DelegationScopes.agentsIn(scope).get(0), OAuthErrorException.INVALID_REQUEST, refusal);
        }
        if (actor == null) {
            List<String> byScope = DelegationScopes.agentsIn(scope);
            String offline = byScope.isEmpty() ? null
                    : OfflineAccess.refusal(AgentPolicy.enabledAgent(realm, byScope.get(0)).orElseThrow(), client, scope);
            if (offline != null) {
                throw refuse(key, byScope.get(0), OAuthErrorException.INVALID_SCOPE, offline);
            }
            return response;
        }
        String error = null;
        String errorCode = OAuthErrorException.INVALID_REQUEST;
        if (!OAuth2Constants.CODE.equals(form.getFirst(OIDCLoginProtocol.RESPONSE_TYPE_PARAM))) {
            error = "requested_actor needs response_type=code";
        } else if (form.getFirst(OIDCLoginProtocol.CODE_CHALLENGE_PARAM) == null
                || !OAuth2Constants.PKCE_METHOD_S256.equals(form.getFirst(OIDCLoginProtocol.CODE_CHALLENGE_METHOD_PARAM))) {
            error = "requested_actor needs PKCE with code_challenge_method=S256";
        } else if (RequestedActor.containsMarker(scope)) {
            error = "Invalid scope";
        } else {
            try {
                error = OfflineAccess.refusal(RequestedActor.validate(realm, client, actor), client, scope);
                if (error != null) {
                    errorCode = OAuthErrorException.INVALID_SCOPE;
                }
            } catch (IllegalArgumentException e) {
                error = e.getMessage();
            }
        }
        if (error != null) {
            throw refuse(key, actor, errorCode, error);
        }
        session.singleUseObjects().put(RequestedActor.PAR_STORE_PREFIX + key, par.getExpiresIn(),
                Map.of(RequestedActor.PARAM, actor));
        return response;
    }

    /** Drops the pushed request and answers HTTP 400 with {@code error}, naming the agent on the event. */
    private RuntimeException refuse(String key, String agent, String error, String description) {
        session.singleUseObjects().remove(CACHE_KEY_PREFIX + key);
        if (agent.length() <= RequestedActor.MAX_LENGTH) {
            event.detail(AgentAuthEvents.AGENT, org.agentauth.keycloak.support.Strings.safeId(agent)); // never a whole token or code sent here
        }
        // errorResponseException records the PUSHED_AUTHORIZATION_REQUEST_ERROR event itself
        return errorResponseException(error, description, Response.Status.BAD_REQUEST);
    }
}
