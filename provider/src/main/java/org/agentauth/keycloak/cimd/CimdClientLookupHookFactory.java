package org.agentauth.keycloak.cimd;

import com.google.auto.service.AutoService;
import org.agentauth.keycloak.support.ClientLookupHook;
import org.agentauth.keycloak.support.ClientLookupHookFactory;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;

/** Registers {@link CimdClientLookupHook}. */
@AutoService(ClientLookupHookFactory.class)
public class CimdClientLookupHookFactory implements ClientLookupHookFactory {

    public static final String PROVIDER_ID = "cimd";

    @Override
    public ClientLookupHook create(KeycloakSession session) {
        return new CimdClientLookupHook(session);
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }
}
