package org.agentauth.keycloak.delegation.authz;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.protocol.oidc.token.TokenPostProcessor;
import org.keycloak.protocol.oidc.token.TokenPostProcessorFactory;

/** Registers {@link AuthzRefreshPostProcessor}. */
@AutoService(TokenPostProcessorFactory.class)
public class AuthzRefreshPostProcessorFactory implements TokenPostProcessorFactory {

    public static final String PROVIDER_ID = "agent-auth-authz-refresh";

    @Override
    public TokenPostProcessor create(KeycloakSession session) {
        return new AuthzRefreshPostProcessor(session);
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
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
