package org.agentauth.keycloak.delegation.exchange;

import jakarta.ws.rs.core.Response;
import org.keycloak.events.EventBuilder;
import org.agentauth.keycloak.token.TokenContainment;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.UserSessionModel;
import org.keycloak.representations.AccessToken;
import org.keycloak.protocol.oidc.RefreshTokenIntrospectionProvider;

/**
 * Refresh-token introspection ({@code token_type_hint=refresh_token}) that says {@code active: false} for a delegated
 * refresh token whose grant (the exact one it was issued under) was revoked or expired (DESIGN section 3, rules 5 and 8: revoking
 * the grant revokes its refresh tokens), and that answers a delegated one only within its grant.
 */
public class DelegationRefreshIntrospectionProvider extends RefreshTokenIntrospectionProvider {

    public DelegationRefreshIntrospectionProvider(KeycloakSession session) {
        super(session);
    }

    /** Only within the grant, as for access tokens ({@link DelegationIntrospectionProvider#withinGrant}). */
    @Override
    public Response introspect(String tokenStr, EventBuilder eventBuilder) {
        return DelegationIntrospectionProvider.withinGrant(super.introspect(tokenStr, eventBuilder), transformedToken);
    }

    /**
     * Keycloak rebuilds a refresh token's introspection answer from the user session and the client's scopes (its
     * default scopes' claims, {@code account} roles). A refresh token carrying {@code act} answers exactly what it
     * carries, less Keycloak's own clients (DESIGN section 3 rule 5), as {@link DelegationIntrospectionProvider} does
     * for access tokens.
     */
    @Override
    public AccessToken transformAccessToken(AccessToken token, UserSessionModel userSession) {
        if (TokenContainment.carriesDelegation(token)) {
            TokenContainment.contain(token);
            return token;
        }
        return super.transformAccessToken(token, userSession);
    }

    @Override
    protected boolean introspectionChecks(String tokenStr) {
        if (!super.introspectionChecks(tokenStr)) {
            return false;
        }
        if (DelegationIntrospectionProvider.stillDelegated(session, realm, user, token, eventBuilder)) {
            return true;
        }
        transformedToken = null;
        return false;
    }
}
