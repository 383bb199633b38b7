package org.agentauth.keycloak.admin;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.agentauth.keycloak.admin.AgentPolicyValidator.FieldError;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.cimd.CimdSettings;
import org.keycloak.events.admin.OperationType;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;
import org.keycloak.services.resources.admin.AdminEventBuilder;
import org.keycloak.services.resources.admin.fgap.AdminPermissionEvaluator;

/**
 * {@code /admin/realms/{realm}/agent-auth/cimd}: the realm's settings for clients identified by a client ID metadata
 * document (DESIGN section 11). Reading needs view-realm, writing manage-realm. Stored as a realm attribute
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
        if (!errors.isEmpty()) {
            return AdminJson.badRequest(errors);
        }
        CimdSettings stored = s.normalized();
        stored.store(realm);
        adminEvent.operation(OperationType.UPDATE).resourcePath(session.getContext().getUri()).representation(stored).success();
        return Response.ok(stored).build();
    }

}
