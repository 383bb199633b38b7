package org.agentauth.keycloak.cimd;

import com.google.auto.service.AutoService;
import org.keycloak.provider.Provider;
import org.keycloak.provider.ProviderFactory;
import org.keycloak.provider.Spi;

/**
 * Server-level CIMD settings. Options ({@code --spi-agent-auth-cimd--default--<option>}): {@code allowed-hosts}
 * (comma-separated hosts whose documents may be fetched although they do not resolve to public addresses: for tests
 * and development only), {@code fetches-per-minute} (per realm and host, default 20).
 */
@AutoService(Spi.class)
public class CimdSpi implements Spi {

    public static final String NAME = "agent-auth-cimd";

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
        return CimdServerSettings.class;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Class<? extends ProviderFactory> getProviderFactoryClass() {
        return CimdServerSettingsFactory.class;
    }
}
