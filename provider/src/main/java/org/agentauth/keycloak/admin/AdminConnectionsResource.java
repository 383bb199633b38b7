package org.agentauth.keycloak.admin;

import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.vault.ConnectionRepresentation;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.upstream.ConnectionService;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.admin.OperationType;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.services.resources.admin.AdminEventBuilder;
import org.keycloak.services.resources.admin.fgap.AdminPermissionEvaluator;

/**
 * {@code /admin/realms/{realm}/agent-auth/users/{userId}/connections}: an admin lists, checks and revokes a user's
 * connected upstream accounts. Viewing needs permission to view the user; a check (which uses the user's upstream token)
 * and a revocation need permission to manage the user. Never any token.
 */
public class AdminConnectionsResource {

    private final KeycloakSession session;
    private final RealmModel realm;
    private final AdminPermissionEvaluator auth;
    private final AdminEventBuilder adminEvent;
    private final String userId;

    public AdminConnectionsResource(KeycloakSession session, RealmModel realm, AdminPermissionEvaluator auth,
            AdminEventBuilder adminEvent, String userId) {
        this.session = session;
        this.realm = realm;
        this.auth = auth;
        this.adminEvent = adminEvent.resource(AgentAuthEvents.ADMIN_RESOURCE_CONNECTION);
        this.userId = userId;
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public List<ConnectionRepresentation> list() {
        UserModel user = user();
        auth.users().requireView(user);
        return session.getProvider(UpstreamConnectionProvider.class).listForUser(realm, user.getId()).stream()
                .map(c -> ConnectionRepresentation.of(realm, c)).toList();
    }

    @POST
    @Path("{id}/check")
    @Produces(MediaType.APPLICATION_JSON)
    public Map<String, Object> check(@PathParam("id") String id) {
        UserModel user = user();
        auth.users().requireManage(user);
        return ConnectionService.check(session, realm, connection(user, id));
    }

    @DELETE
    @Path("{id}")
    public Response revoke(@PathParam("id") String id) {
        UserModel user = user();
        auth.users().requireManage(user);
        UpstreamConnection c = connection(user, id);
        ConnectionService.revoke(session, realm, c, new EventBuilder(realm, session, session.getContext().getConnection())
                .user(user).detail(AgentAuthEvents.OPERATION, "admin_revoke"));
        adminEvent.operation(OperationType.DELETE).resourcePath(session.getContext().getUri()).success();
        return Response.noContent().build();
    }

    private UpstreamConnection connection(UserModel user, String id) {
        return session.getProvider(UpstreamConnectionProvider.class).byId(realm, id).filter(c -> c.userId().equals(user.getId()))
                .orElseThrow(() -> new NotFoundException("Connection not found"));
    }

    private UserModel user() {
        return AdminGrantsResource.user(session, realm, auth, userId);
    }
}
