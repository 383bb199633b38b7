package org.agentauth.keycloak.vault;

import com.google.auto.service.AutoService;
import org.keycloak.provider.Provider;
import org.keycloak.provider.ProviderFactory;
import org.keycloak.provider.Spi;

/**
 * Server-level vault settings. Options ({@code --spi-agent-auth-vault--default--<option>}, or the environment variable
 * {@code KC_SPI_AGENT_AUTH_VAULT__DEFAULT__<OPTION>}): {@code keys}, {@code active-key}, {@code allowed-hosts}.
 */
@AutoService(Spi.class)
public class VaultSettingsSpi implements Spi {

    public static final String NAME = "agent-auth-vault";

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
        return VaultSettings.class;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Class<? extends ProviderFactory> getProviderFactoryClass() {
        return VaultSettingsFactory.class;
    }
}
