package org.agentauth.keycloak.delegation.exchange;

import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.RefreshTokenIntrospectionProvider;

/**
 * Refresh-token introspection ({@code token_type_hint=refresh_token}) that says {@code active: false} for a delegated
 * refresh token whose grant was revoked (DESIGN section 3, rule 8: revoking the grant revokes its refresh tokens).
 */
public class DelegationRefreshIntrospectionProvider extends RefreshTokenIntrospectionProvider {

    public DelegationRefreshIntrospectionProvider(KeycloakSession session) {
        super(session);
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
