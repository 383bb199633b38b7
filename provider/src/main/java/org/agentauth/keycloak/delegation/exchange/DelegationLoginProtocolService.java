package org.agentauth.keycloak.delegation.exchange;

import jakarta.ws.rs.Path;
import jakarta.ws.rs.QueryParam;
import org.keycloak.models.Constants;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.OIDCLoginProtocolService;
import org.keycloak.protocol.oidc.endpoints.UserInfoEndpoint;

/**
 * Keycloak's OIDC endpoints, with {@code /userinfo} computing its claims through {@link DelegationUserInfoTokenManager},
 * and the authorization endpoint (also behind {@code /registrations} and {@code /forgot-credentials}) running the
 * {@link org.agentauth.keycloak.support.ClientLookupHook}s before Keycloak looks the client up
 * ({@link ClientLookupAuthorizationEndpoint}). Everything else, including the userinfo endpoint's own checks, signing
 * and encryption, is Keycloak's.
 */
public class DelegationLoginProtocolService extends OIDCLoginProtocolService {

    private final KeycloakSession session;
    private final EventBuilder event;

    public DelegationLoginProtocolService(KeycloakSession session, EventBuilder event) {
        super(session, event);
        this.session = session;
        this.event = event;
    }

    /** As Keycloak's {@code auth()}, with the client-lookup hooks. */
    @Override
    @Path("auth")
    public Object auth() {
        return new ClientLookupAuthorizationEndpoint(session, event);
    }

    /** As Keycloak's {@code registrations(token)}, with the client-lookup hooks. */
    @Override
    @Path("registrations")
    public Object registrations(@QueryParam(Constants.TOKEN) String tokenString) {
        return new ClientLookupAuthorizationEndpoint(session, event).register(tokenString);
    }

    /** As Keycloak's {@code forgotCredentialsPage()}, with the client-lookup hooks. */
    @Override
    @Path("forgot-credentials")
    public Object forgotCredentialsPage() {
        return new ClientLookupAuthorizationEndpoint(session, event).forgotCredentials();
    }

    /** As Keycloak's {@code OIDCLoginProtocolService.issueUserInfo()}, with the delegation-aware token manager. */
    @Override
    @Path("userinfo")
    public Object issueUserInfo() {
        return new UserInfoEndpoint(session, new DelegationUserInfoTokenManager());
    }
}
