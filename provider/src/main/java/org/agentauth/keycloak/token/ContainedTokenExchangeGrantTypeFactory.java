package org.agentauth.keycloak.token;

import com.google.auto.service.AutoService;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.grants.OAuth2GrantType;
import org.keycloak.protocol.oidc.grants.OAuth2GrantTypeFactory;
import org.keycloak.protocol.oidc.grants.TokenExchangeGrantTypeFactory;

/**
 * Replaces Keycloak's token-exchange grant (same id and shortcut, higher order) with
 * {@link ContainedTokenExchangeGrantType}, so that delegated tokens are refused by Keycloak's bearer-token APIs.
 */
@AutoService(OAuth2GrantTypeFactory.class)
public class ContainedTokenExchangeGrantTypeFactory extends TokenExchangeGrantTypeFactory {

    @Override
    public OAuth2GrantType create(KeycloakSession session) {
        return new ContainedTokenExchangeGrantType();
    }

    @Override
    public int order() {
        return 10;
    }
}
