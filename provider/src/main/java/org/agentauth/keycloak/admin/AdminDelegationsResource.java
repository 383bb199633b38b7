package org.agentauth.keycloak.admin;

import jakarta.ws.rs.BadRequestException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.delegation.AgentPolicy;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.delegation.GrantRepresentation;
import org.keycloak.events.admin.OperationType;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.services.resources.admin.AdminEventBuilder;
import org.keycloak.services.resources.admin.fgap.AdminPermissionEvaluator;

/**
 * {@code /admin/realms/{realm}/agent-auth/users/{userId}/delegations}: an admin lists, creates (pre-authorises)
 * and revokes a user's delegation grants. Viewing needs permission to view the user, changes to manage the user
 * (realm-management roles, or fine-grained admin permissions where the realm uses them).
 */
public class AdminDelegationsResource {

    /** Body of a grant creation. */
    public record CreateGrant(String agent, String host, List<String> scopes, List<String> connectors,
            List<String> downstreamAgents) {
    }

    private final KeycloakSession session;
    private final RealmModel realm;
    private final AdminPermissionEvaluator auth;
    private final AdminEventBuilder adminEvent;

    public AdminDelegationsResource(KeycloakSession session, RealmModel realm, AdminPermissionEvaluator auth,
            AdminEventBuilder adminEvent) {
        this.session = session;
        this.realm = realm;
        this.auth = auth;
        this.adminEvent = adminEvent.resource(AgentAuthEvents.ADMIN_RESOURCE_GRANT);
    }

    /** The realm's clients and their agent policies: {@code agents}, {@code agents/{clientId}}. */
    @Path("agents")
    public AdminAgentsResource agents() {
        return new AdminAgentsResource(session, realm, auth, adminEvent);
    }

    /** Every grant to one agent in the realm: who has delegated to it. Needs permission to view users. */
    @GET
    @Path("delegations")
    @Produces(MediaType.APPLICATION_JSON)
    public List<GrantRepresentation> listForAgent(@QueryParam("agent") String agentClientId) {
        auth.users().requireView();
        ClientModel agent = agentClientId == null ? null : realm.getClientByClientId(agentClientId);
        if (agent == null) {
            throw new NotFoundException("Agent not found");
        }
        return session.getProvider(DelegationGrantProvider.class).listForAgent(realm, agent).stream()
                .map(g -> GrantRepresentation.of(realm, g)).toList();
    }

    @GET
    @Path("users/{userId}/delegations")
    @Produces(MediaType.APPLICATION_JSON)
    public List<GrantRepresentation> list(@PathParam("userId") String userId) {
        UserModel user = user(userId);
        auth.users().requireView(user);
        return session.getProvider(DelegationGrantProvider.class).listForUser(realm, user.getId()).stream()
                .map(g -> GrantRepresentation.of(realm, g)).toList();
    }

    @POST
    @Path("users/{userId}/delegations")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response create(@PathParam("userId") String userId, CreateGrant body) {
        UserModel user = user(userId);
        auth.users().requireManage(user);
        if (body == null || body.agent() == null || body.host() == null) {
            throw new BadRequestException("agent and host are required");
        }
        AgentPolicy agent = AgentPolicy.enabledAgent(realm, body.agent())
                .orElseThrow(() -> new BadRequestException("Unknown or disabled agent: " + body.agent()));
        ClientModel host = realm.getClientByClientId(body.host());
        if (host == null || !agent.allowsHost(host.getClientId())) {
            throw new BadRequestException("Host client not allowed by the agent's policy: " + body.host());
        }
        Set<String> scopes = set(body.scopes());
        if (scopes.isEmpty()) {
            scopes = agent.allowedScopes();
        }
        if (!agent.allowedScopes().containsAll(scopes)) {
            throw new BadRequestException("Scopes outside the agent's allowed scopes");
        }
        Set<String> connectors = set(body.connectors());
        if (!agent.allowedConnectors().containsAll(connectors)) {
            throw new BadRequestException("Connectors outside the agent's allowed connectors");
        }
        Set<String> downstream = set(body.downstreamAgents());
        if (!agent.downstreamAgents().containsAll(downstream)) {
            throw new BadRequestException("Downstream agents outside the agent's policy");
        }
        DelegationGrant g = session.getProvider(DelegationGrantProvider.class).grant(realm, user.getId(), agent, host, scopes,
                connectors, downstream, DelegationGrant.ORIGIN_ADMIN);
        GrantRepresentation rep = GrantRepresentation.of(realm, g);
        adminEvent.operation(OperationType.CREATE)
                .resourcePath(session.getContext().getUri(), g.id())
                .representation(rep)
                .success();
        return Response.status(Response.Status.CREATED).entity(rep).build();
    }

    @DELETE
    @Path("users/{userId}/delegations/{grantId}")
    public Response revoke(@PathParam("userId") String userId, @PathParam("grantId") String grantId) {
        UserModel user = user(userId);
        auth.users().requireManage(user);
        DelegationGrantProvider grants = session.getProvider(DelegationGrantProvider.class);
        DelegationGrant g = grants.byId(realm, grantId).filter(x -> x.userId().equals(user.getId()))
                .orElseThrow(() -> new NotFoundException("Delegation grant not found"));
        grants.revoke(realm, g.id());
        adminEvent.operation(OperationType.DELETE).resourcePath(session.getContext().getUri()).success();
        return Response.noContent().build();
    }

    private UserModel user(String userId) {
        UserModel user = userId == null ? null : session.users().getUserById(realm, userId);
        if (user == null) {
            // Same answer whether the caller may see the user or not.
            auth.users().requireQuery();
            throw new NotFoundException("User not found");
        }
        return user;
    }

    private static Set<String> set(List<String> values) {
        return values == null ? Set.of() : new LinkedHashSet<>(values.stream().filter(v -> v != null && !v.isBlank()).toList());
    }
}
