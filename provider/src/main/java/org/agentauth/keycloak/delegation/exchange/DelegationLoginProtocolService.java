package org.agentauth.keycloak.delegation.exchange;

import jakarta.ws.rs.Path;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.OIDCLoginProtocolService;
import org.keycloak.protocol.oidc.endpoints.UserInfoEndpoint;

/**
 * Keycloak's OIDC endpoints, with {@code /userinfo} computing its claims through {@link DelegationUserInfoTokenManager}.
 * Everything else, including the userinfo endpoint's own checks, signing and encryption, is Keycloak's.
 */
public class DelegationLoginProtocolService extends OIDCLoginProtocolService {

    private final KeycloakSession session;

    public DelegationLoginProtocolService(KeycloakSession session, EventBuilder event) {
        super(session, event);
        this.session = session;
    }

    /** As Keycloak's {@code OIDCLoginProtocolService.issueUserInfo()}, with the delegation-aware token manager. */
    @Override
    @Path("userinfo")
    public Object issueUserInfo() {
        return new UserInfoEndpoint(session, new DelegationUserInfoTokenManager());
    }
}
