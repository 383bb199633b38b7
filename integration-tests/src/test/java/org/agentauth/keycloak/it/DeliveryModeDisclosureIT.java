package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * DESIGN section 5 (issue 21, finding 9): the pages a user decides on say truthfully what an agent can get from a
 * connected account. Before, the connect page said "never see its tokens" for a {@code proxy_exchange} connector too,
 * whose vault exchange hands the agent upstream access tokens.
 */
@Order(61)
@ExtendWith(KeycloakServerExtension.class)
class DeliveryModeDisclosureIT {

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Vault vault;
    private final Http http = new Http();

    DeliveryModeDisclosureIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.vault = new Vault(server);
    }

    private String connectors() {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/connectors";
    }

    /** A {@code proxy} connector on the demo upstream (nobody connects to it here: its pages are only read). */
    private Map<String, Object> connector(String alias) {
        String upstream = server.realmUrl(Vault.UPSTREAM) + "/protocol/openid-connect";
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("alias", alias);
        c.put("displayName", "IT " + alias);
        c.put("authorizationUrl", upstream + "/auth");
        c.put("tokenUrl", upstream + "/token");
        c.put("clientId", "agent-auth-connector");
        c.put("scopes", List.of("openid"));
        c.put("apiBaseUrl", upstream);
        c.put("deliveryMode", "proxy");
        return c;
    }

    /**
     * Finding 9: the connect page and the agent consent screen say what an agent can get. The demo connector releases
     * short-lived upstream access tokens through the vault exchange ({@code proxy_exchange}); a {@code proxy} connector
     * never does. English and German, screenshots in target/screenshots.
     */
    @Test
    void theConnectPageAndTheConsentScreenSayWhetherAnAgentCanReceiveTokens() {
        String admin = oidc.adminToken();
        String proxyOnly = "it-proxy-only";
        assertEquals(201, http.postJson(connectors(), admin, connector(proxyOnly)).status());
        try {
            Map<String, String[]> expected = Map.of(
                    "en", new String[] {"may receive short-lived access tokens", "never see its tokens"},
                    "de", new String[] {"kurzlebige Zugriffstokens", "sehen seine Tokens nie"});
            for (String lang : List.of("en", "de")) {
                try (Browser browser = new Browser(lang)) {
                    String exchange = connectPageText(browser, Vault.CONNECTOR, "connect-proxy-exchange-" + lang);
                    assertTrue(exchange.contains(expected.get(lang)[0]), lang + ": " + exchange);
                    assertFalse(exchange.contains(expected.get(lang)[1]), lang + ": " + exchange);
                    String proxy = connectPageText(browser, proxyOnly, "connect-proxy-" + lang);
                    assertTrue(proxy.contains(expected.get(lang)[1]), lang + ": " + proxy);
                    assertFalse(proxy.contains(expected.get(lang)[0]), lang + ": " + proxy);
                }
                AgentFlows flows = new AgentFlows(server);
                String url = flows.oidc().authUrl(Oidc.DEMO, flows.authParams("calendar-agent", Oidc.Pkce.create(), "prompt", "consent",
                        "ui_locales", lang).list());
                try (Browser browser = new Browser(lang)) {
                    com.microsoft.playwright.Page p = browser.page();
                    p.navigate(url);
                    p.locator("#username").fill("alice");
                    p.locator("#password").fill("alice");
                    p.locator("#kc-login").click();
                    p.locator("#" + AgentFlows.CONSENT_FORM).waitFor();
                    String connectors = p.locator("#agent-consent-connectors").innerText();
                    System.out.println("[browser] screenshot " + browser.screenshot("consent-tokens-" + lang));
                    assertTrue(connectors.contains(expected.get(lang)[0]), lang + ": " + connectors);
                }
            }
        } finally {
            http.delete(connectors() + "/" + proxyOnly, admin);
        }
    }

    private String connectPageText(Browser browser, String alias, String screenshot) {
        com.microsoft.playwright.Page p = browser.page();
        p.navigate(vault.connectUrl(Oidc.DEMO, alias, null));
        p.locator("#kc-agent-connect-form, #kc-login").first().waitFor();
        if (p.locator("#kc-agent-connect-form").count() == 0) {
            p.locator("#username").fill("alice");
            p.locator("#password").fill("alice");
            p.locator("#kc-login").click();
        }
        p.locator("#kc-agent-connect-form").waitFor();
        System.out.println("[browser] screenshot " + browser.screenshot(screenshot));
        return p.locator("#agent-connect-storage").innerText();
    }
}
