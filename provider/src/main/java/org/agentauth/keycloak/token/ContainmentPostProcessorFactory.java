package org.agentauth.keycloak.token;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.protocol.oidc.token.TokenPostProcessor;
import org.keycloak.protocol.oidc.token.TokenPostProcessorFactory;

/** Registers {@link ContainmentPostProcessor}; order -100: after every other post-processor (higher runs first). */
@AutoService(TokenPostProcessorFactory.class)
public class ContainmentPostProcessorFactory implements TokenPostProcessorFactory {

    public static final String PROVIDER_ID = "agent-auth-containment";

    @Override
    public TokenPostProcessor create(KeycloakSession session) {
        return new ContainmentPostProcessor(session);
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
        return -100;
    }
}
