package org.agentauth.keycloak.cimd;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.wellknown.WellKnownProvider;
import org.keycloak.wellknown.WellKnownProviderFactory;

/**
 * {@code /.well-known/openid-configuration}: Keycloak's own provider, wrapped ({@link CimdWellKnownProvider}). Chosen
 * over Keycloak's (priority 100) by its lower priority; it wraps rather than extends so that the options of Keycloak's
 * factory keep working.
 */
@AutoService(WellKnownProviderFactory.class)
public class CimdOidcWellKnownProviderFactory implements WellKnownProviderFactory {

    public static final String PROVIDER_ID = "agent-auth-openid-configuration";

    private WellKnownProviderFactory stock;

    protected String stockId() {
        return "openid-configuration";
    }

    @Override
    public WellKnownProvider create(KeycloakSession session) {
        return new CimdWellKnownProvider(session, stock.create(session));
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
        stock = (WellKnownProviderFactory) factory.getProviderFactory(WellKnownProvider.class, stockId());
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public String getAlias() {
        return stockId();
    }

    @Override
    public int getPriority() {
        return 50;
    }
}
