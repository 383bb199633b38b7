package org.agentauth.keycloak.admin;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.admin.AgentPolicyValidator.FieldError;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.ConnectorPresets;
import org.agentauth.keycloak.vault.ConnectorProvider;
import org.agentauth.keycloak.vault.ConnectorValidator;
import org.agentauth.keycloak.vault.VaultSettings;
import org.keycloak.component.ComponentModel;
import org.keycloak.component.ComponentValidationException;
import org.keycloak.events.admin.OperationType;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.representations.idm.ErrorRepresentation;
import org.keycloak.services.Urls;
import org.keycloak.services.resources.admin.AdminEventBuilder;
import org.keycloak.services.resources.admin.fgap.AdminPermissionEvaluator;

/**
 * {@code /admin/realms/{realm}/agent-auth/connectors}: the realm's connectors (DESIGN sections 2 and 5), each a realm
 * component of type {@link ConnectorProvider}. Saved through the realm model ({@code addComponentModel},
 * {@code updateComponent}, {@code removeComponent}) so that the component factory's hooks run: moving a URL the vault
 * sends a token or the secret to another origin marks the connector's connections EXPIRED, and removal deletes them. Viewing needs
 * permission to view the realm, changes permission to manage it. The client secret is write-only (see
 * {@link ConnectorRepresentation}) and never appears in an answer, an admin event or an error.
 */
public class AdminConnectorsResource {

    private final KeycloakSession session;
    private final RealmModel realm;
    private final AdminPermissionEvaluator auth;
    private final AdminEventBuilder adminEvent;

    public AdminConnectorsResource(KeycloakSession session, RealmModel realm, AdminPermissionEvaluator auth, AdminEventBuilder adminEvent) {
        this.session = session;
        this.realm = realm;
        this.auth = auth;
        this.adminEvent = adminEvent.resource(AgentAuthEvents.ADMIN_RESOURCE_CONNECTOR);
    }

    /** Body of {@code POST connectors/discover}. */
    public record Discover(String issuer) {
    }

    /** Answer of {@code POST connectors/{alias}/test}: {@code ok} when every check passed. */
    public record TestResult(String alias, boolean ok, List<ConnectorChecks.Check> checks) {
    }

    /** Every connector of the realm, by alias. */
    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public List<ConnectorRepresentation> list() {
        auth.realm().requireViewRealm();
        return Connector.all(realm).map(ConnectorRepresentation::of).toList();
    }

    /** The presets the admin page offers ("New connector"). */
    @GET
    @Path("presets")
    @Produces(MediaType.APPLICATION_JSON)
    public List<ConnectorPresets.Preset> presets() {
        auth.realm().requireViewRealm();
        return ConnectorPresets.all();
    }

    @GET
    @Path("{alias}")
    @Produces(MediaType.APPLICATION_JSON)
    public ConnectorRepresentation get(@PathParam("alias") String alias) {
        auth.realm().requireViewRealm();
        return ConnectorRepresentation.of(Connector.of(component(alias)));
    }

    /** Creates a connector: 201 with its location and representation; 400 with field errors; 409 for a taken alias. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response create(String body) {
        auth.realm().requireManageRealm();
        AdminJson.Parsed<ConnectorRepresentation> parsed = AdminJson.read(body, ConnectorRepresentation.class, "connector");
        if (!parsed.ok()) {
            return AdminJson.badRequest(parsed.errors());
        }
        ConnectorRepresentation.ToModel m = parsed.value().toModel(realm.getId(), null);
        Response refused = refusal(m);
        if (refused != null) {
            return refused;
        }
        String alias = m.model().getName();
        if (Connector.byAlias(realm, alias).isPresent()) {
            return conflict(alias);
        }
        ComponentModel saved;
        try {
            saved = realm.addComponentModel(m.model());
        } catch (ComponentValidationException | org.keycloak.models.ModelValidationException e) {
            // what the factory refuses beyond our own checks (e.g. the same alias saved a moment ago)
            return Connector.byAlias(realm, alias).isPresent() ? conflict(alias) : AdminJson.badRequest(null, e.getMessage());
        }
        ConnectorRepresentation rep = ConnectorRepresentation.of(Connector.of(saved));
        adminEvent.operation(OperationType.CREATE)
                .resourcePath(session.getContext().getUri(), alias)
                .representation(rep)
                .success();
        URI location = session.getContext().getUri().getAbsolutePathBuilder().path(alias).build();
        return Response.created(location).entity(rep).build();
    }

    /**
     * Replaces a connector's configuration (the alias stays; a missing or null {@code clientSecret} keeps the stored
     * one). Moving a URL the vault sends a token or the secret to (authorization, token, revocation, userinfo, API base)
     * to another origin needs {@code clientSecret} again when one is stored (else 400 on {@code clientSecret}: the
     * stored secret never goes to a new origin) and marks the connections EXPIRED; the answer and the admin event say
     * {@code connectionsExpired: true} and name the moved fields ({@code originsChanged}).
     */
    @PUT
    @Path("{alias}")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response update(@PathParam("alias") String alias, String body) {
        auth.realm().requireManageRealm();
        ComponentModel existing = component(alias);
        AdminJson.Parsed<ConnectorRepresentation> parsed = AdminJson.read(body, ConnectorRepresentation.class, "connector");
        if (!parsed.ok()) {
            return AdminJson.badRequest(parsed.errors());
        }
        ConnectorRepresentation.ToModel m = parsed.value().toModel(realm.getId(), existing);
        Response refused = refusal(m);
        if (refused != null) {
            return refused;
        }
        List<String> moved = Connector.originChanges(Connector.of(existing), Connector.of(m.model()));
        boolean secretTyped = parsed.value().clientSecret() != null;
        if (!moved.isEmpty() && existing.get(Connector.CLIENT_SECRET) != null && !secretTyped) {
            return AdminJson.badRequest(List.of(new FieldError(Connector.CLIENT_SECRET, "clientSecret is required again: "
                    + String.join(", ", moved) + (moved.size() == 1 ? " moves" : " move") + " to another origin (scheme, host or port), "
                    + "and the stored secret and users' tokens are never sent to a new origin. Enter the client secret (or its "
                    + "${vault.key} reference) again; saving expires every connection of this connector")));
        }
        if (secretTyped) {
            session.setAttribute(org.agentauth.keycloak.vault.OAuth2ConnectorFactory.SECRET_REENTERED + existing.getId(), Boolean.TRUE);
        }
        try {
            // the factory's onUpdate marks the connections EXPIRED when an origin changed (same transaction)
            realm.updateComponent(m.model());
        } catch (ComponentValidationException | org.keycloak.models.ModelValidationException e) {
            return AdminJson.badRequest(null, e.getMessage());
        }
        ConnectorRepresentation rep = ConnectorRepresentation.of(Connector.of(m.model())).withOriginsChanged(moved);
        adminEvent.operation(OperationType.UPDATE)
                .resourcePath(session.getContext().getUri())
                .representation(rep)
                .success();
        return Response.ok(rep).build();
    }

