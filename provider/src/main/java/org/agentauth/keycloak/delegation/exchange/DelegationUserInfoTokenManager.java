package org.agentauth.keycloak.delegation.exchange;

import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.token.ActChain;
import org.agentauth.keycloak.token.DelegatedClientSessionContext;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.token.ScopeNarrowing;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.models.ClientSessionContext;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.TokenManager;
import org.keycloak.representations.AccessToken;
import org.keycloak.utils.OAuth2Error;

/**
 * Keycloak's token manager for {@code /userinfo}: once Keycloak's userinfo endpoint has verified the token, its claims
 * come from the protocol mappers of the requesting client's default scopes plus the optional scopes the token's
 * {@code scope} names. For a token carrying {@code act} (DESIGN section 3 rule 5):
 * <ul>
 * <li>the exact grants the token is bound to must still be active, as at introspection: otherwise HTTP 401
 * {@code invalid_token} (RFC 6750) and a {@code USER_INFO_REQUEST_ERROR} event saying why;</li>
 * <li>the answer holds only the claims of the client scopes in the token's (granted) scope, plus the protocol claims
 * ({@link DelegatedClientSessionContext}), whichever scopes the client has as default or optional.</li>
 * </ul>
 * Every other token is answered exactly as by Keycloak.
 */
public class DelegationUserInfoTokenManager extends TokenManager {

    @Override
    public AccessToken transformUserInfoAccessToken(KeycloakSession session, AccessToken token, AccessToken userInfo,
            UserSessionModel userSession, ClientSessionContext clientSessionCtx) {
        if (token == null || !DelegatedTokens.isDelegated(token)) {
            return super.transformUserInfoAccessToken(session, token, userInfo, userSession, clientSessionCtx);
        }
        RealmModel realm = session.getContext().getRealm();
        EventBuilder event = new EventBuilder(realm, session, session.getContext().getConnection()).event(EventType.USER_INFO_REQUEST)
                .client(clientSessionCtx.getClientSession().getClient()).user(userSession.getUser()).session(userSession);
        try {
            ActChain chain = ActChain.parse(token.getOtherClaims().get(ActChain.ACT));
            if (!chain.isEmpty()) {
                event.detail(AgentAuthEvents.AGENT, chain.current().clientId()).detail(AgentAuthEvents.ACT_CHAIN, chain.describe());
            }
        } catch (IllegalArgumentException e) {
            // stillDelegated refuses it below
        }
        if (!DelegationIntrospectionProvider.stillDelegated(session, realm, userSession.getUser(), token, event)) {
            throw new OAuth2Error().json(false).session(session).realm(realm)
                    .invalidToken("The delegation grant this token was issued under is no longer active");
        }
        ClientSessionContext granted = DelegatedClientSessionContext.restrict(session, clientSessionCtx, ScopeNarrowing.split(token.getScope()));
        return super.transformUserInfoAccessToken(session, token, userInfo, userSession, granted);
    }
}
