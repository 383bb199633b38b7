package org.agentauth.keycloak.vault;

import com.google.auto.service.AutoService;
import org.keycloak.provider.Provider;
import org.keycloak.provider.ProviderFactory;
import org.keycloak.provider.Spi;

/** Connectors as realm components (DESIGN section 5): realm export and import carry them. */
@AutoService(Spi.class)
public class ConnectorSpi implements Spi {

    public static final String NAME = "agent-auth-connector";

    @Override
    public boolean isInternal() {
        return false;
    }

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public Class<? extends Provider> getProviderClass() {
        return ConnectorProvider.class;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Class<? extends ProviderFactory> getProviderFactoryClass() {
        return ConnectorProviderFactory.class;
    }
}
