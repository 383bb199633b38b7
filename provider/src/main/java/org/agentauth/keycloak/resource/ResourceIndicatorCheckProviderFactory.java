package org.agentauth.keycloak.resource;

import org.agentauth.keycloak.agent.ResourceOwnerIndex;
import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.protocol.oidc.endpoints.AuthorizationEndpointCheckProvider;
import org.keycloak.protocol.oidc.endpoints.AuthorizationEndpointCheckProviderFactory;

/** Registers the {@code resource} (RFC 8707) check at the authorization endpoint. */
@AutoService(AuthorizationEndpointCheckProviderFactory.class)
public class ResourceIndicatorCheckProviderFactory implements AuthorizationEndpointCheckProviderFactory {

    public static final String PROVIDER_ID = "agent-auth-resource-indicators";

    @Override
    public AuthorizationEndpointCheckProvider create(KeycloakSession session) {
        return new ResourceIndicatorCheckProvider(session);
    }

    @Override
    public boolean isSupported(Config.Scope config) {
        return true;
    }

    @Override
    public void init(Config.Scope config) {
    }

    /** Keeps the resource-owner index in step with client changes on this node. */
    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(ResourceOwnerIndex::onEvent);
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }
}
