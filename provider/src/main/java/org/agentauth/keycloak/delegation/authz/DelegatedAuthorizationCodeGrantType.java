package org.agentauth.keycloak.delegation.authz;

import jakarta.ws.rs.core.Response;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.delegation.AgentPolicy;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrants;
import org.keycloak.OAuth2Constants;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.models.AuthenticatedClientSessionModel;
import org.keycloak.models.ClientSessionContext;
import org.keycloak.models.UserModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.TokenManager;
import org.keycloak.protocol.oidc.grants.AuthorizationCodeGrantType;
import org.keycloak.services.CorsErrorResponseException;
import org.keycloak.services.Urls;
import org.keycloak.services.clientpolicy.ClientPolicyContext;

/**
 * Keycloak's authorization code grant plus the {@code requested_actor} rules (DESIGN section 4.3 and 4.4). Every check
 * of the built-in grant runs first (the code is used up by then, whatever follows); then, for a code bound to an
 * agent, the {@code actor_token} must be a valid client-credentials token of exactly that agent, the user's grant must
 * still be active, and the issued token gets {@code act} and the narrowing. A code not bound to an agent refuses
 * {@code actor_token}.
 */
public class DelegatedAuthorizationCodeGrantType extends AuthorizationCodeGrantType {

    public static final String ACTOR_TOKEN = "actor_token";
    public static final String ACTOR_TOKEN_TYPE = "actor_token_type";

    private boolean refreshAllowed = true;

    @Override
    protected Response createTokenResponse(UserModel user, UserSessionModel userSession, ClientSessionContext clientSessionCtx,
            String scopeParam, boolean code, Function<TokenManager.AccessTokenResponseBuilder, ClientPolicyContext> clientPolicyContextGenerator) {
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
        AuthenticatedClientSessionModel cs = clientSessionCtx.getClientSession();
        String noted = cs.getNote(OAuth2Constants.SCOPE);
        if (RequestedActor.containsMarker(noted)) {
            cs.setNote(OAuth2Constants.SCOPE, RequestedActor.withoutMarker(noted));
        }

        if (actorToken == null || actorToken.isBlank()) {
            throw error(OAuthErrorException.INVALID_GRANT, Errors.INVALID_TOKEN, "actor_token is required: this code was issued for requested_actor");
        }
        if (actorTokenType != null && !OAuth2Constants.ACCESS_TOKEN_TYPE.equals(actorTokenType)) {
            throw error(OAuthErrorException.INVALID_GRANT, Errors.INVALID_TOKEN, "Unsupported actor_token_type: use " + OAuth2Constants.ACCESS_TOKEN_TYPE);
        }
        AuthzActorToken.Verified verified;
        try {
            verified = AuthzActorToken.verify(session, realm, actorToken);
        } catch (IllegalArgumentException e) {
            throw error(OAuthErrorException.INVALID_GRANT, Errors.INVALID_TOKEN, e.getMessage());
        }
        if (!actor.equals(verified.agent().clientId())) {
            throw error(OAuthErrorException.INVALID_GRANT, Errors.INVALID_TOKEN, "actor_token is not a token of the requested actor");
        }
        AgentPolicy agent = verified.agent();
        if (!agent.allowsHost(client.getClientId())) {
            throw error(OAuthErrorException.INVALID_GRANT, Errors.NOT_ALLOWED, "The agent no longer allows this client as its host");
        }
        DelegationGrants grants = new DelegationGrants(session);
        Optional<DelegationGrant> grant = grants.findActive(realm, user.getId(), agent.client(), client);
        if (grant.isEmpty()) {
            throw error(OAuthErrorException.INVALID_GRANT, Errors.CONSENT_DENIED, "No active delegation grant for this agent");
        }
        Set<String> allowed = AuthzDelegatedTokens.intersect(grant.get().scopes(), agent.allowedScopes());
        Map<String, Object> act = AuthzDelegatedTokens.act(verified.serviceAccount().getId(), agent.clientId(),
                Urls.realmIssuer(session.getContext().getUri().getBaseUri(), realm.getName()));

        refreshAllowed = agent.refreshAllowed();
        TokenManager.AccessTokenResponseBuilder rb = createTokenResponseBuilder(user, userSession, clientSessionCtx, scopeParam,
                clientPolicyContextGenerator);
        Set<String> scope = AuthzDelegatedTokens.shape(rb.getAccessToken(), act, client.getClientId(), allowed);
        if (scope.isEmpty()) {
            throw error(OAuthErrorException.INVALID_SCOPE, Errors.INVALID_REQUEST, "No scope is left for the delegated token");
        }
        if (rb.getRefreshToken() != null) {
            rb.getRefreshToken().setScope(rb.getAccessToken().getScope());
            AuthzDelegatedTokens.recordInRefreshToken(rb.getRefreshToken(), rb.getAccessToken());
            AuthzDelegatedTokens.capExpiry(rb.getRefreshToken(), grant.get().expiresAt());
        }
        grants.touch(grant.get().id());
        event.detail(AgentAuthEvents.ACT_CHAIN, agent.clientId())
                .detail(AgentAuthEvents.HOST, client.getClientId())
                .detail(AgentAuthEvents.GRANT_ID, grant.get().id())
                .detail(AgentAuthEvents.SCOPE, String.join(" ", scope));
        return createTokenResponse(rb, clientSessionCtx, code);
    }

    @Override
    protected boolean useRefreshToken() {
        return refreshAllowed && super.useRefreshToken();
    }

    private CorsErrorResponseException error(String oauthError, String eventError, String description) {
        event.detail(Details.REASON, description);
        event.error(eventError);
        return new CorsErrorResponseException(cors, oauthError, description, Response.Status.BAD_REQUEST);
    }
}
