package org.agentauth.keycloak.resource;

import com.google.auto.service.AutoService;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.token.TokenPostProcessor;
import org.keycloak.protocol.oidc.token.TokenPostProcessorFactory;

/** Registers {@link ResourceIndicatorsPostProcessor} (SPI {@code token-interceptor}). */
@AutoService(TokenPostProcessorFactory.class)
public class ResourceIndicatorsPostProcessorFactory implements TokenPostProcessorFactory {

    public static final String PROVIDER_ID = "agent-auth-resource-indicators";

    @Override
    public TokenPostProcessor create(KeycloakSession session) {
        return new ResourceIndicatorsPostProcessor(session);
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    /** After the delegation post-processor (order 0): the resource decides {@code aud} last. */
    @Override
    public int order() {
        return -10;
    }
}
