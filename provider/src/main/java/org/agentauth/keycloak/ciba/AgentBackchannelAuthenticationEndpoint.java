package org.agentauth.keycloak.ciba;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.agent.ConnectorResources;
import org.agentauth.keycloak.agent.ResourceServers;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.delegation.OfflineAccess;
import org.agentauth.keycloak.delegation.authz.RequestedActor;
import org.agentauth.keycloak.delegation.scope.DelegationScopes;
import org.agentauth.keycloak.resource.ResourceIndicators;
import org.agentauth.keycloak.support.RealmIssuer;
import org.agentauth.keycloak.support.Strings;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.models.CibaConfig;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.grants.ciba.channel.AuthenticationChannelProvider;
import org.keycloak.protocol.oidc.grants.ciba.channel.CIBAAuthenticationRequest;
import org.keycloak.protocol.oidc.grants.ciba.endpoints.BackchannelAuthenticationEndpoint;
import org.keycloak.protocol.oidc.grants.ciba.endpoints.request.BackchannelAuthenticationEndpointRequest;
import org.keycloak.protocol.oidc.grants.ciba.endpoints.request.BackchannelAuthenticationEndpointRequestParser;
import org.keycloak.services.ErrorResponseException;

/**
 * Keycloak's CIBA backchannel authentication endpoint plus the agent rules (DESIGN section 12). After Keycloak's own
 * checks (client authentication, user, scope, {@code binding_message}) and before it seals the request into the
 * encrypted {@code auth_req_id}, this endpoint:
 * <ul>
 * <li>refuses any parameter named like a claim of the {@code auth_req_id} ({@code sub}, {@code jti}, ...) or our stash,
 * which Keycloak would otherwise let replace that claim;</li>
 * <li>checks {@code requested_actor} exactly as the authorization endpoint does (enabled agent, allowed host, consent
 * enabled, {@code offline_access} within the ceiling), plus what a backchannel request needs: a confidential client, poll
 * mode, and this JAR's approval channel;</li>
 * <li>checks {@code resource} (RFC 8707, one value, a connector only for an agent that allows it) and
 * {@code authorization_details} ({@code agent_action} with a description);</li>
 * <li>keeps the binding inside the {@code auth_req_id} for the token endpoint.</li>
 * </ul>
 * Every refusal is a 400 with its OAuth error, never the 503 Keycloak gives for channel failures. Values are read from
 * the raw form: Keycloak keeps at most five unknown parameters of at most 200 characters each, in no defined order.
 */
public class AgentBackchannelAuthenticationEndpoint extends BackchannelAuthenticationEndpoint {

    /** Session attribute for the channel: the {@code scope} parameter as sent (Keycloak's has the consent scopes added). */
    static final String ATTR_SCOPE = "agent-auth.ciba.scope";
    /** Session attribute for the channel: the agent the user is asked to delegate to. */
    static final String ATTR_AGENT = "agent-auth.ciba.agent";

    private final KeycloakSession session;
    private final EventBuilder event;

    public AgentBackchannelAuthenticationEndpoint(KeycloakSession session, EventBuilder event) {
        super(session, event);
        this.session = session;
        this.event = event;
    }

    @Override
    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Produces(MediaType.APPLICATION_JSON)
    public Response processGrantRequest() {
        // re-declared so that the JAX-RS method is this class's own (as for PAR); the answer carries an auth_req_id
        Response r = super.processGrantRequest();
        AgentCibaChannelProvider.Stored stored = session.getAttribute(AgentCibaChannelProvider.ATTR_STORED, AgentCibaChannelProvider.Stored.class);
        if (r.getStatus() == 200 && stored != null) {
            // Keycloak records no event for an accepted backchannel request: ours, with what the user will be asked
            event.clone().event(EventType.OAUTH2_DEVICE_AUTH).user(stored.userId())
                    .detail(AgentAuthEvents.OPERATION, "ciba_request")
                    .detail(AgentAuthEvents.HOST, stored.host())
                    .detail(AgentAuthEvents.CIBA_REQUEST_ID, stored.id())
                    .detail(AgentAuthEvents.BINDING_MESSAGE, stored.bindingMessage() == null ? "" : stored.bindingMessage())
                    .detail(AgentAuthEvents.SCOPE, stored.scope())
                    .success();
        }
        return Response.fromResponse(r).header("Cache-Control", "no-store").header("Pragma", "no-cache").build();
    }

