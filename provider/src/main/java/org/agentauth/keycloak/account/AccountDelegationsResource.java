package org.agentauth.keycloak.account;

import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.OPTIONS;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.delegation.GrantRepresentation;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;

/**
 * {@code /realms/{realm}/agent-auth/account/delegations}: the signed-in user lists and revokes their own
 * delegation grants. Authorised like Keycloak's Account REST API (bearer token with audience {@code account} and
 * role {@code manage-account}); a token that carries {@code act} or {@code may_act} is refused (403): an agent
 * never manages the user's delegations. CORS as Keycloak's Account REST API does it ({@link AccountCors}).
 */
public class AccountDelegationsResource {

    private final KeycloakSession session;
    private final RealmModel realm;

    public AccountDelegationsResource(KeycloakSession session) {
        this.session = session;
        this.realm = session.getContext().getRealm();
    }

    /** CORS preflight: see {@link AccountCors} (only origins that clients of the realm have as web origins). */
    @OPTIONS
    @Path("{any:.*}")
    public Response preflight() {
        return AccountCors.preflight(session);
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public Response list() {
        UserModel user = authenticate();
        List<GrantRepresentation> grants = session.getProvider(DelegationGrantProvider.class).listForUser(realm, user.getId()).stream()
                .map(g -> GrantRepresentation.of(realm, g)).toList();
        return Response.ok(grants).build();
    }

    @DELETE
    @Path("{id}")
    public Response revoke(@PathParam("id") String id) {
        UserModel user = authenticate();
        // Another user's grant and an unknown id look the same: 404.
        DelegationGrant grant = AccountActions.ownGrant(session, realm, user, id)
                .orElseThrow(() -> new NotFoundException("Delegation grant not found"));
        AccountActions.revokeGrant(session, realm, user, grant);
        return Response.noContent().build();
    }

    private UserModel authenticate() {
        return AccountAuth.authenticate(session, "Delegated tokens cannot manage delegations", "Service accounts have no delegations");
    }
}
