package org.agentauth.keycloak.ciba;

import com.google.auto.service.AutoService;
import jakarta.ws.rs.Path;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.ext.OIDCExtProvider;
import org.keycloak.protocol.oidc.ext.OIDCExtProviderFactory;
import org.keycloak.protocol.oidc.grants.ciba.endpoints.BackchannelAuthenticationCallbackEndpoint;
import org.keycloak.protocol.oidc.grants.ciba.endpoints.CibaRootEndpoint;

/**
 * Replaces Keycloak's {@code ciba} OIDC extension (same id, higher order, the same CIBA feature switch) so that
 * backchannel requests go through {@link AgentBackchannelAuthenticationEndpoint}. The callback endpoint of external
 * authentication devices stays Keycloak's own.
 */
@AutoService(OIDCExtProviderFactory.class)
public class AgentCibaRootEndpoint extends CibaRootEndpoint {

    private final KeycloakSession session;
    private EventBuilder event;

    public AgentCibaRootEndpoint() {
        this(null);
    }

    public AgentCibaRootEndpoint(KeycloakSession session) {
        super(session);
        this.session = session;
    }

    @Override
    @Path("/auth")
    public AgentBackchannelAuthenticationEndpoint authorize() {
        return new AgentBackchannelAuthenticationEndpoint(session, event);
    }

    @Override
    @Path("/auth/callback")
    public BackchannelAuthenticationCallbackEndpoint authenticate() {
        return new BackchannelAuthenticationCallbackEndpoint(session, event);
    }

    @Override
    public OIDCExtProvider create(KeycloakSession session) {
        return new AgentCibaRootEndpoint(session);
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
