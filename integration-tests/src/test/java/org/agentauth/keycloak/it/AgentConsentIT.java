package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The agent consent screen (DESIGN sections 4.2 and 6). */
@Order(21)
@ExtendWith(KeycloakServerExtension.class)
class AgentConsentIT {

    private final KeycloakServer server;
    private final Oidc oidc;
    private final AgentFlows flows;
    private final DemoUsers users;

    AgentConsentIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.flows = new AgentFlows(server);
        this.users = new DemoUsers(server);
    }

    private Http.Response loginToConsent(Http browser, Form params, String user) {
        Http.Response r = flows.open(browser, oidc.authUrl(Oidc.DEMO, params.list()), user);
        assertTrue(AgentFlows.isConsentPage(r), "expected the consent page: " + r);
        return r;
    }

    @Test
    void pageShowsAgentHostScopesConnectorsDownstreamAndLifetimeAndCannotBeFramed() {
        Http browser = new Http();
        Http.Response page = loginToConsent(browser, flows.authParams("calendar-agent", Pkce.create(), "prompt", "consent"), "alice");
        String b = page.body();
        assertTrue(b.contains("Calendar Agent"), "agent name");
        assertTrue(b.contains("Reads and plans your calendar. Published by Example Agents Inc."), "description");
        assertTrue(b.contains("Agent Host"), "host name");
        assertTrue(b.contains("href=\"https://agents.example.com/calendar/privacy\""), "policy link");
        assertTrue(b.contains("data-scope=\"openid\"") && b.contains("data-scope=\"profile\"") && b.contains("data-scope=\"email\""), "scopes");
        assertTrue(b.contains("demo-calendar"), "connector");
        assertTrue(b.contains("Research Agent"), "downstream agent");
        assertTrue(b.contains("30 days"), "grant lifetime");
        assertTrue(b.contains("name=\"decision\"") && b.contains("value=\"allow\"") && b.contains("value=\"deny\""), "Allow / Deny");
        assertTrue(Oidc.formAction(b, AgentFlows.CONSENT_FORM).contains("session_code="), "Keycloak's action code guards the POST");
        assertEquals("DENY", page.header("X-Frame-Options"));
        assertTrue(page.header("Content-Security-Policy").contains("frame-ancestors 'none'"), page.header("Content-Security-Policy"));
        assertTrue(b.contains("pf-v5-c-"), "PatternFly (keycloak.v2) layout");

        // German
        Http de = new Http();
        Http.Response dePage = loginToConsent(de, flows.authParams("calendar-agent", Pkce.create(), "prompt", "consent", "ui_locales", "de"), "alice");
        assertTrue(dePage.body().contains("Erlauben") && dePage.body().contains("Ablehnen"), "German buttons");
        assertTrue(dePage.body().contains("30 Tage"), "German lifetime");
    }

    @Test
    void denyGivesAccessDeniedAndAnEvent() {
        Http browser = new Http();
        Http.Response page = loginToConsent(browser, flows.authParams("research-agent", Pkce.create(), "prompt", "consent"), "bob");
        Http.Response r = flows.decide(browser, page, "deny");
        assertEquals(302, r.status(), r.toString());
        Map<String, String> p = Oidc.params(r.location());
        assertEquals("access_denied", p.get("error"), r.location());
        assertEquals("st-1", p.get("state"));
        assertFalse(p.containsKey("code"));
        String events = flows.events(oidc.adminToken(), "type=GRANT_CONSENT_ERROR");
        assertTrue(events.contains("consent_denied") && events.contains("research-agent"), events);
    }

    @Test
    void allowRecordsTheGrantAndAnActiveGrantSkipsTheScreenUnlessPromptConsent() {
        String admin = oidc.adminToken();
        String bobId = users.userId(admin, "bob");
        // start from no grant for (bob, calendar-agent, agent-host)
        for (JsonNode g : new Http().get(users.grantsUrl(bobId), admin).json()) {
            if ("calendar-agent".equals(g.path("agent").asText()) && "agent-host".equals(g.path("host").asText())) {
                new Http().delete(users.grantsUrl(bobId) + "/" + g.path("id").asText(), admin);
            }
        }
        Http browser = new Http();
        Pkce p1 = Pkce.create();
        Http.Response page = loginToConsent(browser, flows.authParams("calendar-agent", p1), "bob");
        Http.Response back = flows.decide(browser, page, "allow");
        assertEquals(302, back.status());
        String code = Oidc.params(back.location()).get("code");
        assertNotNull(code, back.location());
        JsonNode grant = null;
        for (JsonNode g : new Http().get(users.grantsUrl(bobId), admin).json()) {
            if ("calendar-agent".equals(g.path("agent").asText()) && "agent-host".equals(g.path("host").asText())) {
                grant = g;
            }
        }
        assertNotNull(grant, "grant recorded");
        assertEquals("consent", grant.path("origin").asText());
        assertEquals(List.of("openid", "profile", "email"), Http.JSON.convertValue(grant.path("scopes"), List.class));
        String events = flows.events(admin, "type=GRANT_CONSENT&user=" + bobId);
        assertTrue(events.contains(grant.path("id").asText()) && events.contains("calendar-agent") && events.contains("agent-host"), events);
        assertEquals(200, flows.redeem(code, p1, "actor_token", flows.agentToken("calendar-agent")).status());

        // a fresh browser: login, no screen (grant covers it), code still bound
        Pkce p2 = Pkce.create();
        Http other = new Http();
        Http.Response r = flows.open(other, oidc.authUrl(Oidc.DEMO, flows.authParams("calendar-agent", p2).list()), "bob");
        assertEquals(302, r.status(), "no consent screen with an active grant: " + r);
        String code2 = Oidc.params(r.location()).get("code");
        RequestedActorIT.assertGrantError(flows.redeem(code2, p2), "invalid_grant");

        // prompt=consent shows it again
        loginToConsent(new Http(), flows.authParams("calendar-agent", Pkce.create(), "prompt", "consent"), "bob");
        // a grant that does not cover the scopes asks again
        Pkce p4 = Pkce.create();
        Form narrower = Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT, "response_type", "code",
                "scope", "openid profile", "state", "st-1", "code_challenge", p4.challenge(), "code_challenge_method", "S256",
                "requested_actor", "research-agent");
        Http.Response rp = flows.open(new Http(), oidc.authUrl(Oidc.DEMO, narrower.list()), "bob");
        assertTrue(AgentFlows.isConsentPage(rp) || rp.status() == 302, rp.toString());
    }

    @Test
    void preauthorizedAgentSkipsTheScreenButRecordsTheGrant() {
        String admin = oidc.adminToken();
        flows.createClient(admin, Map.of("clientId", "helper-agent", "name", "Helper Agent", "publicClient", false,
                "serviceAccountsEnabled", true, "secret", "helper-agent-secret",
                "attributes", Map.of("agent_auth.agent", "true", "agent_auth.allowed_hosts", "agent-host",
                        "agent_auth.allowed_scopes", "openid profile", "agent_auth.preauthorized", "true")));
        Pkce pkce = Pkce.create();
        Http.Response r = flows.open(new Http(), oidc.authUrl(Oidc.DEMO, flows.authParams("helper-agent", pkce).list()), "alice");
        assertEquals(302, r.status(), "no screen for a preauthorized agent: " + r);
        Http.Response t = flows.redeem(Oidc.params(r.location()).get("code"), pkce, "actor_token", flows.agentToken("helper-agent"));
        assertEquals(200, t.status(), t.body());
        assertEquals("helper-agent", Oidc.claims(t.json().get("access_token").asText()).get("act").get("client_id").asText());
        String aliceId = users.userId(admin, "alice");
        boolean found = false;
        for (JsonNode g : new Http().get(users.grantsUrl(aliceId), admin).json()) {
            if ("helper-agent".equals(g.path("agent").asText())) {
                found = true;
                assertEquals("preauthorized", g.path("origin").asText());
            }
        }
        assertTrue(found, "grant recorded for a preauthorized agent");
    }

    @Test
    void adminProvidedTextAndUrlsAreEscaped() {
        String admin = oidc.adminToken();
        JsonNode c = flows.createClient(admin, Map.of("clientId", "shady-agent", "name", "Shady <b>Agent</b>",
                "description", "<script>alert('x')</script> & more", "publicClient", false, "serviceAccountsEnabled", true,
                "secret", "shady-agent-secret",
                "attributes", Map.of("agent_auth.agent", "true", "agent_auth.allowed_hosts", "agent-host",
                        "agent_auth.allowed_scopes", "openid")));
        // Keycloak's admin API itself refuses non-http(s) logo and policy URLs; the page filters them again
        Map<String, Object> bad = Http.JSON.convertValue(c, Map.class);
        bad.put("attributes", Map.of("agent_auth.agent", "true", "agent_auth.allowed_hosts", "agent-host",
                "agent_auth.allowed_scopes", "openid", "logoUri", "javascript:alert(1)"));
        assertEquals(400, new Http().putJson(server.baseUrl() + "/admin/realms/agents-demo/clients/" + c.get("id").asText(), admin, bad).status());
        // also through an update, the way an admin edits the description
        Map<String, Object> rep = Http.JSON.convertValue(c, Map.class);
        rep.put("description", "<script>alert('x')</script> & more");
        assertEquals(204, new Http().putJson(server.baseUrl() + "/admin/realms/agents-demo/clients/" + c.get("id").asText(), admin, rep).status());

        Http.Response page = loginToConsent(new Http(), flows.authParams("shady-agent", Pkce.create()), "bob");
        String b = page.body();
        assertFalse(b.contains("<script>alert"), "script tag rendered:\n" + b);
        assertTrue(b.contains("&lt;script&gt;alert("), "escaped description");
        assertTrue(b.contains("Shady &lt;b&gt;Agent&lt;/b&gt;"), "escaped name");
        assertFalse(b.contains("javascript:alert"), "non-http logo not rendered");
        assertFalse(b.contains("id=\"agent-consent-policy\""), "non-http policy link not rendered");
    }
}