    /** Deletes a connector and, through the component factory, every connection on it. */
    @DELETE
    @Path("{alias}")
    public Response delete(@PathParam("alias") String alias) {
        auth.realm().requireManageRealm();
        ComponentModel existing = component(alias);
        realm.removeComponent(existing);
        adminEvent.operation(OperationType.DELETE).resourcePath(session.getContext().getUri()).success();
        return Response.noContent().build();
    }

    /**
     * Tests the stored configuration against the upstream (see {@link ConnectorChecks#run}). Changes nothing; needs
     * permission to manage the realm, as it uses the client secret.
     */
    @POST
    @Path("{alias}/test")
    @Produces(MediaType.APPLICATION_JSON)
    public TestResult test(@PathParam("alias") String alias) {
        auth.realm().requireManageRealm();
        Connector c = Connector.of(component(alias));
        String callback = Urls.realmBase(session.getContext().getUri().getBaseUri())
                .path("{realm}/agent-auth/connectors/{alias}/callback").build(realm.getName(), c.alias()).toString();
        List<ConnectorChecks.Check> checks = new ConnectorChecks(session, settings()).run(c, callback);
        return new TestResult(c.alias(), checks.stream().allMatch(ConnectorChecks.Check::ok), checks);
    }

    /**
     * OpenID Connect discovery for the connector form: {@code {"issuer": "..."}} gives the issuer's authorization,
     * token, revocation and userinfo URLs. Saves nothing.
     */
    @POST
    @Path("discover")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response discover(String body) {
        auth.realm().requireManageRealm();
        AdminJson.Parsed<Discover> parsed = AdminJson.read(body, Discover.class, "discovery request");
        if (!parsed.ok()) {
            return AdminJson.badRequest(parsed.errors());
        }
        try {
            Map<String, String> urls = new ConnectorChecks(session, settings()).discover(parsed.value().issuer());
            return Response.ok(urls).build();
        } catch (ConnectorChecks.DiscoveryFailed e) {
            return AdminJson.badRequest("issuer", e.getMessage());
        }
    }

    private Response refusal(ConnectorRepresentation.ToModel m) {
        if (!m.ok()) {
            return AdminJson.badRequest(m.errors());
        }
        List<FieldError> problems = ConnectorValidator.validate(settings(), m.model(), true).stream()
                .map(p -> new FieldError(p.field(), p.message())).toList();
        return problems.isEmpty() ? null : AdminJson.badRequest(problems);
    }

    private Response conflict(String alias) {
        ErrorRepresentation error = new ErrorRepresentation("alias", "A connector with alias " + alias + " exists", null);
        return Response.status(Response.Status.CONFLICT).type(MediaType.APPLICATION_JSON).entity(error).build();
    }

    private VaultSettings settings() {
        return session.getProvider(VaultSettings.class);
    }

    /** The connector's component; 404 when the realm has none with this alias. */
    private ComponentModel component(String alias) {
        return realm.getComponentsStream(realm.getId(), ConnectorProvider.class.getName())
                .filter(c -> alias.equals(c.getName())).findFirst()
                .orElseThrow(() -> new NotFoundException("Connector not found"));
    }
}
