package org.agentauth.keycloak.admin;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotAllowedException;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.agentauth.keycloak.admin.AgentPolicyValidator.FieldError;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.agent.AgentPolicy;
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
 * Delegation grants in the admin REST API. {@code users/{userId}/delegations}: an admin lists, creates
 * (pre-authorises) and revokes a user's grants; viewing needs permission to view the user, changes to manage the user
 * (realm-management roles, or fine-grained admin permissions where the realm uses them). {@code delegations?agent=}:
 * every grant to one agent (permission to view users).
 */
public class AdminGrantsResource {

    /** Body of a grant creation. */
    public record CreateGrant(String agent, String host, List<String> scopes, List<String> connectors,
            List<String> downstreamAgents) {
    }

    private final KeycloakSession session;
    private final RealmModel realm;
    private final AdminPermissionEvaluator auth;
    private final AdminEventBuilder adminEvent;
    /** The user whose grants these are; null for {@code delegations?agent=}. */
    private final String userId;

    public AdminGrantsResource(KeycloakSession session, RealmModel realm, AdminPermissionEvaluator auth,
            AdminEventBuilder adminEvent, String userId) {
        this.session = session;
        this.realm = realm;
        this.auth = auth;
        this.adminEvent = adminEvent.resource(AgentAuthEvents.ADMIN_RESOURCE_GRANT);
        this.userId = userId;
    }

    /** A user's grants ({@code users/{userId}/delegations}), or every grant to one agent ({@code delegations?agent=}). */
    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public List<GrantRepresentation> list(@QueryParam("agent") String agentClientId) {
        return userId == null ? listForAgent(agentClientId) : listForUser();
    }

    /** Every grant to one agent in the realm: who has delegated to it. Needs permission to view users. */
    private List<GrantRepresentation> listForAgent(String agentClientId) {
        auth.users().requireView();
        ClientModel agent = agentClientId == null ? null : realm.getClientByClientId(agentClientId);
        if (agent == null) {
            throw new NotFoundException("Agent not found");
        }
        return session.getProvider(DelegationGrantProvider.class).listForAgent(realm, agent).stream()
                .map(g -> GrantRepresentation.of(realm, g)).toList();
    }

    private List<GrantRepresentation> listForUser() {
        UserModel user = user(userId);
        auth.users().requireView(user);
        return session.getProvider(DelegationGrantProvider.class).listForUser(realm, user.getId()).stream()
                .map(g -> GrantRepresentation.of(realm, g)).toList();
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response create(String json) {
        if (userId == null) {
            throw new NotAllowedException("GET");
        }
        UserModel user = user(userId);
        auth.users().requireManage(user);
        AdminJson.Parsed<CreateGrant> parsed = AdminJson.read(json, CreateGrant.class, "grant");
        if (!parsed.ok()) {
            return AdminJson.badRequest(parsed.errors());
        }
        CreateGrant body = parsed.value();
        List<FieldError> errors = new ArrayList<>();
        if (body.agent() == null || body.agent().isBlank()) {
            errors.add(new FieldError("agent", "agent is required: the client ID of the agent"));
        }
        if (body.host() == null || body.host().isBlank()) {
            errors.add(new FieldError("host", "host is required: the client ID of the host application"));
        }
        // every entry must be a non-empty string: a list that lost its entries must never read as "all scopes"
        Set<String> requestedScopes = AgentPolicyValidator.names(body.scopes(), "scopes", errors);
        if (body.scopes() != null && body.scopes().isEmpty()) {
            errors.add(new FieldError("scopes", "scopes is empty: name at least one scope, or leave the field out "
                    + "for all of the agent's allowed scopes"));
        }
        Set<String> connectors = AgentPolicyValidator.names(body.connectors(), "connectors", errors);
        Set<String> downstream = AgentPolicyValidator.names(body.downstreamAgents(), "downstreamAgents", errors);
        if (!errors.isEmpty()) {
            return AdminJson.badRequest(errors);
        }
        AgentPolicy agent = AgentPolicy.enabledAgent(realm, body.agent()).orElse(null);
        if (agent == null) {
            return AdminJson.badRequest("agent", "Unknown or disabled agent: " + body.agent());
        }
        ClientModel host = realm.getClientByClientId(body.host());
        if (host == null || !agent.allowsHost(host.getClientId())) {
            return AdminJson.badRequest("host", "Host client not allowed by the agent's policy: " + body.host());
        }
        // only a missing list means the default; an explicit one is taken as it is
        Set<String> scopes = body.scopes() == null ? agent.allowedScopes() : requestedScopes;
        outside(scopes, agent.allowedScopes(), "scopes", "the agent's allowed scopes", errors);
        outside(connectors, agent.allowedConnectors(), "connectors", "the agent's allowed connectors", errors);
        outside(downstream, agent.downstreamAgents(), "downstreamAgents", "the agent's downstream agents", errors);
        if (!errors.isEmpty()) {
            return AdminJson.badRequest(errors);
        }
        DelegationGrant g = session.getProvider(DelegationGrantProvider.class).grant(realm, user.getId(), agent, host, scopes,
                connectors, java.util.Map.of(), downstream, DelegationGrant.ORIGIN_ADMIN);
        GrantRepresentation rep = GrantRepresentation.of(realm, g);
        adminEvent.operation(OperationType.CREATE)
                .resourcePath(session.getContext().getUri(), g.id())
                .representation(rep)
                .success();
        return Response.status(Response.Status.CREATED).entity(rep).build();
    }

    @DELETE
    @Path("{grantId}")
    public Response revoke(@PathParam("grantId") String grantId) {
        if (userId == null) {
            throw new NotAllowedException("GET");
        }
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
        return user(session, realm, auth, userId);
    }

    /** The user of a {@code users/{userId}/...} path; 404 (after a query-permission check) when there is none. */
    static UserModel user(KeycloakSession session, RealmModel realm, AdminPermissionEvaluator auth, String userId) {
        UserModel user = userId == null ? null : session.users().getUserById(realm, userId);
        if (user == null) {
            // Same answer whether the caller may see the user or not.
            auth.users().requireQuery();
            throw new NotFoundException("User not found");
        }
        return user;
    }

    private static void outside(Set<String> asked, Set<String> allowed, String field, String what, List<FieldError> errors) {
        List<String> outside = asked.stream().filter(v -> !allowed.contains(v)).toList();
        if (!outside.isEmpty()) {
            errors.add(new FieldError(field, "Outside " + what + ": " + String.join(", ", outside)));
        }
    }
}
