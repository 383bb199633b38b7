package org.agentauth.keycloak.delegation.exchange;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.protocol.oidc.TokenIntrospectionProvider;
import org.keycloak.protocol.oidc.TokenIntrospectionProviderFactory;

/**
 * Replaces Keycloak's {@code refresh_token} introspection provider (same id, higher order) with
 * {@link DelegationRefreshIntrospectionProvider}, which behaves the same for refresh tokens without {@code act}.
 */
@AutoService(TokenIntrospectionProviderFactory.class)
public class DelegationRefreshIntrospectionProviderFactory implements TokenIntrospectionProviderFactory {

    public static final String PROVIDER_ID = "refresh_token";

    @Override
    public TokenIntrospectionProvider create(KeycloakSession session) {
        return new DelegationRefreshIntrospectionProvider(session);
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

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public int order() {
        return 10;
    }
}
