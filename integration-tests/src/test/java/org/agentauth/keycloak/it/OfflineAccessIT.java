package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code offline_access} with an agent (DESIGN section 3 rule 8, issue 12 finding 6): only when the agent's scope
 * ceiling allows it and the consent screen said so, in the {@code requested_actor} code flow and in consent by scope.
 */
@Order(23)
@ExtendWith(KeycloakServerExtension.class)
class OfflineAccessIT {

    /** An agent whose ceiling includes offline_access (calendar-agent's does not). */
    static final String AGENT = "offline-agent";
    static final String MCP_CLIENT = "mcp-client";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final AgentFlows flows;
    private final Delegations delegations;
    private final String issuer;

    OfflineAccessIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.flows = new AgentFlows(server);
        this.delegations = new Delegations(server);
        this.issuer = server.realmUrl(Oidc.DEMO);
    }

    @BeforeEach
    void agentAndNoGrants() {
        flows.createClient(oidc.adminToken(), Map.of("clientId", AGENT, "name", "Offline Agent", "publicClient", false,
                "serviceAccountsEnabled", true, "standardFlowEnabled", false, "secret", AGENT + "-secret",
                "attributes", Map.of("agent_auth.agent", "true", "agent_auth.allowed_hosts", "agent-host " + MCP_CLIENT,
                        "agent_auth.allowed_scopes", "openid profile offline_access", "agent_auth.refresh_allowed", "true")));
        delegations.setAttributes(AGENT, Map.of("agent_auth.allowed_scopes", "openid profile offline_access"));
        delegations.revokeAll("alice");
    }

    private Map<String, String> refusedBeforeLogin(Form params) {
        Http.Response r = new Http().get(oidc.authUrl(Oidc.DEMO, params.list()));
        assertEquals(302, r.status(), r.toString());
        assertTrue(r.location().startsWith(DemoUsers.REDIRECT), r.location());
        Map<String, String> p = Oidc.params(r.location());
        assertFalse(p.containsKey("code"), r.location());
        assertEquals(issuer, p.get("iss"), r.location());
        return p;
    }

    private Form mcpAuth(Pkce pkce, String scope, String... extra) {
        Form f = Form.of("client_id", MCP_CLIENT, "redirect_uri", DemoUsers.REDIRECT, "response_type", "code", "scope", scope,
                "state", "st-mcp", "code_challenge", pkce.challenge(), "code_challenge_method", "S256");
        for (int i = 0; i < extra.length; i += 2) {
            f.add(extra[i], extra[i + 1]);
        }
        return f;
    }

    private Http.Response mcpRedeem(String code, Pkce pkce) {
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "authorization_code", "code", code,
                "redirect_uri", DemoUsers.REDIRECT, "code_verifier", pkce.verifier(), "client_id", MCP_CLIENT).list());
    }

    private Http.Response mcpRefresh(String refreshToken) {
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                "refresh_token", refreshToken, "client_id", MCP_CLIENT).list());
    }

    private List<String> grantScopes(String user, String agent, String host) {
        String admin = oidc.adminToken();
        DemoUsers users = new DemoUsers(server);
        for (JsonNode g : new Http().get(users.grantsUrl(users.userId(admin, user)), admin).json()) {
            if (agent.equals(g.path("agent").asText()) && host.equals(g.path("host").asText())) {
                return Http.JSON.convertValue(g.path("scopes"), List.class);
            }
        }
        return null;
    }

    @Test
    void offlineAccessOutsideTheAgentsCeilingIsRefusedBeforeLogin() {
        // the attack: requested_actor=calendar-agent (ceiling openid profile email) with offline_access
        Pkce pkce = Pkce.create();
        Form attack = Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT, "response_type", "code",
                "scope", "openid profile email offline_access", "state", "st-1", "code_challenge", pkce.challenge(),
                "code_challenge_method", "S256", "requested_actor", "calendar-agent");
        Map<String, String> p = refusedBeforeLogin(attack);
        assertEquals("invalid_scope", p.get("error"), p.toString());
        assertEquals("st-1", p.get("state"));
        assertTrue(p.get("error_description").contains("offline_access") && p.get("error_description").contains("calendar-agent"),
                p.get("error_description"));

        // consent by scope: the MCP client's offline token would carry may_act
        Map<String, String> q = refusedBeforeLogin(mcpAuth(Pkce.create(), "openid offline_access delegation:client:calendar-agent"));
        assertEquals("invalid_scope", q.get("error"), q.toString());
        assertEquals("st-mcp", q.get("state"));

        // through PAR: HTTP 400 invalid_scope, both flows
        String par = issuer + "/protocol/openid-connect/ext/par/request";
        Http.Response pushed = new Http().postForm(par, attack.list(), Http.basic(DemoUsers.HOST, DemoUsers.HOST_SECRET));
        assertEquals(400, pushed.status(), pushed.toString());
        assertEquals("invalid_scope", pushed.json().get("error").asText(), pushed.body());
        Http.Response pushedScope = new Http().postForm(par, Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT,
                "response_type", "code", "scope", "openid offline_access delegation:client:calendar-agent", "code_challenge",
                Pkce.create().challenge(), "code_challenge_method", "S256").list(), Http.basic(DemoUsers.HOST, DemoUsers.HOST_SECRET));
        assertEquals(400, pushedScope.status(), pushedScope.toString());
        assertEquals("invalid_scope", pushedScope.json().get("error").asText(), pushedScope.body());

        // without an agent, offline_access stays Keycloak's business
        Http.Response plain = new Http().get(oidc.authUrl(Oidc.DEMO, Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT,
                "response_type", "code", "scope", "openid offline_access", "state", "st-1", "code_challenge", Pkce.create().challenge(),
                "code_challenge_method", "S256").list()));
        assertEquals(200, plain.status(), plain + " " + plain.location());
        assertTrue(plain.body().contains("kc-form-login"), "login page");
        assertTrue(flows.events(oidc.adminToken(), "type=LOGIN_ERROR&client=agent-host").contains("offline_access is outside"));
    }

    @Test
    void withinTheCeilingTheConsentPageListsItAndTheCodeFlowGivesAnOfflineTokenWithAct() {
        Pkce pkce = Pkce.create();
        Form params = Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT, "response_type", "code",
                "scope", "openid profile offline_access", "state", "st-1", "code_challenge", pkce.challenge(),
                "code_challenge_method", "S256", "requested_actor", AGENT);
        Http browser = new Http();
        Http.Response page = flows.open(browser, oidc.authUrl(Oidc.DEMO, params.list()), "alice");
        assertTrue(AgentFlows.isConsentPage(page), page.toString());
        assertTrue(page.body().contains("data-scope=\"offline_access\""), "offline_access listed");
        assertTrue(page.body().contains("Keep this access while you are signed out (offline access)"), "its consent text");

        Http.Response de = flows.open(new Http(), oidc.authUrl(Oidc.DEMO, Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT,
                "response_type", "code", "scope", "openid profile offline_access", "state", "st-1", "code_challenge", Pkce.create().challenge(),
                "code_challenge_method", "S256", "requested_actor", AGENT, "ui_locales", "de").list()), "alice");
        assertTrue(AgentFlows.isConsentPage(de), de.toString());
        assertTrue(de.body().contains("(Offline-Zugriff)"), "German consent text");

        Http.Response back = flows.decide(browser, page, "allow");
        String code = Oidc.params(back.location()).get("code");
        assertNotNull(code, back.location());
        assertTrue(grantScopes("alice", AGENT, DemoUsers.HOST).contains("offline_access"), "the grant records offline_access");
        Http.Response t = flows.redeem(code, pkce, "actor_token", flows.agentToken(AGENT));
        assertEquals(200, t.status(), t.body());
        JsonNode at = Oidc.claims(t.json().get("access_token").asText());
        assertEquals(AGENT, at.path("act").path("client_id").asText(), at.toString());
        assertTrue(List.of(at.get("scope").asText().split(" ")).contains("offline_access"), at.toString());
        JsonNode rt = Oidc.claims(t.json().get("refresh_token").asText());
        assertEquals("Offline", rt.get("typ").asText(), rt.toString());

        Http.Response r1 = flows.refresh(t.json().get("refresh_token").asText());
        assertEquals(200, r1.status(), r1.body());
        JsonNode refreshed = Oidc.claims(r1.json().get("access_token").asText());
        assertEquals(AGENT, refreshed.path("act").path("client_id").asText(), "refreshed: " + refreshed + " from refresh token " + rt);

        // the ceiling loses offline_access: the offline refresh token is refused (never a token without act)
        delegations.setAttributes(AGENT, Map.of("agent_auth.allowed_scopes", "openid profile"));
        RequestedActorIT.assertGrantError(flows.refresh(r1.json().get("refresh_token").asText()), "invalid_grant");

        // and a code consented with offline_access while the ceiling allowed it is refused at the token endpoint
        delegations.setAttributes(AGENT, Map.of("agent_auth.allowed_scopes", "openid profile offline_access"));
        Pkce p2 = Pkce.create();
        Form again = Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT, "response_type", "code",
                "scope", "openid profile offline_access", "state", "st-1", "code_challenge", p2.challenge(),
                "code_challenge_method", "S256", "requested_actor", AGENT);
        String code2 = flows.codeFor(new Http(), again, "alice");
        delegations.setAttributes(AGENT, Map.of("agent_auth.allowed_scopes", "openid profile"));
        RequestedActorIT.assertGrantError(flows.redeem(code2, p2, "actor_token", flows.agentToken(AGENT)), "invalid_scope");
    }

    @Test
    void consentByScopeWithinTheCeilingListsItAndTheOfflineTokenCarriesMayActOnlyWhileAllowed() {
        String scope = "openid offline_access delegation:client:" + AGENT;
        Pkce pkce = Pkce.create();
        Http browser = new Http();
        Http.Response page = flows.open(browser, oidc.authUrl(Oidc.DEMO, mcpAuth(pkce, scope).list()), "alice");
        assertTrue(AgentFlows.isConsentPage(page), page.toString());
        assertTrue(page.body().contains("data-scope=\"offline_access\""), "offline_access listed");
        Http.Response back = flows.decide(browser, page, "allow");
        String code = Oidc.params(back.location()).get("code");
        assertNotNull(code, back.location());
        assertTrue(grantScopes("alice", AGENT, MCP_CLIENT).contains("offline_access"), "the grant records offline_access");
        Http.Response t = mcpRedeem(code, pkce);
        assertEquals(200, t.status(), t.body());
        assertEquals("Offline", Oidc.claims(t.json().get("refresh_token").asText()).get("typ").asText());
        JsonNode mayAct = Oidc.claims(t.json().get("access_token").asText()).get("may_act");
        assertNotNull(mayAct, "may_act on the offline login's token");
        assertEquals(AGENT, mayAct.get("client_id").asText());

        // the agent's ceiling loses offline_access: the refreshed offline token no longer carries may_act
        delegations.setAttributes(AGENT, Map.of("agent_auth.allowed_scopes", "openid profile"));
        Http.Response r = mcpRefresh(t.json().get("refresh_token").asText());
        assertEquals(200, r.status(), r.body());
        assertNull(Oidc.claims(r.json().get("access_token").asText()).get("may_act"), "no may_act once offline_access is outside the ceiling");
    }
}
