package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
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
import org.openqa.selenium.By;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

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
            var d = browser.driver();
            WebDriverWait wait = new WebDriverWait(d, Duration.ofSeconds(30));
            d.get(url);
            wait.until(ExpectedConditions.presenceOfElementLocated(By.id("username")));
            d.findElement(By.id("username")).sendKeys("alice");
            d.findElement(By.id("password")).sendKeys("alice");
            d.findElement(By.id("kc-login")).click();
            wait.until(ExpectedConditions.presenceOfElementLocated(By.id(AgentFlows.CONSENT_FORM)));
            assertTrue(d.findElement(By.id("agent-consent-title")).getText().contains("Calendar Agent"));
            Path shot = browser.screenshot("agent-consent-" + lang);
            System.out.println("[browser] screenshot " + shot);
            d.findElement(By.id("kc-agent-allow")).click();
            // the redirect goes to http://localhost/callback (nothing listens there): read the code from the URL
            wait.until(x -> x.getCurrentUrl().startsWith("http://localhost/callback"));
            String code = Oidc.params(d.getCurrentUrl()).get("code");
            assertNotNull(code, d.getCurrentUrl());
            Http.Response t = flows.redeem(code, pkce, "actor_token", flows.agentToken("calendar-agent"));
            assertEquals(200, t.status(), t.body());
            JsonNode act = Oidc.claims(t.json().get("access_token").asText()).get("act");
            assertEquals("calendar-agent", act.get("client_id").asText());
            assertEquals(server.realmUrl(Oidc.DEMO), act.get("iss").asText());
        }
    }
}
