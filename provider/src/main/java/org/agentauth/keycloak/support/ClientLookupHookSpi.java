package org.agentauth.keycloak.support;

import com.google.auto.service.AutoService;
import org.keycloak.provider.Provider;
import org.keycloak.provider.ProviderFactory;
import org.keycloak.provider.Spi;

/** Hooks that run before the client lookup at the authorization endpoint and at PAR ({@link ClientLookupHook}). */
@AutoService(Spi.class)
public class ClientLookupHookSpi implements Spi {

    public static final String NAME = "agent-auth-client-lookup";

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
        return ClientLookupHook.class;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Class<? extends ProviderFactory> getProviderFactoryClass() {
        return ClientLookupHookFactory.class;
    }
}
