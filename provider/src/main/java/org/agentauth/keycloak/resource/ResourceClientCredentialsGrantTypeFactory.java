package org.agentauth.keycloak.resource;

import com.google.auto.service.AutoService;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.grants.OAuth2GrantType;
import org.keycloak.protocol.oidc.grants.OAuth2GrantTypeFactory;
import org.keycloak.protocol.oidc.grants.ClientCredentialsGrantTypeFactory;

/** Replaces Keycloak's {@code client_credentials} grant (same id and shortcut, higher order) with {@link ResourceClientCredentialsGrantType}. */
@AutoService(OAuth2GrantTypeFactory.class)
public class ResourceClientCredentialsGrantTypeFactory extends ClientCredentialsGrantTypeFactory {

    @Override
    public OAuth2GrantType create(KeycloakSession session) {
        return new ResourceClientCredentialsGrantType(session);
    }

    @Override
    public int order() {
        return 10;
    }
}
