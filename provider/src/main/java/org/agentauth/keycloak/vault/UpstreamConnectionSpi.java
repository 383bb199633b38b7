package org.agentauth.keycloak.vault;

import com.google.auto.service.AutoService;
import org.keycloak.provider.Provider;
import org.keycloak.provider.ProviderFactory;
import org.keycloak.provider.Spi;

/** The storage SPI of connections (DESIGN section 1: a small storage SPI per aggregate). */
@AutoService(Spi.class)
public class UpstreamConnectionSpi implements Spi {

    public static final String NAME = "agent-auth-connection";

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
        return UpstreamConnectionProvider.class;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Class<? extends ProviderFactory> getProviderFactoryClass() {
        return UpstreamConnectionProviderFactory.class;
    }
}
