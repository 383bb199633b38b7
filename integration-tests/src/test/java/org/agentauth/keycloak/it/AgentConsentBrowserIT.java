package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.microsoft.playwright.Page;
import java.nio.file.Path;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;

/** The agent consent page in a real (headless) browser: login, consent, Allow, code, token with act. */
@Order(22)
@ExtendWith(KeycloakServerExtension.class)
class AgentConsentBrowserIT {

    private final KeycloakServer server;
    private final AgentFlows flows;

    AgentConsentBrowserIT(KeycloakServer server) {
        this.server = server;
        this.flows = new AgentFlows(server);
    }

    @ParameterizedTest
    @ValueSource(strings = {"en", "de"})
    void loginConsentAllowCodeTokenWithAct(String lang) {
        Pkce pkce = Pkce.create();
        String url = flows.oidc().authUrl(Oidc.DEMO, flows.authParams("calendar-agent", pkce, "prompt", "consent",
                "ui_locales", lang).list());
        try (Browser browser = new Browser(lang)) {
            Page d = browser.page();
            d.navigate(url);
            d.locator("#username").waitFor();
            d.locator("#username").fill("alice");
            d.locator("#password").fill("alice");
            d.locator("#kc-login").click();
            d.locator("#" + AgentFlows.CONSENT_FORM).waitFor();
            assertTrue(d.locator("#agent-consent-title").innerText().contains("Calendar Agent"));
            Path shot = browser.screenshot("agent-consent-" + lang);
            System.out.println("[browser] screenshot " + shot);
            // the redirect goes to http://localhost/callback (nothing listens there, so the page itself becomes Chromium's
            // error page): read the code from the URL the browser was sent to
            String callback = d.waitForRequest(r -> r.url().startsWith("http://localhost/callback"),
                    () -> d.locator("#kc-agent-allow").click()).url();
            String code = Oidc.params(callback).get("code");
            assertNotNull(code, callback);
            Http.Response t = flows.redeem(code, pkce, "actor_token", flows.agentToken("calendar-agent"));
            assertEquals(200, t.status(), t.body());
            JsonNode act = Oidc.claims(t.json().get("access_token").asText()).get("act");
            assertEquals("calendar-agent", act.get("client_id").asText());
            assertEquals(server.realmUrl(Oidc.DEMO), act.get("iss").asText());
        }
    }
}
