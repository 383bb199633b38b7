package org.agentauth.keycloak.token;

import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.grants.TokenExchangeGrantType;
import org.keycloak.representations.AccessToken;

/** Keycloak's token-exchange grant; its tokens that carry {@code act} are contained ({@link TokenContainment}). */
public class ContainedTokenExchangeGrantType extends TokenExchangeGrantType {

    @Override
    public boolean isTokenAllowed(KeycloakSession session, AccessToken token) {
        return TokenContainment.allowedAsBearer(session, token);
    }
}
