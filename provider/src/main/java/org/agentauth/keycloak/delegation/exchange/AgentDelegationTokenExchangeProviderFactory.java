package org.agentauth.keycloak.delegation.exchange;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.common.Profile;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.protocol.oidc.TokenExchangeProvider;
import org.keycloak.protocol.oidc.TokenExchangeProviderFactory;
import org.keycloak.provider.EnvironmentDependentProviderFactory;

/**
 * Registers agent delegation by token exchange. Its order (20) puts it before Keycloak's standard provider (10) and
 * Keycloak 26.8's {@code delegation} provider (15), so no request with an actor or a delegated subject token
 * reaches them; every other request is declined and goes on to them.
 */
@AutoService(TokenExchangeProviderFactory.class)
public class AgentDelegationTokenExchangeProviderFactory implements TokenExchangeProviderFactory, EnvironmentDependentProviderFactory {

    public static final String PROVIDER_ID = "agent-delegation";
    public static final int ORDER = 20;

    @Override
    public TokenExchangeProvider create(KeycloakSession session) {
        return new AgentDelegationTokenExchangeProvider();
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
