package org.agentauth.keycloak.delegation.authz;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.OAuth2Constants;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.protocol.oidc.grants.AuthorizationCodeGrantTypeFactory;
import org.keycloak.protocol.oidc.grants.OAuth2GrantType;
import org.keycloak.protocol.oidc.grants.OAuth2GrantTypeFactory;

/**
 * Replaces Keycloak's {@code authorization_code} grant (same id and shortcut, higher order) with
 * {@link DelegatedAuthorizationCodeGrantType}. The shortcut must stay {@code ac}: it is part of every token id.
 */
@AutoService(OAuth2GrantTypeFactory.class)
public class DelegatedAuthorizationCodeGrantTypeFactory implements OAuth2GrantTypeFactory {

    public static final String PROVIDER_ID = OAuth2Constants.AUTHORIZATION_CODE;

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public String getShortcut() {
        return AuthorizationCodeGrantTypeFactory.GRANT_SHORTCUT;
    }

    @Override
    public int order() {
        return 10;
    }

    @Override
    public OAuth2GrantType create(KeycloakSession session) {
        return new DelegatedAuthorizationCodeGrantType();
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
    }

    @Override
    public void close() {
    }
}
