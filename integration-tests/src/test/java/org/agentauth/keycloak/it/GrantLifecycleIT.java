package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Grants go with their realm and their clients. The realm, its clients and its user are created with fixed ids, so
 * that after a deletion the same ids can be created again and any grant row left behind would show up.
 */
@Order(11)
@ExtendWith(KeycloakServerExtension.class)
class GrantLifecycleIT {

    private static final String REALM = "grant-lifecycle";
    private static final String USER_ID = "6f1c3c52-0d1e-4c55-9d8e-000000000001";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Http http = new Http();

    GrantLifecycleIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
    }

    private Map<String, Object> realm() {
        return Map.of(
                "id", "6f1c3c52-0d1e-4c55-9d8e-0000000000aa",
                "realm", REALM,
                "enabled", true,
                "users", List.of(Map.of("id", USER_ID, "username", "lifecycle-user", "enabled", true)),
                "clients", List.of(
                        Map.of("id", "6f1c3c52-0d1e-4c55-9d8e-0000000000b1", "clientId", "lc-host", "publicClient", false,
                                "secret", "lc-host-secret", "redirectUris", List.of("http://localhost/*")),
                        Map.of("id", "6f1c3c52-0d1e-4c55-9d8e-0000000000b2", "clientId", "lc-agent", "publicClient", false,
                                "secret", "lc-agent-secret", "serviceAccountsEnabled", true, "standardFlowEnabled", false,
                                "attributes", Map.of("agent_auth.agent", "true", "agent_auth.allowed_scopes", "openid profile",
                                        "agent_auth.allowed_hosts", "lc-host"))));
    }

    private String grants() {
        return server.baseUrl() + "/admin/realms/" + REALM + "/agent-auth/users/" + USER_ID + "/delegations";
    }

    private void createRealmWithGrant(String admin) {
        Http.Response created = http.postJson(server.baseUrl() + "/admin/realms", admin, realm());
        assertEquals(201, created.status(), created.body());
        Http.Response g = http.postJson(grants(), admin, Map.of("agent", "lc-agent", "host", "lc-host"));
        assertEquals(201, g.status(), g.body());
        assertEquals(1, http.get(grants(), admin).json().size());
    }

    @Test
    void grantsAreDeletedWithTheRealmAndWithTheirClients() {
        String admin = oidc.adminToken();
        createRealmWithGrant(admin);

        // the realm goes, and with it the grant: the same realm, client and user ids created again see no grant
        assertEquals(204, http.delete(server.baseUrl() + "/admin/realms/" + REALM, admin).status());
        Http.Response again = http.postJson(server.baseUrl() + "/admin/realms", admin, realm());
        assertEquals(201, again.status(), again.body());
        assertEquals(0, http.get(grants(), admin).json().size(), "grant left behind after realm deletion");

        // the agent client goes: its grants go with it
        Http.Response g = http.postJson(grants(), admin, Map.of("agent", "lc-agent", "host", "lc-host"));
        assertEquals(201, g.status(), g.body());
        assertEquals(204, http.delete(server.baseUrl() + "/admin/realms/" + REALM + "/clients/6f1c3c52-0d1e-4c55-9d8e-0000000000b2", admin).status());
        assertEquals(0, http.get(grants(), admin).json().size(), "grant left behind after agent deletion");

        assertEquals(204, http.delete(server.baseUrl() + "/admin/realms/" + REALM, admin).status());
    }
}
