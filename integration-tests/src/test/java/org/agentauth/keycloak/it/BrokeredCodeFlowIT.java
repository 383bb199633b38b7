package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.microsoft.playwright.Page;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A connector's resource URI in the {@code requested_actor} code flow (issue 14): the host asks for
 * {@code resource={issuer}/agent-auth/connectors/demo-calendar} with {@code requested_actor=calendar-agent}; the consent
 * screen lists the user's accounts there and records the one picked; the code, redeemed with the agent's
 * {@code actor_token}, gives a token for the proxy only, which reaches exactly the picked account, also after a refresh.
 * Every way around it is refused: no agent, an agent without the connector, an unknown connector, a grant without
 * the connector (the consent screen asks again), the connector taken out of the grant (the refresh is refused).
 */
@Order(39)
@ExtendWith(KeycloakServerExtension.class)
class BrokeredCodeFlowIT {

    /** A user of its own, so that other tests' grants and connections of alice and bob play no part. */
    private static final String USER = "frida";

    private final KeycloakServer server;
    private final Vault vault;
    private final DemoUsers users;
    private final AgentFlows flows;
    private final String issuer;
    private final String connectorUri;

    BrokeredCodeFlowIT(KeycloakServer server) {
        this.server = server;
        this.vault = new Vault(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
        this.issuer = server.realmUrl(Oidc.DEMO);
        this.connectorUri = issuer + "/agent-auth/connectors/" + Vault.CONNECTOR;
    }

    private String ensureUser(String name) {
        String admin = vault.oidc().adminToken();
        Http.Response r = new Http().postJson(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/users", admin,
                Map.of("username", name, "enabled", true, "email", name + "@example.com", "emailVerified", true,
                        "firstName", "Frida", "lastName", "Test",
                        "credentials", List.of(Map.of("type", "password", "value", name, "temporary", false))));
        assertTrue(r.status() == 201 || r.status() == 409, r.toString());
        return users.userId(admin, name);
    }

    /** The user's grant to calendar-agent through agent-host, as the admin API shows it. */
    private JsonNode grant(String userId) {
        Http.Response r = new Http().get(users.grantsUrl(userId), vault.oidc().adminToken());
        assertEquals(200, r.status(), r.body());
        for (JsonNode g : r.json()) {
            if ("calendar-agent".equals(g.get("agent").asText()) && DemoUsers.HOST.equals(g.get("host").asText())) {
                return g;
            }
        }
        return null;
    }

    private Http.Response authorize(String... params) {
        return new Http().get(flows.oidc().authUrl(Oidc.DEMO, Form.of(params).list()));
    }

    private void assertRefusedBeforeLogin(Http.Response r, String error, String why) {
        assertEquals(302, r.status(), why + ": " + r);
        assertTrue(r.location().startsWith(DemoUsers.REDIRECT), why + ": " + r.location());
        Map<String, String> p = Oidc.params(r.location());
        assertEquals(error, p.get("error"), why + ": " + r.location());
        assertNotNull(p.get("error_description"), why);
        assertFalse(p.containsKey("code"), why);
    }

    @Test
    void theCodeFlowGivesATokenForTheProxyThatReachesThePickedAccountAlsoAfterARefresh() {
        String userId = ensureUser(USER);
        String work;
        String personal;
        try (Browser b = new Browser()) {
            work = Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), USER, "alice-work", null));
        }
        try (Browser b = new Browser()) {
            personal = Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), USER, "alice-personal", null));
        }

        // the consent screen lists both accounts and the user picks the older one (the default would be the newer)
        Pkce pkce = Pkce.create();
        Http browser = new Http();
        Http.Response page = flows.open(browser, flows.oidc().authUrl(Oidc.DEMO,
                flows.authParams("calendar-agent", pkce, "resource", connectorUri, "prompt", "consent").list()), USER);
        assertTrue(AgentFlows.isConsentPage(page), page.toString());
        assertTrue(page.body().contains("name=\"connection." + Vault.CONNECTOR + "\""), "an account choice for the connector");
        assertTrue(page.body().contains("value=\"" + work + "\"") && page.body().contains("value=\"" + personal + "\""), "both accounts offered");
        assertTrue(page.body().contains("id=\"agent-consent-resource\""), "the page names the connector the token is for");

        // a forged choice (someone else's or unknown connection) records nothing: the page again
        Http.Response forged = flows.decide(browser, page, "allow", "connection." + Vault.CONNECTOR, "not-a-connection-of-frida");
        assertTrue(AgentFlows.isConsentPage(forged), "a forged account choice shows the page again: " + forged);

        Http.Response allowed = flows.decide(browser, forged, "allow", "connection." + Vault.CONNECTOR, work);
        assertEquals(302, allowed.status(), allowed.toString());
        String code = Oidc.params(allowed.location()).get("code");
        assertNotNull(code, allowed.location());
        JsonNode g = grant(userId);
        assertNotNull(g, "the consent recorded a grant");
        assertEquals(work, g.get("connections").get(Vault.CONNECTOR).asText(), g.toString());
        assertTrue(g.get("connectors").toString().contains(Vault.CONNECTOR), g.toString());

        Http.Response t = flows.redeem(code, pkce, "actor_token", flows.agentToken("calendar-agent"));
        assertEquals(200, t.status(), t.body());
        String at = t.json().get("access_token").asText();
        JsonNode claims = Oidc.claims(at);
        assertEquals(List.of(connectorUri), List.copyOf(Oidc.audience(claims)), "a token for the connector's proxy only: " + claims);
        assertEquals("calendar-agent", claims.get("act").get("client_id").asText());
        assertNotNull(t.json().get("refresh_token"), "calendar-agent's policy allows refresh");

        String proxy = connectorUri + "/proxy/userinfo";
        Http.Response picked = new Http().get(proxy, at);
        assertEquals(200, picked.status(), picked.body());
        assertEquals("alice-work", picked.json().get("preferred_username").asText(), "the account picked on the consent screen");
        assertEquals(work, picked.header("X-Connection-Id"));
        // the grant names one account: another one of the user's is not within it (never a silent switch)
        Http.Response other = new Http().get(proxy + "?connection_id=" + personal, at);
        assertEquals(404, other.status(), other.body());
        assertEquals("connection_not_found", other.json().get("error").asText());

        // refresh: the same connector-only audience, the grant checked again
        Http.Response refreshed = flows.refresh(t.json().get("refresh_token").asText());
        assertEquals(200, refreshed.status(), refreshed.body());
        String at2 = refreshed.json().get("access_token").asText();
        assertEquals(List.of(connectorUri), List.copyOf(Oidc.audience(Oidc.claims(at2))));
        Http.Response again = new Http().get(proxy, at2);
        assertEquals(200, again.status(), again.body());
        assertEquals("alice-work", again.json().get("preferred_username").asText());

        // contained like every delegated token: Keycloak's Account REST API refuses it
        int account = new Http().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(issuer + "/account/"))
                .header("Authorization", "Bearer " + at2).header("Accept", "application/json").GET()).status();
        assertTrue(account == 401 || account == 403, "Keycloak's Account REST API: " + account);

        // the connector taken out of the grant: the next refresh is refused, and so is the proxy
        users.adminGrant(vault.oidc().adminToken(), userId, Map.of("agent", "calendar-agent", "host", DemoUsers.HOST, "connectors", List.of()));
        Http.Response noConnector = flows.refresh(refreshed.json().get("refresh_token").asText());
        assertEquals(400, noConnector.status(), noConnector.body());
        assertEquals("invalid_target", noConnector.json().get("error").asText(), noConnector.body());
        assertTrue(noConnector.json().get("error_description").asText().contains("not in the user's delegation grant"), noConnector.body());
        assertEquals(403, new Http().get(proxy, at2).status());

        // a grant without the connector is not reused for a login that asks for it: the consent screen again
        Pkce pkce2 = Pkce.create();
        Http.Response askedAgain = flows.open(new Http(), flows.oidc().authUrl(Oidc.DEMO,
                flows.authParams("calendar-agent", pkce2, "resource", connectorUri).list()), USER);
        assertTrue(AgentFlows.isConsentPage(askedAgain), "consent again: " + askedAgain);
        // ... while a login without the connector's resource reuses it (no page)
        Pkce pkce3 = Pkce.create();
        Http.Response reused = flows.open(new Http(), flows.oidc().authUrl(Oidc.DEMO, flows.authParams("calendar-agent", pkce3).list()), USER);
        assertEquals(302, reused.status(), reused.toString());
        assertNotNull(Oidc.params(reused.location()).get("code"), reused.location());
    }

    @Test
    void aConnectorResourceNeedsAnAgentThatIsAllowedItAndAnExistingConnector() {
        Pkce pkce = Pkce.create();
        // no requested_actor: a plain token (or a may_act one) never reaches a connected account
        assertRefusedBeforeLogin(authorize("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT, "response_type", "code",
                "scope", "openid", "state", "st-1", "code_challenge", pkce.challenge(), "code_challenge_method", "S256",
                "resource", connectorUri), "invalid_target", "no agent");
        // an agent whose policy does not name the connector
        assertRefusedBeforeLogin(new Http().get(flows.oidc().authUrl(Oidc.DEMO,
                flows.authParams("research-agent", pkce, "resource", connectorUri).list())), "invalid_target", "agent without the connector");
        // an unknown connector
        assertRefusedBeforeLogin(new Http().get(flows.oidc().authUrl(Oidc.DEMO,
                flows.authParams("calendar-agent", pkce, "resource", issuer + "/agent-auth/connectors/no-such-connector").list())),
                "invalid_target", "unknown connector");
        // another realm's connector URI is no connector of this realm: an unknown resource
        assertRefusedBeforeLogin(new Http().get(flows.oidc().authUrl(Oidc.DEMO,
                flows.authParams("calendar-agent", pkce, "resource", server.realmUrl(Vault.UPSTREAM) + "/agent-auth/connectors/" + Vault.CONNECTOR).list())),
                "invalid_target", "another realm's connector URI");

        // at the token endpoint: a plain code (no agent) cannot be turned into a connector token either
        ensureUser(USER);
        Pkce plain = Pkce.create();
        String code = flows.codeFor(new Http(), flows.authParams(null, plain), USER);
        Http.Response t = flows.redeem(code, plain, "resource", connectorUri);
        assertEquals(400, t.status(), t.body());
        assertEquals("invalid_target", t.json().get("error").asText(), t.body());
        assertNull(t.json().get("access_token"));
    }

    /**
     * The consent screen in Chromium (screenshots looked at): a user with a linked account picks it in the list and
     * Allow records it; a user without one gets the connect link instead.
     */
    @Test
    void theConsentScreenOffersTheAccountsAndAConnectLinkWhereNoneIsLinked() {
        String hanaId = ensureUser("hana");
        ensureUser("gina");
        String hanaWork;
        try (Browser b = new Browser()) {
            hanaWork = Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), "hana", "alice-work", null));
        }
        for (String who : List.of("hana", "gina")) {
            Pkce pkce = Pkce.create();
            String url = flows.oidc().authUrl(Oidc.DEMO, flows.authParams("calendar-agent", pkce, "resource", connectorUri,
                    "prompt", "consent").list());
            try (Browser browser = new Browser()) {
                Page d = browser.page();
                d.navigate(url);
                d.locator("#username").fill(who);
                d.locator("#password").fill(who);
                d.locator("#kc-login").click();
                d.locator("#" + AgentFlows.CONSENT_FORM).waitFor();
                // "you can revoke it in your account" leads to the self-service page
                assertEquals(issuer + "/agent-auth/account/", d.locator("#agent-consent-account").getAttribute("href"));
                if (who.equals("hana")) {
                    assertEquals(2, d.locator("#agent-connection-" + Vault.CONNECTOR + " option").count(), "any, or hana's one account");
                    d.locator("#agent-connection-" + Vault.CONNECTOR).selectOption(hanaWork);
                    System.out.println("[browser] screenshot " + browser.screenshot("agent-consent-connector-account"));
                    String callback = d.waitForRequest(r -> r.url().startsWith(DemoUsers.REDIRECT),
                            () -> d.locator("#kc-agent-allow").click()).url();
                    assertNotNull(Oidc.params(callback).get("code"), callback);
                    assertEquals(hanaWork, grant(hanaId).get("connections").get(Vault.CONNECTOR).asText());
                } else {
                    System.out.println("[browser] screenshot " + browser.screenshot("agent-consent-connector-none"));
                    assertEquals(0, d.locator("#agent-connection-" + Vault.CONNECTOR).count(), "gina has no account to pick");
                    String connect = d.locator(".agent-consent-connect").getAttribute("href");
                    assertEquals(connectorUri + "/connect?client_id=calendar-agent", connect);
                }
            }
        }
    }
}
