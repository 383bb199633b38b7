package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
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
 * The agent consent page is bound to its login (DESIGN section 4.3, issue 12 finding 8): when Keycloak resets the
 * login flow while the page is open (here: a plain login of the same client in the same browser completes first),
 * Allow never yields a plain code; and Allow records exactly what the page showed.
 */
@Order(22)
@ExtendWith(KeycloakServerExtension.class)
class ConsentFlowResetIT {

    static final String AGENT = "reset-agent";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final AgentFlows flows;
    private final Delegations delegations;

    ConsentFlowResetIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.flows = new AgentFlows(server);
        this.delegations = new Delegations(server);
    }

    @BeforeEach
    void agentAndNoGrants() {
        flows.createClient(oidc.adminToken(), Map.of("clientId", AGENT, "name", "Reset Agent", "publicClient", false,
                "serviceAccountsEnabled", true, "standardFlowEnabled", false, "secret", AGENT + "-secret",
                "attributes", Map.of("agent_auth.agent", "true", "agent_auth.allowed_hosts", DemoUsers.HOST,
                        "agent_auth.allowed_scopes", "openid profile")));
        delegations.setAttributes(AGENT, Map.of("agent_auth.allowed_scopes", "openid profile"));
        delegations.revokeAll("alice");
    }

    private Form agentAuth(Pkce pkce, String scope, String state) {
        return Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT, "response_type", "code", "scope", scope,
                "state", state, "code_challenge", pkce.challenge(), "code_challenge_method", "S256", "requested_actor", AGENT,
                "prompt", "consent");
    }

    /**
     * Follows the server's own redirects in {@code browser} (Keycloak answers a POST that shows a page again with a
     * redirect to it); stops at a page or a redirect to the client.
     */
    private Http.Response follow(Http browser, Http.Response r) {
        for (int i = 0; i < 6 && r.status() == 302 && r.location() != null && r.location().startsWith(server.baseUrl()); i++) {
            r = browser.get(r.location());
        }
        return r;
    }

    private List<String> grantScopes(String agent) {
        String admin = oidc.adminToken();
        DemoUsers users = new DemoUsers(server);
        for (JsonNode g : new Http().get(users.grantsUrl(users.userId(admin, "alice")), admin).json()) {
            if (agent.equals(g.path("agent").asText()) && DemoUsers.HOST.equals(g.path("host").asText())) {
                return Http.JSON.convertValue(g.path("scopes"), List.class);
            }
        }
        return null;
    }

    /**
     * Opens the agent consent page, completes a plain login of the same client in the same browser (Keycloak resets the
     * first login's flow: its authentication session counts as timed out), then answers Allow on the first page.
     * Returns the first response after Allow that is a page or a redirect to the client.
     */
    private Http.Response allowAfterAPlainLoginInBetween(Http browser, Pkce pkce) {
        Http.Response page = flows.open(browser, oidc.authUrl(Oidc.DEMO, agentAuth(pkce, "openid profile", "st-agent").list()), "alice");
        assertTrue(AgentFlows.isConsentPage(page), page.toString());

        Pkce plainPkce = Pkce.create();
        Http.Response plain = flows.open(browser, oidc.authUrl(Oidc.DEMO, flows.authParams(null, plainPkce).list()), "alice");
        assertEquals(302, plain.status(), plain.toString());
        Map<String, String> pp = Oidc.params(plain.location());
        assertEquals("st-1", pp.get("state"), plain.location());
        Http.Response plainToken = flows.redeem(pp.get("code"), plainPkce);
        assertEquals(200, plainToken.status(), plainToken.body());
        assertNull(Oidc.claims(plainToken.json().get("access_token").asText()).get("act"), "the plain login stays plain");

        return follow(browser, flows.decide(browser, page, "allow"));
    }

    @Test
    void allowAfterAFlowResetShowsTheConsentPageAgainAndTheCodeStaysBound() {
        // the attack: Allow after the reset came back with a plain code that redeemed without actor_token
        Http browser = new Http();
        Pkce pkce = Pkce.create();
        Http.Response afterAllow = allowAfterAPlainLoginInBetween(browser, pkce);
        assertTrue(AgentFlows.isConsentPage(afterAllow), "the reset login asks again, no code: " + afterAllow);
        assertTrue(afterAllow.body().contains("Reset Agent"), "for the same agent");
        assertNull(grantScopes(AGENT), "nothing recorded by the Allow that the reset swallowed");

        Http.Response back = flows.decide(browser, afterAllow, "allow");
        assertEquals(302, back.status(), back.toString());
        Map<String, String> p = Oidc.params(back.location());
        assertEquals("st-agent", p.get("state"), back.location());
        assertNotNull(p.get("code"), back.location());
        assertEquals(List.of("openid", "profile"), grantScopes(AGENT), "the grant is recorded");
        // bound to the agent: without actor_token the code is refused (and used up)
        RequestedActorIT.assertGrantError(flows.redeem(p.get("code"), pkce), "invalid_grant");

        // the same once more, redeemed by the agent: the token carries act
        Http other = new Http();
        Pkce p2 = Pkce.create();
        Http.Response again = allowAfterAPlainLoginInBetween(other, p2);
        assertTrue(AgentFlows.isConsentPage(again), again.toString());
        Http.Response back2 = flows.decide(other, again, "allow");
        Http.Response t = flows.redeem(Oidc.params(back2.location()).get("code"), p2, "actor_token", flows.agentToken(AGENT));
        assertEquals(200, t.status(), t.body());
        assertEquals(AGENT, Oidc.claims(t.json().get("access_token").asText()).path("act").path("client_id").asText());
    }

    @Test
    void allowRecordsOnlyWhatThePageShowed() {
        String scope = "openid profile email";
        // a page shown for another agent than the login asks for: the login ends with access_denied
        Http b1 = new Http();
        Http.Response page1 = flows.open(b1, oidc.authUrl(Oidc.DEMO, agentAuth(Pkce.create(), scope, "st-agent").list()), "alice");
        assertTrue(AgentFlows.isConsentPage(page1), page1.toString());
        List<Map.Entry<String, String>> forged = new ArrayList<>();
        AgentFlows.hiddenFields(page1.body(), AgentFlows.CONSENT_FORM).forEach(e ->
                forged.add(e.getKey().equals("agent") ? Map.entry("agent", "calendar-agent") : e));
        assertTrue(forged.stream().anyMatch(e -> e.getKey().equals("agent")), "the form names its agent: " + forged);
        forged.add(Map.entry("decision", "allow"));
        Http.Response denied = b1.postForm(Oidc.formAction(page1.body(), AgentFlows.CONSENT_FORM), forged);
        assertEquals(302, denied.status(), denied.toString());
        assertEquals("access_denied", Oidc.params(denied.location()).get("error"), denied.location());
        assertFalse(Oidc.params(denied.location()).containsKey("code"));
        assertNull(grantScopes(AGENT));

        // Allow without saying what the page showed: the page again, nothing recorded
        Http b2 = new Http();
        Http.Response page2 = flows.open(b2, oidc.authUrl(Oidc.DEMO, agentAuth(Pkce.create(), scope, "st-agent").list()), "alice");
        Http.Response bare = follow(b2, b2.postForm(Oidc.formAction(page2.body(), AgentFlows.CONSENT_FORM), List.of(Map.entry("decision", "allow"))));
        assertTrue(AgentFlows.isConsentPage(bare), bare.toString());
        assertNull(grantScopes(AGENT));

        // the agent's ceiling grows while the page is open: Allow on the old page shows the new request first
        Http b3 = new Http();
        Pkce p3 = Pkce.create();
        Http.Response page3 = flows.open(b3, oidc.authUrl(Oidc.DEMO, agentAuth(p3, scope, "st-agent").list()), "alice");
        assertTrue(page3.body().contains("data-scope=\"profile\"") && !page3.body().contains("data-scope=\"email\""), "email is outside the ceiling");
        delegations.setAttributes(AGENT, Map.of("agent_auth.allowed_scopes", "openid profile email"));
        Http.Response shownAgain = follow(b3, flows.decide(b3, page3, "allow"));
        assertTrue(AgentFlows.isConsentPage(shownAgain), shownAgain.toString());
        assertTrue(shownAgain.body().contains("data-scope=\"email\""), "the page now lists email");
        assertTrue(shownAgain.body().contains("The request changed while this page was open"), "and says why it is shown again");
        assertNull(grantScopes(AGENT), "the Allow on the old page recorded nothing");
        Http.Response back = flows.decide(b3, shownAgain, "allow");
        assertEquals(302, back.status(), back.toString());
        assertNotNull(Oidc.params(back.location()).get("code"), back.location());
        assertEquals(List.of("openid", "profile", "email"), grantScopes(AGENT));
    }
}
