package org.agentauth.keycloak.delegation;

import com.google.auto.service.AutoService;
import org.keycloak.provider.Provider;
import org.keycloak.provider.ProviderFactory;
import org.keycloak.provider.Spi;

/** The storage SPI of delegation grants (DESIGN section 1: a small storage SPI per aggregate). */
@AutoService(Spi.class)
public class DelegationGrantSpi implements Spi {

    public static final String NAME = "agent-auth-delegation-grant";

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
        return DelegationGrantProvider.class;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Class<? extends ProviderFactory> getProviderFactoryClass() {
        return DelegationGrantProviderFactory.class;
    }
}
