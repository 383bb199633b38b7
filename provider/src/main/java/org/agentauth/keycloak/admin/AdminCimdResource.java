package org.agentauth.keycloak.admin;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.agentauth.keycloak.admin.AgentPolicyValidator.FieldError;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.cimd.CimdStockExecutor;
import org.agentauth.keycloak.cimd.CimdClientLookupHook;
import org.agentauth.keycloak.cimd.CimdClients;
import org.agentauth.keycloak.cimd.CimdSettings;
import org.agentauth.keycloak.support.ProtocolError;
import org.keycloak.events.admin.OperationType;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;
import org.keycloak.services.managers.ClientManager;
import org.keycloak.services.managers.RealmManager;
import org.keycloak.services.resources.admin.AdminEventBuilder;
import org.keycloak.services.resources.admin.fgap.AdminPermissionEvaluator;

/**
 * {@code /admin/realms/{realm}/agent-auth/cimd}: the realm's settings for clients identified by a client ID metadata
 * document (DESIGN section 11), and those clients ({@code clients}: list; refetch, block, unblock, delete). Reading the
 * settings needs view-realm, writing them manage-realm; the clients need view-clients and manage-clients. Stored as a realm attribute
 * ({@link CimdSettings#ATTRIBUTE}), so realm export and import carry it. A body that is refused (400, with the reason)
 * changes nothing.
 */
public class AdminCimdResource {

    private final KeycloakSession session;
    private final RealmModel realm;
    private final AdminPermissionEvaluator auth;
    private final AdminEventBuilder adminEvent;

