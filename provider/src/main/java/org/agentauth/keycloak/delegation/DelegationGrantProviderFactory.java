package org.agentauth.keycloak.delegation;

import org.keycloak.provider.ProviderFactory;

/** Creates the per-session {@link DelegationGrantProvider}; registered under {@link DelegationGrantSpi}. */
public interface DelegationGrantProviderFactory extends ProviderFactory<DelegationGrantProvider> {
}
