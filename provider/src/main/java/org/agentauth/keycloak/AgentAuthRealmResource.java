package org.agentauth.keycloak;

import org.agentauth.keycloak.support.RealmIssuer;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.LinkedHashMap;
import java.util.Map;
import org.agentauth.keycloak.account.AccountConnectionsResource;
import org.agentauth.keycloak.account.AccountDelegationsResource;
import org.agentauth.keycloak.account.AccountPageResource;
import org.agentauth.keycloak.admin.AdminPageResource;
import org.agentauth.keycloak.support.AgentAuthVersion;
import org.agentauth.keycloak.vault.connect.ConnectResource;
import org.keycloak.models.KeycloakSession;

/** JAX-RS root under {@code /realms/{realm}/agent-auth/}. Feature resources hang off this class. */
public class AgentAuthRealmResource {

    private final KeycloakSession session;

    public AgentAuthRealmResource(KeycloakSession session) {
        this.session = session;
    }

    /** The signed-in user's own delegation grants. */
    @Path("account/delegations")
    public AccountDelegationsResource accountDelegations() {
        return new AccountDelegationsResource(session);
    }

    /** The signed-in user's own connected upstream accounts. */
    @Path("account/connections")
    public AccountConnectionsResource accountConnections() {
        return new AccountConnectionsResource(session);
    }

    /**
     * The self-service page ({@code account/}, its stable URL) and its revoke form ({@code account/revoke}); the two
     * locators above, being longer, take {@code account/delegations} and {@code account/connections}.
     */
    @Path("account")
    public AccountPageResource accountPage() {
        return new AccountPageResource(session);
    }

    /** A connector's connect flow: {@code connectors/{alias}/connect}, {@code connectors/{alias}/callback}. */
    @Path("connectors/{alias}")
    public ConnectResource connector(@PathParam("alias") String alias) {
        return new ConnectResource(session, alias);
    }

    /** The agent admin page: HTML, script and style (the page signs the admin in itself). */
    @Path("admin")
    public AdminPageResource adminPage() {
        return new AdminPageResource(session);
    }

    /**
     * Public description of this realm's agent-auth endpoints, so clients can discover them. (Not at the root
     * itself: Keycloak 26.7's realm resource answers a GET on an extension's bare root with 405.)
     */
    @GET
    @Path("metadata")
    @Produces(MediaType.APPLICATION_JSON)
    public Map<String, Object> metadata() {
        String issuer = RealmIssuer.of(session, session.getContext().getRealm());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("issuer", issuer);
        m.put("agent_auth_version", AgentAuthVersion.version());
        m.put("token_endpoint", issuer + "/protocol/openid-connect/token");
        return m;
    }
}
