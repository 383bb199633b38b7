package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The demo realms of realm-exports/ are imported as DESIGN section 8 names them. */
@Order(2)
@ExtendWith(KeycloakServerExtension.class)
class DemoRealmIT {

    private final KeycloakServer server;
    private final Oidc oidc;

    DemoRealmIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
    }

    @Test
    void aliceLogsInThroughAgentHost() {
        Http browser = new Http();
        Pkce pkce = Pkce.create();
        String url = oidc.authUrl(Oidc.DEMO, Form.of(
                "client_id", "agent-host",
                "redirect_uri", "http://localhost/callback",
                "response_type", "code",
                "scope", "openid",
                "state", "st-1",
                "code_challenge", pkce.challenge(),
                "code_challenge_method", "S256").list());
        Http.Response r = oidc.openAndLogin(browser, url, "alice", "alice");
        assertEquals(302, r.status(), r.body());
        Map<String, String> cb = Oidc.params(r.location());
        assertEquals("st-1", cb.get("state"));
        assertEquals(server.realmUrl(Oidc.DEMO), cb.get("iss"));
        assertNotNull(cb.get("code"), r.location());

        Http.Response token = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of(
                "grant_type", "authorization_code",
                "code", cb.get("code"),
                "redirect_uri", "http://localhost/callback",
                "code_verifier", pkce.verifier()).list(), Http.basic("agent-host", "agent-host-secret"));
        assertEquals(200, token.status(), token.body());
        JsonNode claims = Oidc.claims(token.json().get("access_token").asText());
        assertEquals("alice", claims.path("preferred_username").asText());
        assertEquals("agent-host", claims.path("azp").asText());
    }

    @Test
    void wrongPasswordIsRefused() {
        Http browser = new Http();
        Pkce pkce = Pkce.create();
        String url = oidc.authUrl(Oidc.DEMO, Form.of(
                "client_id", "agent-host", "redirect_uri", "http://localhost/callback", "response_type", "code",
                "scope", "openid", "code_challenge", pkce.challenge(), "code_challenge_method", "S256").list());
        Http.Response r = oidc.openAndLogin(browser, url, "alice", "not-alice");
        assertEquals(200, r.status());
        assertTrue(r.body().contains("kc-form-login"), "login form shown again");
    }

    @Test
    void calendarAgentGetsClientCredentialsToken() {
        Http.Response r = oidc.clientCredentials(Oidc.DEMO, "calendar-agent", "calendar-agent-secret");
        assertEquals(200, r.status(), r.body());
        JsonNode claims = Oidc.claims(r.json().get("access_token").asText());
        assertEquals("calendar-agent", claims.path("azp").asText());
        // the service_account scope's claim (profile is an optional scope of the demo agents: DESIGN section 3 rule 5)
        assertEquals("calendar-agent", claims.path("client_id").asText(), claims.toString());
        assertTrue(claims.path("act").isMissingNode(), claims.toString());
    }

    @Test
    void demoClientsAndUsersExist() {
        String admin = oidc.adminToken();
        Http http = new Http();
        for (String clientId : new String[] {"agent-host", "mcp-client", "calendar-agent", "research-agent", "plain-service"}) {
            Http.Response r = http.get(server.baseUrl() + "/admin/realms/agents-demo/clients?clientId=" + clientId, admin);
            assertEquals(200, r.status(), r.body());
            assertEquals(1, r.json().size(), clientId + " missing");
        }
        assertTrue(oidc.clientCredentials(Oidc.DEMO, "plain-service", "plain-service-secret").status() == 200);
        assertTrue(oidc.clientCredentials(Oidc.DEMO, "research-agent", "research-agent-secret").status() == 200);
        Http.Response mcp = http.get(server.baseUrl() + "/admin/realms/agents-demo/clients?clientId=mcp-client", admin);
        assertTrue(mcp.json().get(0).path("publicClient").asBoolean());

        Http.Response realm = http.get(server.baseUrl() + "/admin/realms/agents-demo", admin);
        assertTrue(realm.json().path("eventsEnabled").asBoolean());
        assertTrue(realm.json().path("adminEventsEnabled").asBoolean());
        assertTrue(realm.json().path("adminEventsDetailsEnabled").asBoolean());

        for (String user : new String[] {"alice-work", "alice-personal", "bob-cal"}) {
            Http.Response u = http.get(server.baseUrl() + "/admin/realms/upstream-saas/users?exact=true&username=" + user, admin);
            assertEquals(1, u.json().size(), user + " missing");
        }
        Http.Response up = http.get(server.baseUrl() + "/admin/realms/upstream-saas", admin);
        assertEquals(60, up.json().path("accessTokenLifespan").asInt());
    }
}
