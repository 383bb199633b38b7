package org.agentauth.keycloak.it;

import static org.agentauth.keycloak.it.AgentAdminApiIT.byClientId;
import static org.agentauth.keycloak.it.AgentAdminApiIT.list;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The agent admin page in a real (headless) browser: an admin signs in with PKCE, edits an agent's policy without
 * any JSON, sees validation errors, revokes a grant. Screenshots go to target/screenshots/agent-admin-*.png.
 */
@Order(30)
@ExtendWith(KeycloakServerExtension.class)
class AgentAdminPageIT {

    private final KeycloakServer server;
    private final Oidc oidc;
    private final DemoUsers users;
    private final Http http = new Http();

    AgentAdminPageIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.users = new DemoUsers(server);
    }

    private String agentUrl(String clientId) {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/agents/" + clientId;
    }

    @Test
    void realmAdminEditsAnAgentPolicyAndRevokesAGrant() {
        String admin = oidc.adminToken();
        JsonNode original = http.get(agentUrl("research-agent"), admin).json().path("policy");
        String bobId = users.userId(admin, "bob");
        String grantId = users.adminGrant(admin, bobId, Map.of("agent", "research-agent", "host", "agent-host",
                "scopes", List.of("openid", "profile")));
        try (Browser browser = new Browser()) {
            WebDriver d = browser.driver();
            WebDriverWait wait = browser.waiting(Duration.ofSeconds(30));

            d.get(server.realmUrl(Oidc.DEMO) + "/agent-auth/admin/");
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("kc-form-login")));
            browser.screenshot("agent-admin-1-login");
            d.findElement(By.id("username")).sendKeys("agent-admin");
            d.findElement(By.id("password")).sendKeys("agent-admin");
            d.findElement(By.id("kc-login")).click();

            // the client list, with the agent badge
            WebElement row = wait.until(ExpectedConditions.visibilityOfElementLocated(
                    By.cssSelector("#clients tr[data-client-id='research-agent']")));
            assertEquals(1, row.findElements(By.cssSelector(".badge-agent")).size(), row.getText());
            assertEquals(0, d.findElements(By.cssSelector("#clients tr[data-client-id='plain-service'] .badge-agent")).size());
            assertEquals("agent-admin", d.findElement(By.id("user-name")).getText());
            assertFalse(d.getCurrentUrl().contains("code="), "the authorization code is removed from the address bar");
            browser.screenshot("agent-admin-2-clients");

            // the agent's policy form and its grants
            row.findElement(By.linkText("research-agent")).click();
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("policy-form")));
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#grants-table tr[data-grant-id='" + grantId + "']")));
            WebElement maxDepth = d.findElement(By.id("f-maxDepth"));
            assertEquals("3", maxDepth.getDomProperty("value"));
            assertTrue(d.findElement(By.cssSelector("input[name='allowedHosts'][value='agent-host']")).isSelected());
            assertTrue(d.findElement(By.cssSelector("input[name='allowedScopes'][value='profile']")).isSelected());
            assertEquals("", d.findElement(By.id("f-resourceUris")).getDomProperty("value"), "research-agent is no resource server");
            assertTrue(d.findElement(By.cssSelector("#grants-table tr[data-grant-id='" + grantId + "']")).getText().contains("bob"));
            browser.screenshot("agent-admin-3-agent");

            // an invalid value: the server's message is shown, nothing is saved
            maxDepth.clear();
            maxDepth.sendKeys("11");
            d.findElement(By.id("save")).click();
            WebElement errors = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("form-errors")));
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("form-errors"), "between 1 and 10"));
            assertTrue(d.findElement(By.id("err-limits")).getText().contains("between 1 and 10"));
            assertEquals("true", maxDepth.getDomAttribute("aria-invalid"));
            browser.screenshot("agent-admin-4-invalid");
            assertTrue(errors.isDisplayed());
            assertEquals(3, http.get(agentUrl("research-agent"), admin).json().path("policy").path("maxDepth").asInt());

            // a valid change: deeper chains, and calendar-agent as a downstream agent
            maxDepth.clear();
            maxDepth.sendKeys("5");
            WebElement downstream = d.findElement(By.cssSelector("input[name='downstreamAgents'][value='calendar-agent']"));
            assertFalse(downstream.isSelected());
            d.findElement(By.cssSelector("label[for='" + downstream.getDomAttribute("id") + "']")).click();
            d.findElement(By.id("save")).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("notice"), "Saved the agent policy of research-agent"));
            assertEquals("Saved.", d.findElement(By.id("save-status")).getText(), "confirmed next to the button too");
            assertEquals("", d.findElement(By.id("form-errors")).getText());
            browser.screenshot("agent-admin-5-saved");

            JsonNode saved = http.get(agentUrl("research-agent"), admin).json().path("policy");
            assertEquals(5, saved.path("maxDepth").asInt());
            assertEquals(List.of("calendar-agent"), list(saved.path("downstreamAgents")));
            assertEquals(list(original.path("allowedScopes")), list(saved.path("allowedScopes")), "untouched fields keep their values");
            assertEquals(list(original.path("allowedHosts")), list(saved.path("allowedHosts")));
            assertEquals(original.path("grantLifetime").asLong(), saved.path("grantLifetime").asLong());

            // revoke bob's grant (two steps)
            d.findElement(By.cssSelector("button.revoke[data-grant-id='" + grantId + "']")).click();
            d.findElement(By.cssSelector("#grants-table .confirm-revoke")).click();
            wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("notice"), "Revoked the grant of bob"));
            wait.until(ExpectedConditions.invisibilityOfElementLocated(By.cssSelector("tr[data-grant-id='" + grantId + "']")));
            browser.screenshot("agent-admin-6-revoked");
            assertFalse(http.get(users.grantsUrl(bobId), admin).body().contains(grantId));

            List<String> console = browser.consoleMessages();
            assertTrue(console.stream().noneMatch(m -> m.contains("Content Security Policy") || m.contains("app.js")), console.toString());
        } finally {
            assertEquals(200, http.putJson(agentUrl("research-agent"), admin, original.toString()).status(), "restore the demo policy");
            http.delete(users.grantsUrl(bobId) + "/" + grantId, admin);
        }
    }

    @Test
    void masterAdminManagesAnotherRealmFromTheMasterRealmsPage() {
        try (Browser browser = new Browser()) {
            WebDriver d = browser.driver();
            WebDriverWait wait = browser.waiting(Duration.ofSeconds(30));
            d.get(server.realmUrl("master") + "/agent-auth/admin/?realm=" + Oidc.DEMO);
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("kc-form-login")));
            d.findElement(By.id("username")).sendKeys(KeycloakServer.ADMIN_USER);
            d.findElement(By.id("password")).sendKeys(KeycloakServer.ADMIN_PASSWORD);
            d.findElement(By.id("kc-login")).click();
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#clients tr[data-client-id='calendar-agent']")));
            assertTrue(d.getCurrentUrl().endsWith("/realms/master/agent-auth/admin/?realm=" + Oidc.DEMO), d.getCurrentUrl());
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("realm-select")));
            assertEquals(Oidc.DEMO, new Select(d.findElement(By.id("realm-select"))).getFirstSelectedOption().getText());
            browser.screenshot("agent-admin-7-master-admin");

            // switching to the master realm itself lists its clients (the page client among them, not an agent)
            new Select(d.findElement(By.id("realm-select"))).selectByVisibleText("master");
            wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("#clients tr[data-client-id='security-admin-console']")));
            assertEquals(0, d.findElements(By.cssSelector("#clients tr[data-client-id='agent-auth-admin'] .badge-agent")).size());
        }
        // (the REST side of cross-realm access is in AgentAdminApiIT)
        assertTrue(byClientId(http.get(server.baseUrl() + "/admin/realms/master/agent-auth/agents", oidc.adminToken()).json(),
                "agent-auth-admin").path("enabled").asBoolean());
    }
}
