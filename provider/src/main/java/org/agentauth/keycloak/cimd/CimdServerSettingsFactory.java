package org.agentauth.keycloak.cimd;

import org.keycloak.provider.ProviderFactory;

/** Factory of {@link CimdServerSettings}. */
public interface CimdServerSettingsFactory extends ProviderFactory<CimdServerSettings> {
}
