package org.agentauth.keycloak.resource;

import org.agentauth.keycloak.agent.ResourceServers;
import jakarta.ws.rs.core.Response;
import java.util.List;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import java.util.LinkedHashSet;
import java.util.Set;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.token.ScopeNarrowing;
import org.agentauth.keycloak.token.TokenContainment;
import org.keycloak.jose.jws.JWSInput;
import org.keycloak.jose.jws.JWSInputException;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.models.ClientModel;
import org.keycloak.protocol.oidc.TokenExchangeContext;
import org.keycloak.protocol.oidc.TokenManager;
import org.keycloak.protocol.oidc.tokenexchange.StandardTokenExchangeProvider;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.JsonWebToken;
import org.keycloak.services.CorsErrorResponseException;

/**
 * Keycloak's standard token exchange (no actor) for resource servers (DESIGN section 9):
 * <ul>
 * <li>a subject token whose {@code aud} names a resource URI counts as issued to the client that owns that URI, so
 * the resource server (e.g. an MCP server) can exchange the tokens sent to it;</li>
 * <li>{@code resource} (RFC 8707) sets the new token's {@code aud} to exactly those resource URIs, each of which must
 * be a resource the requesting client may ask for; anything else is {@code invalid_target}.</li>
 * </ul>
 * Requests that need neither, and every request with an actor or a delegated subject token (those belong to agent
 * delegation), go on to Keycloak's own provider unchanged.
 */
public class ResourceTokenExchangeProvider extends StandardTokenExchangeProvider {

    private List<String> resources = List.of();

    @Override
    public boolean supports(TokenExchangeContext context) {
        TokenExchangeContext.Params p = context.getParams();
        if (p.getActorToken() != null || p.getActorTokenType() != null) {
            context.setUnsupportedReason("Resource exchange: requests with actor_token are agent delegation");
            return false;
        }
        List<String> requested = p.getResource();
        boolean withResource = requested != null && requested.stream().anyMatch(r -> r != null && !r.isEmpty());
        JsonWebToken subject = DelegatedTokens.peek(p.getSubjectToken()).orElse(null);
        if (subject != null && TokenContainment.carriesDelegation(subject)) {
            context.setUnsupportedReason("Resource exchange: a delegated subject token belongs to agent delegation");
            return false;
        }
        boolean forOwnResource = subject != null && subject.getAudience() != null
                && ResourceServers.ownsAny(context.getClient(), List.of(subject.getAudience()));
        boolean resourceServer = !ResourceServers.urisOf(context.getClient()).isEmpty();
        if (!withResource && !forOwnResource && !resourceServer) {
            context.setUnsupportedReason("Resource exchange: the client is no resource server, and no resource parameter and no resource URI of the client in the subject token's aud");
            return false;
        }
        return super.supports(context);
    }

    @Override
    protected Response tokenExchange() {
        List<String> raw = params.getResource() == null ? List.of() : params.getResource().stream().filter(r -> r != null && !r.isEmpty()).toList();
        if (!raw.isEmpty()) {
            try {
                resources = ResourceServers.validate(realm, client, raw);
            } catch (IllegalArgumentException e) {
                event.detail(AgentAuthEvents.RESOURCE, ResourceIndicators.safe(String.join(" ", raw)));
                event.detail(Details.REASON, e.getMessage());
                event.error(Errors.INVALID_REQUEST);
                throw new CorsErrorResponseException(cors, OAuthErrorException.INVALID_TARGET, e.getMessage(), Response.Status.BAD_REQUEST);
            }
            event.detail(AgentAuthEvents.RESOURCE, ResourceIndicators.join(resources));
        }
        return super.tokenExchange();
    }

    /** The requesting client is "within the audience" when it owns a resource URI the token was issued for. */
    @Override
    protected void forbiddenIfClientIsNotWithinTokenAudience(AccessToken token) {
        if (token != null && token.getAudience() != null && ResourceServers.ownsAny(client, List.of(token.getAudience()))) {
            return;
        }
        super.forbiddenIfClientIsNotWithinTokenAudience(token);
    }

    /**
     * With {@code resource}, the audience is exactly the requested resource URIs. And a resource server's exchange
     * never yields more than its subject token carried (DESIGN section 9): scope and roles within the subject token's,
     * never Keycloak's {@code account} or {@code realm-management} audiences or roles.
     */
    @Override
    protected void checkRequestedAudiences(TokenManager.AccessTokenResponseBuilder responseBuilder) {
        super.checkRequestedAudiences(responseBuilder);
        AccessToken at = responseBuilder.getAccessToken();
        if (!resources.isEmpty()) {
            at.audience(resources.toArray(String[]::new));
        }
        AccessToken subject;
        try {
            subject = new JWSInput(params.getSubjectToken()).readJsonContent(AccessToken.class);
        } catch (JWSInputException e) {
            // verified by the standard exchange before this hook; unreadable here means refuse, never pass through
            throw new CorsErrorResponseException(cors, OAuthErrorException.INVALID_REQUEST, "Invalid subject_token", Response.Status.BAD_REQUEST);
        }
        Set<String> subjectScope = Set.copyOf(ScopeNarrowing.split(subject.getScope()));
        Set<String> scope = new LinkedHashSet<>(ScopeNarrowing.split(at.getScope()));
        scope.retainAll(subjectScope);
        at.setScope(String.join(" ", scope));
        DelegatedTokens.Roles.of(subject).retain(at);
        TokenContainment.contain(at);
    }

}
