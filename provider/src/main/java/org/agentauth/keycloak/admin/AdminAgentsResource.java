package org.agentauth.keycloak.admin;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.delegation.scope.DelegationScopes;
import org.agentauth.keycloak.resource.ResourceIndicators;
import org.keycloak.events.admin.OperationType;
import org.keycloak.models.ClientModel;
import org.keycloak.models.ClientScopeModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.services.resources.admin.AdminEventBuilder;
import org.keycloak.services.resources.admin.fgap.AdminPermissionEvaluator;

/**
 * {@code /admin/realms/{realm}/agent-auth/agents}: the realm's clients with their agent flag and policy, and the
 * policy editor behind the agent admin page (DESIGN section 2). The policy is written as client attributes, so the
 * standard client API and realm export/import carry it. Viewing needs permission to view the client, changing it
 * permission to manage the client (realm-management roles, or fine-grained admin permissions where enabled).
 */
public class AdminAgentsResource {

    private final KeycloakSession session;
    private final RealmModel realm;
    private final AdminPermissionEvaluator auth;
    private final AdminEventBuilder adminEvent;

    public AdminAgentsResource(KeycloakSession session, RealmModel realm, AdminPermissionEvaluator auth,
            AdminEventBuilder adminEvent) {
        this.session = session;
        this.realm = realm;
        this.auth = auth;
        this.adminEvent = adminEvent.resource(AgentAuthEvents.ADMIN_RESOURCE_AGENT_POLICY);
    }

    /** Every client of the realm the caller may view, agents or not, ordered by client ID. */
    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public List<AgentRepresentation> list() {
        auth.clients().requireList();
        return realm.getClientsStream()
                .filter(auth.clients()::canView)
                .sorted(Comparator.comparing(ClientModel::getClientId, String.CASE_INSENSITIVE_ORDER))
                .map(AgentRepresentation::of)
                .toList();
    }

    @GET
    @Path("{clientId}")
    @Produces(MediaType.APPLICATION_JSON)
    public AgentRepresentation get(@PathParam("clientId") String clientId) {
        ClientModel client = client(clientId);
        auth.clients().requireView(client);
        return AgentRepresentation.of(client);
    }

    /** Replaces the client's agent policy. 400 with {@code errorMessage} and per-field {@code errors} when invalid. */
    @PUT
    @Path("{clientId}")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response put(@PathParam("clientId") String clientId, String body) {
        ClientModel client = client(clientId);
        auth.clients().requireManage(client);

        AdminJson.Parsed<AgentPolicyRepresentation> parsed = AdminJson.read(body, AgentPolicyRepresentation.class, "agent policy");
        if (!parsed.ok()) {
            return AdminJson.badRequest(parsed.errors());
        }
        AgentPolicyRepresentation policy = parsed.value();

        AgentPolicyValidator.Result result = AgentPolicyValidator.validate(policy, client.getClientId(),
                AgentRepresentation.agentCapable(client), new AgentPolicyValidator.Realm() {
                    @Override
                    public boolean clientExists(String id) {
                        return realm.getClientByClientId(id) != null;
                    }

                    @Override
                    public Set<String> clientScopeNames() {
                        return realm.getClientScopesStream().map(ClientScopeModel::getName).collect(Collectors.toSet());
                    }

                    @Override
                    public String resourceOwner(String normalizedUri) {
                        // disabled clients count too: a URI has one owner
                        return realm.getClientsStream().filter(c -> ResourceIndicators.urisOf(c).contains(normalizedUri))
                                .map(ClientModel::getClientId).findFirst().orElse(null);
                    }
                });
        if (!result.ok()) {
            return AdminJson.badRequest(result.errors());
        }
        result.attributes().forEach(client::setAttribute);
        // the agent's delegation:client scope follows its policy (enabled agent, allowed hosts)
        DelegationScopes.syncClient(realm, client);
        ResourceIndicators.clientChanged(session, client);

        AgentRepresentation rep = AgentRepresentation.of(client);
        adminEvent.operation(OperationType.UPDATE)
                .resourcePath(session.getContext().getUri())
                .representation(rep.policy())
                .success();
        return Response.ok(rep).build();
    }

    private ClientModel client(String clientId) {
        ClientModel client = clientId == null ? null : realm.getClientByClientId(clientId);
        if (client == null) {
            // Same answer whether the caller may see the client or not.
            auth.clients().requireList();
            throw new NotFoundException("Client not found");
        }
        return client;
    }
}