    public AdminCimdResource(KeycloakSession session, RealmModel realm, AdminPermissionEvaluator auth, AdminEventBuilder adminEvent) {
        this.session = session;
        this.realm = realm;
        this.auth = auth;
        this.adminEvent = adminEvent.resource(AgentAuthEvents.ADMIN_RESOURCE_CIMD);
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public CimdSettings get() {
        auth.realm().requireViewRealm();
        return CimdSettings.of(realm);
    }

    /**
     * The realm's CIMD clients (view-clients): id, client id (the document URL), host, the self-declared name, redirect
     * URIs, when fetched and until when kept, blocked; and the client ids blocked whose client was deleted.
     */
    @GET
    @Path("clients")
    @Produces(MediaType.APPLICATION_JSON)
    public Map<String, Object> clients() {
        auth.clients().requireView();
        Set<String> blocked = CimdClients.blocked(realm);
        List<Map<String, Object>> list = new ArrayList<>();
        Set<String> listed = new java.util.HashSet<>();
        for (ClientModel c : CimdClients.list(session, realm)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", c.getId());
            m.put("clientId", c.getClientId());
            m.put("host", c.getAttribute(CimdClients.HOST));
            m.put("selfDeclaredName", c.getAttribute(CimdClients.SELF_DECLARED_NAME));
            m.put("redirectUris", new TreeSet<>(c.getRedirectUris()));
            m.put("allLoopback", Boolean.parseBoolean(c.getAttribute(CimdClients.ALL_LOOPBACK)));
            m.put("authentication", c.isPublicClient() ? "none" : "private_key_jwt");
            if (c.getAttribute(CimdClients.JWKS_URI) != null) {
                m.put("jwksUri", c.getAttribute(CimdClients.JWKS_URI));
            }
            m.put("fetchedAt", number(c.getAttribute(CimdClients.FETCHED_AT)));
            m.put("expiresAt", number(c.getAttribute(CimdClients.EXPIRES_AT)));
            m.put("enabled", c.isEnabled());
            m.put("blocked", blocked.contains(c.getClientId()));
            list.add(m);
            listed.add(c.getClientId());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("clients", list);
        out.put("blockedWithoutClient", blocked.stream().filter(b -> !listed.contains(b)).sorted().toList());
        out.put("maxClients", CimdSettings.of(realm).maxClients());
        return out;
    }

    /** Fetches the client's document again now (manage-clients); a changed redirect or key set revokes consents and refresh tokens. */
    @POST
    @Path("clients/{id}/refetch")
    @Produces(MediaType.APPLICATION_JSON)
    public Response refetch(@PathParam("id") String id) {
        ClientModel c = cimdClient(id);
        auth.clients().requireManage(c);
        try {
            CimdClients.Changes changed = CimdClientLookupHook.refetch(session, realm, c);
            Map<String, Object> answer = Map.of("clientId", c.getClientId(), "redirectsChanged", changed.redirects(), "keysChanged", changed.keys());
            adminEvent.operation(OperationType.UPDATE).resourcePath(session.getContext().getUri()).representation(answer).success();
            return Response.ok(answer).build();
        } catch (ProtocolError e) {
            return Response.status(Response.Status.BAD_GATEWAY).type(MediaType.APPLICATION_JSON)
                    .entity(Map.of("error", "document_refused", "error_description", e.getMessage())).build();
        }
    }

    /** Blocks the client (manage-clients): disabled, and never fetched or created again, also after it is deleted. */
    @POST
    @Path("clients/{id}/block")
    public Response block(@PathParam("id") String id) {
        return setBlocked(cimdClient(id), true);
    }

    @POST
    @Path("clients/{id}/unblock")
    public Response unblock(@PathParam("id") String id) {
        return setBlocked(cimdClient(id), false);
    }

    /** Unblocks a client id whose client was deleted (manage-clients). */
    @DELETE
    @Path("blocked")
    public Response unblockDeleted(@QueryParam("clientId") String clientId) {
        auth.clients().requireManage();
        if (clientId == null || !CimdClients.blocked(realm).contains(clientId)) {
            throw new NotFoundException();
        }
        CimdClients.setBlocked(realm, clientId, false);
        adminEvent.operation(OperationType.DELETE).resourcePath(session.getContext().getUri()).representation(Map.of("clientId", clientId)).success();
        return Response.noContent().build();
    }

    /** Deletes the client (manage-clients); its next use fetches the document again, unless it is blocked. */
    @DELETE
    @Path("clients/{id}")
    public Response delete(@PathParam("id") String id) {
        ClientModel c = cimdClient(id);
        auth.clients().requireManage(c);
        new ClientManager(new RealmManager(session)).removeClient(realm, c); // as Keycloak's own client DELETE
        adminEvent.operation(OperationType.DELETE).resourcePath(session.getContext().getUri()).representation(Map.of("clientId", c.getClientId())).success();
        return Response.noContent().build();
    }

    private Response setBlocked(ClientModel c, boolean block) {
        auth.clients().requireManage(c);
        CimdClients.setBlocked(realm, c.getClientId(), block);
        adminEvent.operation(OperationType.UPDATE).resourcePath(session.getContext().getUri())
                .representation(Map.of("clientId", c.getClientId(), "blocked", block)).success();
        return Response.noContent().build();
    }

    /** The CIMD client with this internal id, else 404 (also for a client that is not a CIMD client). */
    private ClientModel cimdClient(String id) {
        ClientModel c = realm.getClientById(id);
        if (c == null || !CimdClients.isCimd(c)) {
            auth.clients().requireView();
            throw new NotFoundException();
        }
        return c;
    }

    private static Long number(String v) {
        try {
            return v == null ? null : Long.valueOf(v);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @PUT
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response put(String body) {
        auth.realm().requireManageRealm();
        AdminJson.Parsed<CimdSettingsRepresentation> parsed = AdminJson.read(body, CimdSettingsRepresentation.class, "CIMD configuration");
        if (!parsed.ok()) {
            return AdminJson.badRequest(parsed.errors());
        }
        CimdSettingsRepresentation r = parsed.value();
        List<FieldError> errors = new ArrayList<>();
        for (String field : List.of("allowedHosts", "deniedHosts", "scopes")) {
            List<String> list = switch (field) {
                case "allowedHosts" -> r.allowedHosts;
                case "deniedHosts" -> r.deniedHosts;
                default -> r.scopes;
            };
            if (list != null && list.stream().anyMatch(Objects::isNull)) {
                errors.add(new FieldError(field, field + " must not contain null"));
            }
        }
        if (!errors.isEmpty()) {
            return AdminJson.badRequest(errors);
        }
        CimdSettings s = new CimdSettings(Boolean.TRUE.equals(r.enabled), r.allowedHosts, r.deniedHosts,
                r.maxClients == null ? CimdSettings.DEFAULT_MAX_CLIENTS : r.maxClients,
                r.cacheSeconds == null ? CimdSettings.DEFAULT_CACHE_SECONDS : r.cacheSeconds, r.scopes);
        for (String problem : s.problems()) {
            errors.add(new FieldError(problem.contains(":") ? problem.substring(0, problem.indexOf(':')) : problem.split(" ")[0], problem));
        }
        if (s.scopes() != null) {
            for (String name : s.scopes()) {
                boolean known = name != null && realm.getClientScopesStream().anyMatch(cs -> name.equals(cs.getName())
                        && OIDCLoginProtocol.LOGIN_PROTOCOL.equals(cs.getProtocol()));
                if (!known) {
                    errors.add(new FieldError("scopes", "scopes: '" + name + "' is not an OpenID Connect client scope of this realm"));
                }
            }
        }
        String stock = s.enabled() ? CimdStockExecutor.activePolicy(session, realm) : null;
        if (stock != null) {
            errors.add(new FieldError("enabled", "enabled: " + CimdStockExecutor.reason(stock)));
        }
        if (!errors.isEmpty()) {
            return AdminJson.badRequest(errors);
        }
        CimdSettings stored = s.normalized();
        stored.store(realm);
        adminEvent.operation(OperationType.UPDATE).resourcePath(session.getContext().getUri()).representation(stored).success();
        return Response.ok(stored).build();
    }

}
