package org.agentauth.keycloak.vault;

import org.keycloak.provider.ProviderFactory;

/** Creates the per-session {@link UpstreamConnectionProvider}; registered under {@link UpstreamConnectionSpi}. */
public interface UpstreamConnectionProviderFactory extends ProviderFactory<UpstreamConnectionProvider> {
}
