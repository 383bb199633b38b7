package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The JAR is installed in a real Keycloak and reports itself on the admin console's server-info page. */
@Order(1)
@ExtendWith(KeycloakServerExtension.class)
class ServerInfoIT {

    @Test
    void serverInfoShowsTheExtensionVersion(KeycloakServer server) {
        Oidc oidc = new Oidc(server);
        Http.Response r = new Http().get(server.baseUrl() + "/admin/serverinfo", oidc.adminToken());
        assertEquals(200, r.status(), r.body());
        JsonNode provider = r.json().path("providers").path("realm-restapi-extension").path("providers").path("agent-auth");
        assertFalse(provider.isMissingNode(), "agent-auth provider not listed in server info");
        JsonNode info = provider.path("operationalInfo");
        assertEquals(System.getProperty("agentauth.version"), info.path("version").asText());
        assertEquals("26.7.3", info.path("built-against-keycloak").asText());
        String running = info.path("running-on-keycloak").asText();
        assertTrue(server.distributionVersion().contains(running), running + " vs " + server.distributionVersion());
        assertEquals(System.getProperty("keycloak.expectedVersion"), running);
        System.out.println("[server-info] agent-auth " + info);
    }

    /** The vault's key state on the server-info page: dev mode uses the development key unless keys are configured. */
    @Test
    void serverInfoShowsTheVaultKeyState(KeycloakServer server) {
        Http.Response r = new Http().get(server.baseUrl() + "/admin/serverinfo", new Oidc(server).adminToken());
        assertEquals(200, r.status(), r.body());
        JsonNode info = r.json().path("providers").path("agent-auth-vault").path("providers").path("default").path("operationalInfo");
        assertFalse(info.isMissingNode(), "agent-auth-vault not listed in server info");
        String encryption = info.path("encryption").asText();
        boolean configured = System.getProperty("keycloak.extraArgs", "").contains("agent-auth-vault--default--keys");
        assertTrue(encryption.startsWith("AES-256-GCM"), encryption);
        assertEquals(configured, !encryption.contains("DEVELOPMENT"), encryption);
        assertFalse(encryption.matches(".*[A-Za-z0-9+/]{40,}.*"), "no key material: " + encryption);
        assertTrue(info.path("allowed-hosts").asText().contains("localhost"), info.toString());
        System.out.println("[server-info] agent-auth-vault " + info);
    }

    @Test
    void restRootDescribesTheRealm(KeycloakServer server) {
        Http.Response r = new Http().get(server.realmUrl(Oidc.DEMO) + "/agent-auth/metadata");
        assertEquals(200, r.status(), r.body());
        assertEquals(server.realmUrl(Oidc.DEMO), r.json().path("issuer").asText());
        assertEquals(System.getProperty("agentauth.version"), r.json().path("agent_auth_version").asText());
    }
}
