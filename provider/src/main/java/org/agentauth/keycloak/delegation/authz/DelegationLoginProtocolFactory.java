package org.agentauth.keycloak.delegation.authz;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.KeycloakSession;
import org.agentauth.keycloak.delegation.exchange.DelegationLoginProtocolService;
import org.keycloak.protocol.LoginProtocol;
import org.keycloak.protocol.LoginProtocolFactory;
import org.keycloak.protocol.oidc.OIDCLoginProtocolFactory;
import org.keycloak.protocol.oidc.OIDCProviderConfig;

/**
 * Keycloak's {@code openid-connect} login protocol (same id, higher order), unchanged but for:
 * <ul>
 * <li>its endpoints' service, {@link DelegationLoginProtocolService}, whose {@code /userinfo} answers a delegated token
 * only within its grant (DESIGN section 3 rule 5). Keycloak has no other hook there: its userinfo endpoint builds the
 * answer from the requesting client's default client scopes plus the optional scopes in the token's {@code scope},
 * whatever the token carries;</li>
 * <li>the protocol itself, {@link RequestedActorLoginProtocol}, which keeps the {@code requested_actor} marker out of
 * the client session.</li>
 * </ul>
 */
@AutoService(LoginProtocolFactory.class)
public class DelegationLoginProtocolFactory extends OIDCLoginProtocolFactory {

    /** Keycloak's factory keeps its configuration private: read the same options (this factory's id is Keycloak's). */
    private OIDCProviderConfig protocolConfig;

    @Override
    public void init(Config.Scope config) {
        super.init(config);
        protocolConfig = new OIDCProviderConfig(config);
    }

    @Override
    public LoginProtocol create(KeycloakSession session) {
        return new RequestedActorLoginProtocol(protocolConfig).setSession(session);
    }

    @Override
    public Object createProtocolEndpoint(KeycloakSession session, EventBuilder event) {
        return new DelegationLoginProtocolService(session, event);
    }

    /** Above Keycloak's own {@code openid-connect} factory, which it replaces. */
    @Override
    public int order() {
        return super.order() + 1;
    }
}
