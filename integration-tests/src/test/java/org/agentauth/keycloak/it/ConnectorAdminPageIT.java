package org.agentauth.keycloak.it;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.WaitForSelectorState;
import java.util.List;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Connectors section of the admin page in a real (headless) browser: the demo realm's admin creates a connector
 * from the GitHub preset, sees it listed, edits it (a field error shown next to its field, the stored secret kept),
 * tests the demo connector's configuration and deletes the new one. Screenshots: target/screenshots/connectors-*.png.
 */
@Order(31)
@ExtendWith(KeycloakServerExtension.class)
class ConnectorAdminPageIT {

    private static final String ALIAS = "it-github";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Http http = new Http();

    ConnectorAdminPageIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
    }

    private String connectorUrl(String alias) {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/connectors/" + alias;
    }

    @Test
    void realmAdminCreatesAConnectorFromAPresetEditsTestsAndDeletesIt() {
        String secret = "it-github-secret-" + System.nanoTime();
        try (Browser browser = new Browser()) {
            Page d = browser.page();
            d.navigate(server.realmUrl(Oidc.DEMO) + "/agent-auth/admin/");
            d.locator("#kc-form-login").waitFor();
            d.locator("#username").fill("agent-admin");
            d.locator("#password").fill("agent-admin");
            d.locator("#kc-login").click();
            d.locator("#clients").waitFor();

            // the Connectors tab lists the demo connector
            d.locator("#tab-connectors").click();
            Locator demo = d.locator("#connectors tr[data-alias='demo-calendar']");
            demo.waitFor();
            assertEquals("page", d.locator("#tab-connectors").getAttribute("aria-current"));
            assertTrue(demo.innerText().contains("Demo Calendar"), demo.innerText());
            assertTrue(demo.locator("td.hosts").innerText().startsWith("localhost:"), demo.innerText());

            // new connector from the GitHub preset: the preset fills the endpoints, the admin adds the client
            d.locator("#new-connector").click();
            d.locator("#connector-form").waitFor();
            d.locator("#c-preset").selectOption("github");
            assertEquals("https://github.com/login/oauth/access_token", d.locator("#c-tokenUrl").inputValue());
            assertEquals("https://api.github.com", d.locator("#c-apiBaseUrl").inputValue());
            assertEquals("read:user", d.locator("#c-scopes").inputValue());
            assertEquals("client_secret_post", d.locator("#c-clientAuthMethod").inputValue());
            assertEquals("github", d.locator("#c-alias").inputValue(), "the preset suggests an alias");
            assertFalse(d.locator("#discovery").isVisible(), "no issuer field for a preset with fixed endpoints");
            d.locator("#c-alias").fill(ALIAS);
            d.locator("#c-clientId").fill("it-github-client");
            d.locator("#c-clientSecret").fill(secret);
            assertEquals("password", d.locator("#c-clientSecret").getAttribute("type"));
            browser.screenshot("connectors-new-github");
            d.locator("#save-connector").click();

            Locator row = d.locator("#connectors tr[data-alias='" + ALIAS + "']");
            row.waitFor();
            assertThat(d.locator("#notice")).containsText("Created connector " + ALIAS);
            assertTrue(row.innerText().contains("GitHub"), row.innerText());
            assertEquals("github.com, api.github.com", row.locator("td.hosts").innerText());
            assertTrue(row.innerText().contains("Proxy only"), row.innerText());
            browser.screenshot("connectors-created");

            JsonNode saved = http.get(connectorUrl(ALIAS), oidc.adminToken()).json();
            assertEquals("github", saved.path("preset").asText());
            assertEquals("it-github-client", saved.path("clientId").asText());
            assertEquals("client_secret_post", saved.path("clientAuthMethod").asText());
            assertEquals(List.of("read:user"), AgentAdminApiIT.list(saved.path("scopes")));
            assertTrue(saved.path("clientSecretSet").asBoolean());
            assertFalse(saved.toString().contains(secret));

            // edit: the secret field is empty with "(set)"; a refused URL is shown next to its field; nothing saved
            row.locator("a.connector-link").click();
            d.locator("#connector-form").waitFor();
            Locator secretField = d.locator("#c-clientSecret");
            assertEquals("", secretField.inputValue(), "the secret is never sent to the page");
            assertEquals("(set)", secretField.getAttribute("placeholder"));
            assertTrue(d.locator("#c-alias").isDisabled(), "the alias cannot change");
            d.locator("#c-displayName").fill("GitHub (integration test)");
            d.locator("#c-tokenUrl").fill("http://example.com/token");
            d.locator("#save-connector").click();
            assertThat(d.locator("#err-c-tokenUrl")).containsText("https");
            assertEquals("true", d.locator("#c-tokenUrl").getAttribute("aria-invalid"));
            assertThat(d.locator("#connector-errors")).containsText("not saved");
            browser.screenshot("connectors-invalid");
            assertEquals("GitHub", http.get(connectorUrl(ALIAS), oidc.adminToken()).json().path("displayName").asText());

            // another origin for the token URL with the secret field left empty: the secret is asked for again, next to its
            // field (the stored one never goes to a new origin); nothing saved
            d.locator("#c-tokenUrl").fill("https://api.github.com/login/oauth/access_token");
            d.locator("#save-connector").click();
            assertThat(d.locator("#err-c-clientSecret")).containsText("clientSecret is required again: tokenUrl moves to another origin");
            assertEquals("true", d.locator("#c-clientSecret").getAttribute("aria-invalid"));
            browser.screenshot("connectors-secret-required");
            assertEquals("https://github.com/login/oauth/access_token", http.get(connectorUrl(ALIAS), oidc.adminToken()).json()
                    .path("tokenUrl").asText());

            d.locator("#c-tokenUrl").fill("https://github.com/login/oauth/access_token");
            d.locator("#save-connector").click();
            row.waitFor();
            assertThat(d.locator("#notice")).containsText("Saved connector " + ALIAS);
            assertTrue(row.innerText().contains("GitHub (integration test)"), row.innerText());
            JsonNode edited = http.get(connectorUrl(ALIAS), oidc.adminToken()).json();
            assertEquals("GitHub (integration test)", edited.path("displayName").asText());
            assertTrue(edited.path("clientSecretSet").asBoolean(), "an empty secret field keeps the stored secret");

            // the demo connector's configuration test, in the list
            demo.locator("button.test-connector").click();
            assertThat(d.locator("#test-summary")).containsText("Every check passed");
            assertTrue(d.locator("#test-checks tr[data-check='clientCredentials']").innerText().contains("invalid_grant"));
            browser.screenshot("connectors-test");

            // delete (two steps)
            row.locator("button.delete-connector").click();
            row.locator("button.confirm-delete-connector").click();
            assertThat(d.locator("#notice")).containsText("Deleted connector " + ALIAS);
            d.locator("#connectors tr[data-alias='" + ALIAS + "']").waitFor(new Locator.WaitForOptions().setState(WaitForSelectorState.DETACHED));
            assertEquals(404, http.get(connectorUrl(ALIAS), oidc.adminToken()).status());

            List<String> console = browser.consoleMessages();
            assertTrue(console.stream().noneMatch(m -> m.contains("Content Security Policy") || m.contains("app.js")), console.toString());
        } finally {
            http.delete(connectorUrl(ALIAS), oidc.adminToken());
        }
    }
}
