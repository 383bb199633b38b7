package org.agentauth.keycloak.resource;

import com.google.auto.service.AutoService;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.grants.OAuth2GrantType;
import org.keycloak.protocol.oidc.grants.OAuth2GrantTypeFactory;
import org.keycloak.protocol.oidc.grants.RefreshTokenGrantTypeFactory;

/** Replaces Keycloak's {@code refresh_token} grant (same id and shortcut, higher order) with {@link ResourceRefreshTokenGrantType}. */
@AutoService(OAuth2GrantTypeFactory.class)
public class ResourceRefreshTokenGrantTypeFactory extends RefreshTokenGrantTypeFactory {

    @Override
    public OAuth2GrantType create(KeycloakSession session) {
        return new ResourceRefreshTokenGrantType(session);
    }

    @Override
    public int order() {
        return 10;
    }
}