    @Override
    protected void extractAdditionalParams(BackchannelAuthenticationEndpointRequest endpointRequest, CIBAAuthenticationRequest request) {
        RealmModel realm = session.getContext().getRealm();
        ClientModel client = request.getClient();
        MultivaluedMap<String, String> form = session.getContext().getHttpRequest().getDecodedFormParameters();
        Map<String, String> extra = endpointRequest.getAdditionalReqParams() == null ? new HashMap<>()
                : new HashMap<>(endpointRequest.getAdditionalReqParams());

        // a form parameter Keycloak does not know is copied into the auth_req_id's claims: never one named like a claim
        Set<String> unknown = new LinkedHashSet<>(form.keySet());
        unknown.removeAll(BackchannelAuthenticationEndpointRequestParser.KNOWN_REQ_PARAMS);
        String reserved = CibaBinding.firstReserved(unknown);
        if (reserved != null) {
            throw refuse(null, OAuthErrorException.INVALID_REQUEST, "Parameter not allowed: " + Strings.safeId(reserved));
        }
        String actor = single(form, extra, CibaBinding.REQUESTED_ACTOR);
        String resource = single(form, extra, CibaBinding.RESOURCE);
        String details = single(form, extra, CibaBinding.AUTHORIZATION_DETAILS);
        String scope = endpointRequest.getScope();
        Integer maxAge;
        try {
            maxAge = CibaBinding.maxAge(form.getFirst(CibaBinding.MAX_AGE));
        } catch (IllegalArgumentException e) {
            throw refuse(actor, OAuthErrorException.INVALID_REQUEST, e.getMessage());
        }

        AgentPolicy agent = null;
        List<String> byScope = DelegationScopes.agentsIn(scope);
        if (RequestedActor.containsMarker(scope)) {
            throw refuse(actor, OAuthErrorException.INVALID_SCOPE, "Invalid scope");
        }
        if (!byScope.isEmpty()) {
            String refusal = DelegationScopes.refusal(realm, client, scope, actor != null);
            if (refusal != null) {
                throw refuse(actor != null ? actor : byScope.get(0),
                        actor != null ? OAuthErrorException.INVALID_REQUEST : OAuthErrorException.INVALID_SCOPE, refusal);
            }
        }
        if (actor != null) {
            try {
                agent = RequestedActor.validate(realm, client, actor);
            } catch (IllegalArgumentException e) {
                throw refuse(actor, OAuthErrorException.INVALID_REQUEST, e.getMessage());
            }
        } else if (!byScope.isEmpty()) {
            agent = AgentPolicy.enabledAgent(realm, byScope.get(0)).orElseThrow();
        }
        if (agent != null) {
            String offline = OfflineAccess.refusal(agent, client, scope);
            if (offline != null) {
                throw refuse(agent.clientId(), OAuthErrorException.INVALID_SCOPE, offline);
            }
            if (!RequestedActor.consentEnabled(realm)) {
                throw refuse(agent.clientId(), OAuthErrorException.INVALID_REQUEST,
                        "Agent consent (required action " + RequestedActor.CONSENT_ACTION + ") is not enabled in this realm");
            }
            if (client.isPublicClient()) {
                throw refuse(agent.clientId(), OAuthErrorException.UNAUTHORIZED_CLIENT, "A CIBA request for an agent needs a confidential client");
            }
            if (!CibaConfig.CIBA_POLL_MODE.equals(realm.getCibaPolicy().getBackchannelTokenDeliveryMode(client))) {
                throw refuse(agent.clientId(), OAuthErrorException.INVALID_REQUEST, "A CIBA request for an agent needs the poll mode");
            }
        }
        if (!(session.getProvider(AuthenticationChannelProvider.class) instanceof AgentCibaChannelProvider) && (agent != null || details != null)) {
            throw refuse(actor, OAuthErrorException.INVALID_REQUEST,
                    "This server's CIBA channel is not the agent-auth approval channel, which requests for agents need");
        }

        String normalized = null;
        if (resource != null) {
            String connector = ConnectorResources.aliasOf(RealmIssuer.of(session, realm), resource);
            try {
                if (connector != null) {
                    if (actor == null) {
                        throw new IllegalArgumentException("A connector's resource can only be requested with requested_actor (an agent acting for the user)");
                    }
                    if (!ConnectorResources.exists(realm, connector) || !agent.allowedConnectors().contains(connector)) {
                        throw new IllegalArgumentException("Connector " + connector + " is not allowed for agent " + actor);
                    }
                    normalized = ResourceServers.normalize(resource);
                } else {
                    normalized = ResourceIndicators.join(ResourceServers.validate(realm, client, List.of(resource)));
                }
            } catch (IllegalArgumentException e) {
                event.detail(AgentAuthEvents.RESOURCE, Strings.safe(resource, 200));
                throw refuse(actor, OAuthErrorException.INVALID_TARGET, e.getMessage());
            }
        }
        String description = null;
        if (details != null) {
            try {
                description = CibaBinding.actionDescription(details);
            } catch (IllegalArgumentException e) {
                throw refuse(actor, "invalid_authorization_details", e.getMessage());
            }
        }

        // what stock does with the harmless rest (a plain request behaves as before), without our own parameters
        for (String name : List.of(CibaBinding.REQUESTED_ACTOR, CibaBinding.RESOURCE, CibaBinding.AUTHORIZATION_DETAILS)) {
            endpointRequest.getAdditionalReqParams().remove(name);
        }
        // a signed request object's own claims (iss, aud, exp, iat, jti, ...) reach this map too: dropped, never copied
        endpointRequest.getAdditionalReqParams().keySet().removeIf(CibaBinding::reserved);
        super.extractAdditionalParams(endpointRequest, request);
        String id = UUID.randomUUID().toString();
        request.setOtherClaims(CibaBinding.STASH_REQUEST, id);
        if (actor != null) {
            request.setOtherClaims(CibaBinding.STASH_ACTOR, agent.clientId());
            event.detail(AgentAuthEvents.AGENT, agent.clientId());
        }
        if (normalized != null) {
            request.setOtherClaims(CibaBinding.STASH_RESOURCE, normalized);
            event.detail(AgentAuthEvents.RESOURCE, normalized);
        }
        session.setAttribute(ATTR_SCOPE, scope);
        if (agent != null) {
            session.setAttribute(ATTR_AGENT, agent.clientId()); // requested_actor, or consent by scope (no act)
        }
        if (description != null) {
            session.setAttribute(AgentCibaChannelProvider.ATTR_DESCRIPTION, description);
        }
        if (maxAge != null) {
            session.setAttribute(AgentCibaChannelProvider.ATTR_MAX_AGE, maxAge);
        }
    }

    /** The one value of a parameter (form first, else a signed request object's claim); repeated is refused. */
    private String single(MultivaluedMap<String, String> form, Map<String, String> extra, String name) {
        List<String> values = form.get(name);
        if (values != null && values.size() > 1) {
            throw refuse(null, name.equals(CibaBinding.RESOURCE) ? OAuthErrorException.INVALID_TARGET : OAuthErrorException.INVALID_REQUEST,
                    "Only one " + name + " can be given");
        }
        String v = values != null && !values.isEmpty() ? values.get(0) : extra.get(name);
        return v == null || v.isEmpty() ? null : v;
    }

    private ErrorResponseException refuse(String agent, String error, String description) {
        if (agent != null && agent.length() <= RequestedActor.MAX_LENGTH) {
            event.detail(AgentAuthEvents.AGENT, Strings.safeId(agent));
        }
        event.detail(Details.REASON, description).error(Errors.INVALID_REQUEST);
        return new ErrorResponseException(error, description, Response.Status.BAD_REQUEST);
    }
}
