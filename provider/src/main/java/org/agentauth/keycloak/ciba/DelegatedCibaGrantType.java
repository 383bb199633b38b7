package org.agentauth.keycloak.ciba;

import jakarta.ws.rs.core.Response;
import java.util.Set;
import java.util.function.Function;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.audit.Audit;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.authz.DelegatedAuthorizationCodeGrantType;
import org.agentauth.keycloak.delegation.authz.DelegatedIssue;
import org.agentauth.keycloak.delegation.exchange.ActorTokenVerifier;
import org.agentauth.keycloak.support.ProtocolError;
import org.agentauth.keycloak.token.TokenContainment;
import org.keycloak.OAuth2Constants;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Errors;
import org.keycloak.models.AuthenticatedClientSessionModel;
import org.keycloak.models.ClientSessionContext;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.UserModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.TokenManager;
import org.keycloak.protocol.oidc.grants.ciba.CibaGrantType;
import org.keycloak.protocol.oidc.grants.ciba.channel.CIBAAuthenticationRequest;
import org.keycloak.representations.AccessToken;
import org.keycloak.services.CorsErrorResponseException;
import org.keycloak.services.clientpolicy.ClientPolicyContext;

/**
 * Keycloak's CIBA grant plus the agent rules (DESIGN section 12). For an {@code auth_req_id} issued with
 * {@code requested_actor}, the poll must carry the agent's {@code actor_token} (the same proof as at code redemption):
 * missing is {@code invalid_request}, another agent's or an invalid one {@code invalid_grant}; both are checked before
 * Keycloak looks at the request's state, so they use nothing up. Then Keycloak's own answers ({@code slow_down},
 * {@code authorization_pending}, {@code access_denied}, {@code expired_token}); once approved, the token is issued under
 * the grant the user approved on the approval page and nothing else, exactly once, with {@code act} and the narrowing
 * of the code flow. A request without {@code requested_actor} is Keycloak's own CIBA, and refuses {@code actor_token}.
 */
public class DelegatedCibaGrantType extends CibaGrantType {

    /** Single-use store key prefix: the request whose token was issued (parallel polls get one token). */
    static final String ISSUED_PREFIX = "agent-auth-ciba-issued:";

    private ActorTokenVerifier.VerifiedActor verified;
    private String requestId;
    private boolean refreshAllowed = true;

    @Override
    public Response process(Context context) {
        setContext(context);
        String jwe = formParams.getFirst(AUTH_REQ_ID);
        String actorToken = formParams.getFirst(DelegatedAuthorizationCodeGrantType.ACTOR_TOKEN);
        String actorTokenType = formParams.getFirst(DelegatedAuthorizationCodeGrantType.ACTOR_TOKEN_TYPE);
        String actor = null;
        if (jwe != null && realm.getCibaPolicy().isOIDCCIBAGrantEnabled(client)) {
            try {
                CIBAAuthenticationRequest request = CIBAAuthenticationRequest.deserialize(session, jwe);
                actor = CibaBinding.stashed(request.getOtherClaims(), CibaBinding.STASH_ACTOR);
                requestId = request.getId();
                String approval = CibaBinding.stashed(request.getOtherClaims(), CibaBinding.STASH_REQUEST);
                if (approval != null) {
                    event.detail(AgentAuthEvents.CIBA_REQUEST_ID, approval);
                }
                if (request.getBindingMessage() != null) {
                    event.detail(AgentAuthEvents.BINDING_MESSAGE, request.getBindingMessage());
                }
            } catch (RuntimeException e) {
                actor = null; // Keycloak answers invalid_grant "Invalid Auth Req ID"
            }
        }
        if (actor == null) {
            if (actorToken != null || actorTokenType != null) {
                throw error(OAuthErrorException.INVALID_REQUEST, Errors.INVALID_REQUEST,
                        "actor_token is only allowed for a CIBA request made with requested_actor");
            }
            return super.process(context);
        }
        event.detail(AgentAuthEvents.AGENT, actor);
        if (actorToken == null || actorToken.isBlank()) {
            throw error(OAuthErrorException.INVALID_REQUEST, Errors.INVALID_TOKEN,
                    "actor_token is required: this auth_req_id was issued for requested_actor");
        }
        String type = actorTokenType == null ? OAuth2Constants.ACCESS_TOKEN_TYPE : actorTokenType;
        try {
            verified = new ActorTokenVerifier(session, realm).verify(actorToken, type);
        } catch (ProtocolError e) {
            throw error(OAuthErrorException.INVALID_GRANT, e.eventError(), e.description());
        }
        if (!actor.equals(verified.clientId())) {
            throw error(OAuthErrorException.INVALID_GRANT, Errors.INVALID_TOKEN, "actor_token is not a token of the requested actor");
        }
        return super.process(context);
    }

    @Override
    protected Response createTokenResponse(UserModel user, UserSessionModel userSession, ClientSessionContext clientSessionCtx,
            String scopeParam, boolean code, Function<TokenManager.AccessTokenResponseBuilder, ClientPolicyContext> clientPolicyContextGenerator) {
        if (verified == null) {
            return super.createTokenResponse(user, userSession, clientSessionCtx, scopeParam, code, clientPolicyContextGenerator);
        }
        // Keycloak's only guard against two polls that both passed its interval check is that check itself
        int lifespan = Math.max(60, realm.getCibaPolicy().getExpiresIn() + realm.getCibaPolicy().getPoolingInterval() + 10);
        if (!session.singleUseObjects().putIfAbsent(ISSUED_PREFIX + requestId, lifespan)) {
            throw error(OAuthErrorException.INVALID_GRANT, Errors.INVALID_CODE, "Invalid auth_req_id");
        }
        AuthenticatedClientSessionModel cs = clientSessionCtx.getClientSession();
        String approved = cs.getNote(CibaBinding.CALLBACK_NOTE_PREFIX + CibaBinding.APPROVED_GRANT);
        DelegationGrant grant;
        try {
            grant = DelegatedIssue.verifiedGrant(session, realm, user, client, verified.agent());
        } catch (ProtocolError e) {
            throw error(OAuthErrorException.INVALID_GRANT, e.eventError(), e.description());
        }
        if (approved == null || !approved.equals(grant.id())) {
            throw error(OAuthErrorException.INVALID_GRANT, Errors.INVALID_TOKEN,
                    "The delegation the user approved is no longer valid");
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

    /** Token parameters: up to 20,000 characters, never silently dropped as longer extras are. */
    @Override
    public Set<String> getTokenParameterNames() {
        return Set.of(AUTH_REQ_ID, DelegatedAuthorizationCodeGrantType.ACTOR_TOKEN);
    }

    @Override
    protected boolean useRefreshToken() {
        return refreshAllowed && super.useRefreshToken();
    }

    /** Tokens of this grant that carry {@code act} or {@code may_act} are contained (DESIGN section 3, rule 5). */
    @Override
    public boolean isTokenAllowed(KeycloakSession session, AccessToken token) {
        return TokenContainment.allowedAsBearer(session, token);
    }

    private CorsErrorResponseException error(String oauthError, String eventError, String description) {
        Audit.refused(event, description, eventError);
        return new CorsErrorResponseException(cors, oauthError, description, Response.Status.BAD_REQUEST);
    }
}
