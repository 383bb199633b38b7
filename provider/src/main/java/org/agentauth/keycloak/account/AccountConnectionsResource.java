package org.agentauth.keycloak.account;

import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.OPTIONS;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.vault.ConnectionRepresentation;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.upstream.ConnectionService;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;

/**
 * {@code /realms/{realm}/agent-auth/account/connections}: the signed-in user lists, checks and revokes their own
 * connected upstream accounts (DESIGN section 5). Never any token material. Another user's id and an unknown one get
 * the same 404. Authorised like Keycloak's Account REST API ({@link AccountAuth}).
 */
public class AccountConnectionsResource {

    private final KeycloakSession session;
    private final RealmModel realm;

    public AccountConnectionsResource(KeycloakSession session) {
        this.session = session;
        this.realm = session.getContext().getRealm();
    }

    @OPTIONS
    @Path("{any:.*}")
    public Response preflight() {
        return AccountCors.preflight(session);
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public List<ConnectionRepresentation> list() {
        UserModel user = authenticate();
        return session.getProvider(UpstreamConnectionProvider.class).listForUser(realm, user.getId()).stream()
                .map(c -> ConnectionRepresentation.of(realm, c)).toList();
    }

    @GET
    @Path("{id}")
    @Produces(MediaType.APPLICATION_JSON)
    public ConnectionRepresentation get(@PathParam("id") String id) {
        UserModel user = authenticate();
        return ConnectionRepresentation.of(realm, own(user, id));
    }

    /** Uses the connection once against the upstream's userinfo endpoint (refreshing it when due). */
    @POST
    @Path("{id}/check")
    @Produces(MediaType.APPLICATION_JSON)
    public Map<String, Object> check(@PathParam("id") String id) {
        UserModel user = authenticate();
        return ConnectionService.check(session, realm, own(user, id));
    }

    @DELETE
    @Path("{id}")
    public Response revoke(@PathParam("id") String id) {
        UserModel user = authenticate();
        AccountActions.revokeConnection(session, realm, user, own(user, id));
        return Response.noContent().build();
    }

    private UpstreamConnection own(UserModel user, String id) {
        return AccountActions.ownConnection(session, realm, user, id)
                .orElseThrow(() -> new NotFoundException("Connection not found"));
    }

    private UserModel authenticate() {
        return AccountAuth.authenticate(session, "Delegated tokens cannot manage connected accounts", "Service accounts have no connected accounts");
    }
}
