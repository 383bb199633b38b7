package org.agentauth.keycloak.admin;

import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.services.resources.admin.AdminEventBuilder;
import org.keycloak.services.resources.admin.fgap.AdminPermissionEvaluator;

/**
 * {@code /admin/realms/{realm}/agent-auth/}: the extension's admin REST API. Agents and their policies
 * ({@code agents}), delegation grants ({@code users/{userId}/delegations}, {@code delegations?agent=}), and the vault:
 * connectors ({@code connectors}), users' connections ({@code users/{userId}/connections}) and keys ({@code vault});
 * clients without registration ({@code cimd}).
 */
public class AgentAuthAdminRoot {

    private final KeycloakSession session;
    private final RealmModel realm;
    private final AdminPermissionEvaluator auth;
    private final AdminEventBuilder adminEvent;

    public AgentAuthAdminRoot(KeycloakSession session, RealmModel realm, AdminPermissionEvaluator auth, AdminEventBuilder adminEvent) {
        this.session = session;
        this.realm = realm;
        this.auth = auth;
        this.adminEvent = adminEvent;
    }

    /** The realm's clients and their agent policies: {@code agents}, {@code agents/{clientId}}. */
    @Path("agents")
    public AdminAgentsResource agents() {
        return new AdminAgentsResource(session, realm, auth, adminEvent);
    }

    /** Every grant to one agent: {@code delegations?agent={clientId}}. */
    @Path("delegations")
    public AdminGrantsResource grantsByAgent() {
        return new AdminGrantsResource(session, realm, auth, adminEvent, null);
    }

    /** The realm's connectors (upstream OAuth 2 providers of the vault): CRUD, presets, discovery, configuration test. */
    @Path("connectors")
    public AdminConnectorsResource connectors() {
        return new AdminConnectorsResource(session, realm, auth, adminEvent);
    }

    /** One user's connected upstream accounts: list, check, revoke. */
    @Path("users/{userId}/connections")
    public AdminConnectionsResource connectionsOfUser(@PathParam("userId") String userId) {
        return new AdminConnectionsResource(session, realm, auth, adminEvent, userId);
    }

    /** The vault's key state and re-encryption under the active key. */
    @Path("vault")
    public AdminVaultResource vault() {
        return new AdminVaultResource(session, realm, auth, adminEvent);
    }

    /** The realm's settings for clients identified by a client ID metadata document (CIMD). */
    @Path("cimd")
    public AdminCimdResource cimd() {
        return new AdminCimdResource(session, realm, auth, adminEvent);
    }

    /** One user's grants: list, create (pre-authorise), revoke. */
    @Path("users/{userId}/delegations")
    public AdminGrantsResource grantsOfUser(@PathParam("userId") String userId) {
        return new AdminGrantsResource(session, realm, auth, adminEvent, userId);
    }
}
