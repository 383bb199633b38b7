package org.agentauth.keycloak.resource;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.common.Profile;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.protocol.oidc.TokenExchangeProvider;
import org.keycloak.protocol.oidc.TokenExchangeProviderFactory;
import org.keycloak.provider.EnvironmentDependentProviderFactory;

/**
 * Registers {@link ResourceTokenExchangeProvider}. Order 11: after agent delegation (20), before Keycloak's standard
 * provider (10), which gets every request this one declines.
 */
@AutoService(TokenExchangeProviderFactory.class)
public class ResourceTokenExchangeProviderFactory implements TokenExchangeProviderFactory, EnvironmentDependentProviderFactory {

    public static final String PROVIDER_ID = "resource-indicators";
    public static final int ORDER = 11;

    @Override
    public TokenExchangeProvider create(KeycloakSession session) {
        return new ResourceTokenExchangeProvider();
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
        return ORDER;
    }

    /** Builds on the standard token exchange (feature {@code token-exchange-standard}, on by default). */
    @Override
    public boolean isSupported(Config.Scope config) {
        return Profile.isFeatureEnabled(Profile.Feature.TOKEN_EXCHANGE_STANDARD_V2);
    }
}
