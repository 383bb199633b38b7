package org.agentauth.keycloak.delegation.authz;

import jakarta.ws.rs.core.Response;
import org.keycloak.models.ClientSessionContext;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;
import org.keycloak.protocol.oidc.OIDCProviderConfig;
import org.keycloak.sessions.AuthenticationSessionModel;

/**
 * Keycloak's OIDC login protocol, which issues the authorization code once a login is done, with one change: the
 * {@code requested_actor} marker ({@link RequestedActor}) stays out of the client session.
 * <p>
 * The consent step puts the marker into the authentication session's {@code scope} note; Keycloak builds the code from
 * that note, and has just copied every note of the authentication session into the client session, which later logins
 * of the same client in the same browser session share. The marker is removed from the client session's copy here,
 * before the code is built (from the authentication session's note, which keeps it), in the same transaction as the
 * copy: so the client session row is written once, as for a plain login, and the token endpoint no longer has to write
 * it again to remove the marker (docs/performance.md).
 */
public class RequestedActorLoginProtocol extends OIDCLoginProtocol {

    public RequestedActorLoginProtocol(OIDCProviderConfig config) {
        super(config);
    }

    @Override
    public Response authenticated(AuthenticationSessionModel authSession, UserSessionModel userSession, ClientSessionContext clientSessionCtx) {
        RequestedActor.unmark(clientSessionCtx.getClientSession());
        return super.authenticated(authSession, userSession, clientSessionCtx);
    }
}
