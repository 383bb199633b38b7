package org.agentauth.keycloak.delegation.exchange;

import org.agentauth.keycloak.token.DelegatedClientSessionContext;
import org.agentauth.keycloak.token.DelegatedTokens;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.UriInfo;
import org.keycloak.OAuthErrorException;
import org.keycloak.common.ClientConnection;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.TokenManager;
import org.keycloak.protocol.oidc.refresh.DefaultRefreshTokenProvider;
import org.keycloak.protocol.oidc.refresh.InitialRefreshTokenContext;
import org.keycloak.protocol.oidc.refresh.RefreshTokenContext;
import org.keycloak.representations.RefreshToken;
import org.keycloak.util.TokenUtil;

/**
 * Refresh of a delegated refresh token (one carrying {@code act}): Keycloak's refresh, except that the client scopes
 * whose protocol mappers run are restricted to the scope the delegated token was issued with (plus the protocol
 * scopes {@code basic}, {@code acr}, {@code roles}: {@link DelegatedClientSessionContext}), as at issue (DESIGN section 3,
 * rules 5 and 8: Keycloak re-adds the client's default scopes at refresh, and their claims must not reach a delegated token). The
 * grant, agent and policy checks and the narrowing of {@code aud} and roles stay in {@link DelegatedTokenPostProcessor}.
 */
public class DelegatedRefreshTokenProvider extends DefaultRefreshTokenProvider {

    public DelegatedRefreshTokenProvider(KeycloakSession session) {
        super(session);
    }

    /** Initial refresh tokens are Keycloak's (the delegation post-processor records what they must). */
    @Override
    public boolean supports(InitialRefreshTokenContext initialRefreshTokenCtx) {
        return false;
    }

    @Override
    public boolean supports(RefreshTokenContext ctx) {
        RefreshToken rt = ctx.oldRefreshToken();
        return rt != null && DelegatedTokens.isDelegated(rt)
                && (TokenUtil.TOKEN_TYPE_REFRESH.equals(rt.getType()) || TokenUtil.TOKEN_TYPE_OFFLINE.equals(rt.getType()));
    }

    @Override
    protected TokenManager.TokenValidation validateToken(KeycloakSession session, UriInfo uriInfo, ClientConnection connection, RealmModel realm,
            RefreshToken oldToken, HttpHeaders headers, String scope, ClientModel client, TokenManager tokenManager, EventBuilder event)
            throws OAuthErrorException {
        TokenManager.TokenValidation v = super.validateToken(session, uriInfo, connection, realm, oldToken, headers, scope, client, tokenManager, event);
        return new TokenManager.TokenValidation(v.user, v.userSession,
                DelegatedClientSessionContext.restrict(session, v.clientSessionCtx, DelegatedTokens.issuedScope(oldToken)));
    }
}
