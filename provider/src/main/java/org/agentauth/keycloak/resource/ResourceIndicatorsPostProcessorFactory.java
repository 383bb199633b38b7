package org.agentauth.keycloak.resource;

import com.google.auto.service.AutoService;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.token.TokenPostProcessor;
import org.keycloak.protocol.oidc.token.TokenPostProcessorFactory;

/**
 * Registers {@link ResourceIndicatorsPostProcessor} (SPI {@code token-interceptor}) under the id of Keycloak's own
 * experimental resource-indicators post-processor, which it replaces when that feature is on (same id and order: a
 * provider outside Keycloak wins the tie). Keycloak's would otherwise refuse every resource URI that is not also a
 * client id in {@code aud}, so the realm behaves the same with the feature on or off (DESIGN section 9).
 */
@AutoService(TokenPostProcessorFactory.class)
public class ResourceIndicatorsPostProcessorFactory implements TokenPostProcessorFactory {

    public static final String PROVIDER_ID = "resource-indicators";

    @Override
    public TokenPostProcessor create(KeycloakSession session) {
        return new ResourceIndicatorsPostProcessor(session);
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    /** Keycloak's order (0); after the delegation post-processor (order 10): the resource decides {@code aud} last. */
    @Override
    public int order() {
        return 0;
    }
}
