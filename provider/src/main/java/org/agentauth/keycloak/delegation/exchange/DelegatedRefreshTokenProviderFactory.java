package org.agentauth.keycloak.delegation.exchange;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.protocol.oidc.refresh.RefreshTokenProvider;
import org.keycloak.protocol.oidc.refresh.RefreshTokenProviderFactory;

/** Registers {@link DelegatedRefreshTokenProvider}; order 10: tried before Keycloak's default provider (0). */
@AutoService(RefreshTokenProviderFactory.class)
public class DelegatedRefreshTokenProviderFactory implements RefreshTokenProviderFactory {

    public static final String PROVIDER_ID = "agent-delegation";

    @Override
    public RefreshTokenProvider create(KeycloakSession session) {
        return new DelegatedRefreshTokenProvider(session);
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
