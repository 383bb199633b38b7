package org.agentauth.keycloak;

import org.keycloak.models.KeycloakSession;
import org.keycloak.services.resource.RealmResourceProvider;

/** Holds the session for the extension's REST root. */
public class AgentAuthResourceProvider implements RealmResourceProvider {

    private final KeycloakSession session;

    public AgentAuthResourceProvider(KeycloakSession session) {
        this.session = session;
    }

    @Override
    public Object getResource() {
        return new AgentAuthRealmResource(session);
    }

    @Override
    public void close() {
    }
}
