package org.agentauth.keycloak.delegation.exchange;

import com.google.auto.service.AutoService;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.LoginProtocolFactory;
import org.keycloak.protocol.oidc.OIDCLoginProtocolFactory;

/**
 * Keycloak's {@code openid-connect} login protocol (same id, higher order), unchanged but for its endpoints' service,
 * {@link DelegationLoginProtocolService}, whose {@code /userinfo} answers a delegated token only within its grant
 * (DESIGN section 3 rule 5). Keycloak has no other hook there: its userinfo endpoint builds the answer from the
 * requesting client's default client scopes plus the optional scopes in the token's {@code scope}, whatever the token
 * carries.
 */
@AutoService(LoginProtocolFactory.class)
public class DelegationLoginProtocolFactory extends OIDCLoginProtocolFactory {

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
