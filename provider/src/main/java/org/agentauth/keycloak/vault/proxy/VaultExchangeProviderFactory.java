package org.agentauth.keycloak.vault.proxy;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.protocol.oidc.TokenExchangeProvider;
import org.keycloak.protocol.oidc.TokenExchangeProviderFactory;

/** Registers the vault exchange. Order 25: above agent delegation (20), which declines these requests. */
@AutoService(TokenExchangeProviderFactory.class)
public class VaultExchangeProviderFactory implements TokenExchangeProviderFactory {

    public static final String PROVIDER_ID = "agent-auth-vault-exchange";

    @Override
    public TokenExchangeProvider create(KeycloakSession session) {
        return new VaultExchangeProvider();
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
        return 25;
    }
}
