package org.agentauth.keycloak.admin;

import org.agentauth.keycloak.agent.ResourceServers;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
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

    /** Page size of {@link #list} when {@code max} is not given. */
    static final int DEFAULT_MAX = 100;
    /** Largest page of {@link #list}. */
    static final int MAX_MAX = 500;

    /**
     * The realm's clients the caller may view, agents or not, ordered by client ID, one page at a time (Keycloak's
     * convention): {@code first} (default 0) and {@code max} (default {@value #DEFAULT_MAX}, at most
     * {@value #MAX_MAX}); {@code search}: only clients whose client ID contains it, ignoring case. A page shorter than
     * {@code max} is the last. 400 with {@code errorMessage} and {@code field} for a bad parameter.
     */
    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public Response list(@QueryParam("first") String first, @QueryParam("max") String max, @QueryParam("search") String search) {
        auth.clients().requireList();
        Integer from = number(first, 0);
        if (from == null || from < 0) {
            return AdminJson.badRequest("first", "first must be a whole number, 0 or more");
        }
        Integer size = number(max, DEFAULT_MAX);
        if (size == null || size < 1 || size > MAX_MAX) {
            return AdminJson.badRequest("max", "max must be a whole number from 1 to " + MAX_MAX);
        }
        String term = search == null || search.isBlank() ? null : search.trim();
        Stream<ClientModel> clients;
        if (auth.clients().canView()) {
            // the database pages (and orders by client ID)
            clients = term == null ? realm.getClientsStream(from, size) : realm.searchClientByClientIdStream(term, from, size);
        } else {
            // fine-grained permissions: only some clients are visible, so the page is cut after filtering
            clients = (term == null ? realm.getClientsStream() : realm.searchClientByClientIdStream(term, -1, -1))
                    .filter(auth.clients()::canView).skip(from).limit(size);
        }
        return Response.ok(clients.map(AgentRepresentation::of).toList()).build();
    }

    private static Integer number(String value, int absent) {
        if (value == null || value.isBlank()) {
            return absent;
        }
        try {
            return Integer.valueOf(value.trim());
        } catch (NumberFormatException e) {
            return null;
        }
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
                        return realm.getClientsStream().filter(c -> ResourceServers.urisOf(c).contains(normalizedUri))
                                .map(ClientModel::getClientId).findFirst().orElse(null);
                    }
                });
        if (!result.ok()) {
            return AdminJson.badRequest(result.errors());
        }
        result.attributes().forEach(client::setAttribute);
        // the agent's delegation:client scope follows its policy (enabled agent, allowed hosts)
        DelegationScopes.syncClient(realm, client);
        ResourceServers.clientChanged(session, client);

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
