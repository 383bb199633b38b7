package org.agentauth.keycloak.delegation.authz;

import com.google.auto.service.AutoService;
import jakarta.ws.rs.Path;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.ext.OIDCExtProvider;
import org.keycloak.protocol.oidc.ext.OIDCExtProviderFactory;
import org.keycloak.protocol.oidc.par.endpoints.ParRootEndpoint;

/**
 * Replaces Keycloak's {@code par} OIDC extension (same id, higher order) so that pushed requests go through
 * {@link AgentParEndpoint}. Everything else is Keycloak's own PAR endpoint.
 */
@AutoService(OIDCExtProviderFactory.class)
public class AgentParRootEndpoint extends ParRootEndpoint {

    private final KeycloakSession session;
    private EventBuilder event;

    public AgentParRootEndpoint() {
        this(null);
    }

    public AgentParRootEndpoint(KeycloakSession session) {
        super(session);
        this.session = session;
    }

    @Override
    @Path("/request")
    public AgentParEndpoint request() {
        return new AgentParEndpoint(session, event);
    }

    @Override
    public OIDCExtProvider create(KeycloakSession session) {
        return new AgentParRootEndpoint(session);
    }

    @Override
    public void setEvent(EventBuilder event) {
        super.setEvent(event);
        this.event = event;
    }

    @Override
    public int order() {
        return 10;
    }
}
