package org.agentauth.keycloak.delegation.exchange;

import com.google.auto.service.AutoService;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.token.TokenPostProcessor;
import org.keycloak.protocol.oidc.token.TokenPostProcessorFactory;

/** Registers {@link DelegatedTokenPostProcessor} (SPI {@code token-interceptor}). */
@AutoService(TokenPostProcessorFactory.class)
public class DelegatedTokenPostProcessorFactory implements TokenPostProcessorFactory {

    public static final String PROVIDER_ID = "agent-delegation";

    @Override
    public TokenPostProcessor create(KeycloakSession session) {
        return new DelegatedTokenPostProcessor(session);
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    /** Before the resource post-processor (order 0), which sets {@code aud} last; higher runs first. */
    @Override
    public int order() {
        return 10;
    }
}
