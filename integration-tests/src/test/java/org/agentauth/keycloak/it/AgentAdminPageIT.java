package org.agentauth.keycloak.it;

import static org.agentauth.keycloak.it.AgentAdminApiIT.byClientId;
import static org.agentauth.keycloak.it.AgentAdminApiIT.list;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.SelectOption;
import com.microsoft.playwright.options.WaitForSelectorState;
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
            Page d = browser.page();

            d.navigate(server.realmUrl(Oidc.DEMO) + "/agent-auth/admin/");
            d.locator("#kc-form-login").waitFor();
            browser.screenshot("agent-admin-1-login");
            d.locator("#username").fill("agent-admin");
            d.locator("#password").fill("agent-admin");
            d.locator("#kc-login").click();

            // the client list, with the agent badge
            Locator row = d.locator("#clients tr[data-client-id='research-agent']");
            row.waitFor();
            assertEquals(1, row.locator(".badge-agent").count(), row.innerText());
            assertEquals(0, d.locator("#clients tr[data-client-id='plain-service'] .badge-agent").count());
            assertEquals("agent-admin", d.locator("#user-name").innerText());
            assertFalse(d.url().contains("code="), "the authorization code is removed from the address bar");
            browser.screenshot("agent-admin-2-clients");

            // the agent's policy form and its grants
            row.locator("a:text-is('research-agent')").click();
            d.locator("#policy-form").waitFor();
            Locator grantRow = d.locator("#grants-table tr[data-grant-id='" + grantId + "']");
            grantRow.waitFor();
            Locator maxDepth = d.locator("#f-maxDepth");
            assertEquals("3", maxDepth.inputValue());
            assertTrue(d.locator("input[name='allowedHosts'][value='agent-host']").isChecked());
            assertTrue(d.locator("input[name='allowedScopes'][value='profile']").isChecked());
            assertEquals("", d.locator("#f-resourceUris").inputValue(), "research-agent is no resource server");
            assertTrue(grantRow.innerText().contains("bob"));
            browser.screenshot("agent-admin-3-agent");

            // an invalid value: the server's message is shown, nothing is saved
            maxDepth.fill("11");
            d.locator("#save").click();
            Locator errors = d.locator("#form-errors");
            errors.waitFor();
            assertThat(errors).containsText("between 1 and 10");
            assertTrue(d.locator("#err-limits").innerText().contains("between 1 and 10"));
            assertEquals("true", maxDepth.getAttribute("aria-invalid"));
            browser.screenshot("agent-admin-4-invalid");
            assertTrue(errors.isVisible());
            assertEquals(3, http.get(agentUrl("research-agent"), admin).json().path("policy").path("maxDepth").asInt());

            // a valid change: deeper chains, and calendar-agent as a downstream agent
            maxDepth.fill("5");
            Locator downstream = d.locator("input[name='downstreamAgents'][value='calendar-agent']");
            assertFalse(downstream.isChecked());
            d.locator("label[for='" + downstream.getAttribute("id") + "']").click();
            d.locator("#save").click();
            assertThat(d.locator("#notice")).containsText("Saved the agent policy of research-agent");
            assertEquals("Saved.", d.locator("#save-status").innerText(), "confirmed next to the button too");
            assertEquals("", d.locator("#form-errors").innerText());
            browser.screenshot("agent-admin-5-saved");

            JsonNode saved = http.get(agentUrl("research-agent"), admin).json().path("policy");
            assertEquals(5, saved.path("maxDepth").asInt());
            assertEquals(List.of("calendar-agent"), list(saved.path("downstreamAgents")));
            assertEquals(list(original.path("allowedScopes")), list(saved.path("allowedScopes")), "untouched fields keep their values");
            assertEquals(list(original.path("allowedHosts")), list(saved.path("allowedHosts")));
            assertEquals(original.path("grantLifetime").asLong(), saved.path("grantLifetime").asLong());

            // revoke bob's grant (two steps)
            d.locator("button.revoke[data-grant-id='" + grantId + "']").click();
            d.locator("#grants-table .confirm-revoke").click();
            assertThat(d.locator("#notice")).containsText("Revoked the grant of bob");
            d.locator("tr[data-grant-id='" + grantId + "']").waitFor(new Locator.WaitForOptions().setState(WaitForSelectorState.HIDDEN));
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
            Page d = browser.page();
            d.navigate(server.realmUrl("master") + "/agent-auth/admin/?realm=" + Oidc.DEMO);
            d.locator("#kc-form-login").waitFor();
            d.locator("#username").fill(KeycloakServer.ADMIN_USER);
            d.locator("#password").fill(KeycloakServer.ADMIN_PASSWORD);
            d.locator("#kc-login").click();
            d.locator("#clients tr[data-client-id='calendar-agent']").waitFor();
            assertTrue(d.url().endsWith("/realms/master/agent-auth/admin/?realm=" + Oidc.DEMO), d.url());
            Locator realmSelect = d.locator("#realm-select");
            realmSelect.waitFor();
            assertEquals(Oidc.DEMO, realmSelect.locator("option:checked").innerText());
            browser.screenshot("agent-admin-7-master-admin");

            // switching to the master realm itself lists its clients (the page client among them, not an agent)
            realmSelect.selectOption(new SelectOption().setLabel("master"));
            d.locator("#clients tr[data-client-id='security-admin-console']").waitFor();
            assertEquals(0, d.locator("#clients tr[data-client-id='agent-auth-admin'] .badge-agent").count());
        }
        // (the REST side of cross-realm access is in AgentAdminApiIT)
        assertTrue(byClientId(http.get(server.baseUrl() + "/admin/realms/master/agent-auth/agents", oidc.adminToken()).json(),
                "agent-auth-admin").path("enabled").asBoolean());
    }
}
