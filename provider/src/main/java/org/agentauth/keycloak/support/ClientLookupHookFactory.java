package org.agentauth.keycloak.support;

import org.keycloak.provider.ProviderFactory;

/** Factory of a {@link ClientLookupHook}. */
public interface ClientLookupHookFactory extends ProviderFactory<ClientLookupHook> {
}
