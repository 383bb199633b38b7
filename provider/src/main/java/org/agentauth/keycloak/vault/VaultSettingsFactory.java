package org.agentauth.keycloak.vault;

import org.keycloak.provider.ProviderFactory;

/** Creates {@link VaultSettings}; registered under {@link VaultSettingsSpi}. */
public interface VaultSettingsFactory extends ProviderFactory<VaultSettings> {
}
