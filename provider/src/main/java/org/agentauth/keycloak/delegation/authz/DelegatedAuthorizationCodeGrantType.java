package org.agentauth.keycloak.delegation.authz;

import org.agentauth.keycloak.token.TokenContainment;
import org.agentauth.keycloak.audit.Audit;
import jakarta.ws.rs.core.Response;
import java.util.Set;
import java.util.function.Function;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.exchange.ActorTokenVerifier;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.support.ProtocolError;
import org.agentauth.keycloak.delegation.exchange.DelegationRules;
import org.agentauth.keycloak.resource.ResourceIndicators;
import org.keycloak.OAuth2Constants;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Errors;
import org.keycloak.models.ClientSessionContext;
import org.keycloak.models.UserModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.TokenManager;
import org.keycloak.protocol.oidc.grants.AuthorizationCodeGrantType;
import org.keycloak.representations.AccessToken;
import org.keycloak.services.CorsErrorResponseException;
import org.keycloak.services.clientpolicy.ClientPolicyContext;

/**
 * Keycloak's authorization code grant plus the {@code requested_actor} rules (DESIGN section 4.3 and 4.4). Every check
 * of the built-in grant runs first (the code is used up by then, whatever follows); then, for a code bound to an
 * agent, the {@code actor_token} (verified by the exchange's {@link ActorTokenVerifier}: the agent's client-credentials
 * access token, or a JWT it signed; default type access token) must be exactly that agent's, the user's grant must
 * still be active ({@link DelegationRules}), and the issued token gets {@code act} and the narrowing of
 * {@link DelegatedTokens#shape}; an offline token only where the agent's ceiling and the grant include
 * {@code offline_access}. A code not bound to an agent refuses {@code actor_token}. Refresh of the issued
 * tokens is handled by the exchange's {@code DelegatedTokenPostProcessor}, from what this grant records in the
 * refresh token.
 */
public class DelegatedAuthorizationCodeGrantType extends AuthorizationCodeGrantType {

    public static final String ACTOR_TOKEN = "actor_token";
    public static final String ACTOR_TOKEN_TYPE = "actor_token_type";

    private boolean refreshAllowed = true;

    @Override
    protected Response createTokenResponse(UserModel user, UserSessionModel userSession, ClientSessionContext clientSessionCtx,
            String scopeParam, boolean code, Function<TokenManager.AccessTokenResponseBuilder, ClientPolicyContext> clientPolicyContextGenerator) {
        ResourceIndicators.stashEvent(session, event);
        String actor = RequestedActor.actorOf(scopeParam);
        String actorToken = formParams.getFirst(ACTOR_TOKEN);
        String actorTokenType = formParams.getFirst(ACTOR_TOKEN_TYPE);
        if (actor == null) {
            if (actorToken != null || actorTokenType != null) {
                throw error(OAuthErrorException.INVALID_REQUEST, Errors.INVALID_REQUEST,
                        "actor_token is only allowed for a code issued with requested_actor");
            }
            return super.createTokenResponse(user, userSession, clientSessionCtx, scopeParam, code, clientPolicyContextGenerator);
        }

        event.detail(AgentAuthEvents.AGENT, actor);
        // RequestedActorLoginProtocol kept the marker out of the client session when the code was issued; a code issued
        // by a node without it (a rolling upgrade) still has it there
        RequestedActor.unmark(clientSessionCtx.getClientSession());

        if (actorToken == null || actorToken.isBlank()) {
            throw error(OAuthErrorException.INVALID_GRANT, Errors.INVALID_TOKEN, "actor_token is required: this code was issued for requested_actor");
        }
        String type = actorTokenType == null ? OAuth2Constants.ACCESS_TOKEN_TYPE : actorTokenType;
        ActorTokenVerifier.VerifiedActor verified;
        DelegationGrant grant;
        try {
            verified = new ActorTokenVerifier(session, realm).verify(actorToken, type);
            if (!actor.equals(verified.clientId())) {
                throw ProtocolError.invalidToken("actor_token is not a token of the requested actor");
            }
            grant = DelegatedIssue.verifiedGrant(session, realm, user, client, verified.agent());
        } catch (ProtocolError e) {
            // DESIGN 4.3: whatever is wrong with the actor (token, agent, host, grant) is invalid_grant here.
            throw error(OAuthErrorException.INVALID_GRANT, e.eventError(), e.description());
        }
        refreshAllowed = verified.agent().refreshAllowed();
        DelegatedIssue.Issued issued;
        try {
            issued = DelegatedIssue.issue(session, realm, client, verified, grant, clientSessionCtx, event,
                    ctx -> createTokenResponseBuilder(user, userSession, ctx, scopeParam, clientPolicyContextGenerator));
        } catch (ProtocolError e) {
            throw error(e.error(), e.eventError(), e.description());
        }
        return createTokenResponse(issued.builder(), issued.context(), code);
    }

    /** {@code resource} may be repeated (RFC 8707); checked by {@code ResourceIndicatorsPostProcessor}. */
    @Override
    public Set<String> getSupportedMultivaluedRequestParameters() {
        return Set.of(ResourceIndicators.PARAM);
    }

    /** {@code actor_token} is a token parameter: up to 20,000 characters, never silently dropped as longer extras are. */
    @Override
    public Set<String> getTokenParameterNames() {
        return Set.of(ACTOR_TOKEN);
    }

    @Override
    protected boolean useRefreshToken() {
        return refreshAllowed && super.useRefreshToken();
    }


    private CorsErrorResponseException error(String oauthError, String eventError, String description) {
        Audit.refused(event, description, eventError);
        return new CorsErrorResponseException(cors, oauthError, description, Response.Status.BAD_REQUEST);
    }

    /** Tokens of this grant that carry {@code act} or {@code may_act} are contained (DESIGN section 3, rule 5). */
    @Override
    public boolean isTokenAllowed(org.keycloak.models.KeycloakSession session, AccessToken token) {
        return org.agentauth.keycloak.token.TokenContainment.allowedAsBearer(session, token);
    }
}
