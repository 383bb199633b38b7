package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.microsoft.playwright.APIRequestContext;
import com.microsoft.playwright.APIResponse;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.FormData;
import com.microsoft.playwright.options.RequestOptions;
import com.microsoft.playwright.options.SelectOption;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.FormatStyle;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The self-service page {@code /realms/{realm}/agent-auth/account/} in a real (headless) browser (issue 14): alice signs
 * in, sees her grant (made through the real consent and exchange) and connects an account from the page itself, reads
 * it in German and English, revokes both by clicking (the account REST API and the events agree); forged, foreign and
 * other users' revocations change nothing; the account console links to the page. Screenshots:
 * target/screenshots/self-service-*.png.
 */
@Order(33)
@ExtendWith(KeycloakServerExtension.class)
class SelfServicePageIT {

    private final KeycloakServer server;
    private final AgentFlows flows;
    private final DemoUsers users;
    private final Delegations delegations;
    private final String pageUrl;

    SelfServicePageIT(KeycloakServer server) {
        this.server = server;
        this.flows = new AgentFlows(server);
        this.users = new DemoUsers(server);
        this.delegations = new Delegations(server);
        this.pageUrl = server.realmUrl(Oidc.DEMO) + "/agent-auth/account/";
    }

    @Test
    void aliceSeesHerGrantConnectsAnAccountReadsGermanAndRevokesBoth() {
        // a grant through the real flow: login, agent consent, code, exchange (so it has been used)
        flows.delegatedTokens("alice", "calendar-agent");
        String alice = users.accessToken("alice");
        JsonNode grant = grantOf(alice, "calendar-agent", DemoUsers.HOST);
        String grantId = grant.get("id").asText();
        assertTrue(grant.hasNonNull("lastUsedAt"), grant.toString());
        assertTrue(grant.hasNonNull("expiresAt"), grant.toString());

        String connectionId;
        try (Browser browser = new Browser()) {
            try {
                Page p = browser.page();
                // no session yet: the page signs alice in and comes back to its own clean URL
                p.navigate(pageUrl);
                p.locator("#kc-login").waitFor();
                login(p, "alice");
                p.locator("#agent-account").waitFor();
                assertEquals(pageUrl, p.url(), "the sign-in's code and state are gone from the address bar");
                assertEquals("Agents and connected accounts", p.locator("#agent-account-title").innerText());
                assertTrue(p.locator("#agent-account-intro").innerText().contains("alice"));

                // the grant, with what the user recognises
                Locator g = p.locator("li.agent-account-grant[data-grant-id='" + grantId + "']");
                assertEquals("Calendar Agent", g.locator(".agent-account-agent").innerText());
                assertEquals("calendar-agent", g.getAttribute("data-agent"));
                assertEquals("Agent Host", g.locator(".agent-account-host").innerText());
                assertEquals(join(grant.get("scopes")), g.locator(".agent-account-scopes").getAttribute("data-scopes"));
                assertTrue(g.locator(".agent-account-scopes").innerText().contains("Confirm that it is you"), g.innerText());
                assertEquals(grant.get("connectors").size() == 0 ? "None" : "Demo Calendar", g.locator(".agent-account-connectors").innerText());
                assertEquals(time(grant.get("expiresAt").asLong(), Locale.ENGLISH), g.locator(".agent-account-expires").innerText());
                assertEquals(time(grant.get("lastUsedAt").asLong(), Locale.ENGLISH), g.locator(".agent-account-last-used").innerText());

                // every connector is listed, with a connect link that comes back here
                Locator section = p.locator("section.agent-account-connector[data-connector='" + Vault.CONNECTOR + "']");
                assertEquals("Demo Calendar", section.locator(".agent-account-connector-name").innerText());
                Locator connect = section.locator("a.agent-account-connect");
                String href = connect.getAttribute("href");
                assertTrue(href.contains("/agent-auth/connectors/" + Vault.CONNECTOR + "/connect?client_id=agent-auth-account&return_to="
                        + Http.urlEncode(pageUrl).replace("+", "%20")), href);
                int before = p.locator("li.agent-account-connection").count();
                browser.screenshot("self-service-en-before");

                // connect an account from the page: the connect page (the user asks, no app), the upstream, back here
                connect.click();
                p.locator("#kc-agent-connect-form").waitFor();
                assertTrue(p.locator("#agent-connect-request").innerText().contains("Signed in as alice"), p.locator("#agent-connect-request").innerText());
                p.locator("#kc-agent-connect-allow").click();
                p.waitForURL(u -> u.startsWith(pageUrl) || u.contains("/realms/" + Vault.UPSTREAM + "/"));
                if (!p.url().startsWith(pageUrl)) {
                    Vault.upstreamLogin(p, "alice-work");
                    p.waitForURL(u -> u.startsWith(pageUrl));
                }
                p.locator("#agent-account").waitFor();
                connectionId = Oidc.params(p.url()).get("connection_id");
                assertNotNull(connectionId, p.url());
                assertTrue(p.locator(".agent-account-notice").innerText().contains("Your account alice-work at Demo Calendar is connected"),
                        p.locator("#agent-account").innerText());
                Locator c = p.locator("li.agent-account-connection[data-connection-id='" + connectionId + "']");
                assertEquals("alice-work", c.locator(".agent-account-account").innerText());
                assertEquals("Active", c.locator(".agent-account-status").innerText());
                assertEquals("ACTIVE", c.getAttribute("data-status"));
                assertEquals(before + 1, p.locator("li.agent-account-connection").count());
                assertEquals("Connect another account", section.locator("a.agent-account-connect").innerText());
                JsonNode listed = connectionOf(alice, connectionId);
                assertEquals(time(listed.get("createdAt").asLong(), Locale.ENGLISH), c.locator(".agent-account-created").innerText());
                browser.screenshot("self-service-en");

                // German, asked for by the app (ui_locales)
                p.navigate(pageUrl + "?ui_locales=de");
                assertEquals("Agenten und verbundene Konten", p.locator("#agent-account-title").innerText());
                assertEquals("Agenten, die f\u00fcr mich handeln", p.locator("#agent-account-agents-title").innerText());
                assertEquals("Aktiv", c.locator(".agent-account-status").innerText());
                assertEquals(time(grant.get("expiresAt").asLong(), Locale.GERMAN), g.locator(".agent-account-expires").innerText());
                assertEquals("Widerrufen", g.locator("button.agent-account-revoke-grant").innerText());
                assertEquals("de", p.locator("html").getAttribute("lang"));
                browser.screenshot("self-service-de");

                // revoke the connection by clicking (the German page stays German)
                c.locator("button.agent-account-revoke-connection").click();
                p.locator(".agent-account-notice").waitFor();
                assertTrue(p.locator(".agent-account-notice").innerText().contains("getrennt"), p.locator(".agent-account-notice").innerText());
                assertTrue(p.url().contains("ui_locales=de"), p.url());
                assertEquals(0, c.count());
                browser.screenshot("self-service-de-disconnected");

                // back to English through the page's language menu (kc_locale, as on Keycloak's own pages)
                String english = null;
                for (Locator option : p.locator("#login-select-toggle option").all()) {
                    String value = option.getAttribute("value");
                    if (value.contains("kc_locale=en")) {
                        english = value;
                    }
                }
                assertNotNull(english, "the language menu offers English");
                p.locator("#login-select-toggle").selectOption(new SelectOption().setValue(english));
                p.waitForURL(u -> u.contains("kc_locale=en"));
                assertEquals("Agents and connected accounts", p.locator("#agent-account-title").innerText());

                // revoke the grant by clicking
                g.locator("button.agent-account-revoke-grant").click();
                p.locator(".agent-account-notice").waitFor();
                assertTrue(p.locator(".agent-account-notice").innerText().contains("The access was revoked"));
                assertEquals(0, g.count());
                browser.screenshot("self-service-en-revoked");
                List<String> console = browser.consoleMessages();
                assertTrue(console.stream().noneMatch(m -> m.startsWith("error") || m.startsWith("pageerror")), console.toString());
            } catch (RuntimeException | Error e) {
                System.out.println("[browser] failed at " + browser.page().url() + ", screenshot " + browser.screenshot("self-service-failure-main"));
                throw e;
            }
        }

        // the account REST API agrees: both are gone
        for (JsonNode g : list(alice, "delegations")) {
            assertFalse(g.get("id").asText().equals(grantId), "the grant is revoked");
        }
        for (JsonNode c : list(alice, "connections")) {
            assertFalse(c.get("id").asText().equals(connectionId), "the connection is revoked");
        }
        // and the events are those of the REST API's DELETE calls
        String admin = flows.oidc().adminToken();
        String revokedGrant = flows.events(admin, "type=REVOKE_GRANT");
        assertTrue(revokedGrant.contains("\"grant_id\":\"" + grantId + "\"") && revokedGrant.contains("\"operation\":\"account_revoke\"")
                && revokedGrant.contains("\"agent\":\"calendar-agent\""), revokedGrant);
        String removed = flows.events(admin, "type=REMOVE_FEDERATED_IDENTITY");
        assertTrue(removed.contains("\"connection_id\":\"" + connectionId + "\"") && removed.contains("\"upstream_revoked\":\"true\""), removed);
        assertFalse(removed.contains("eyJ") || revokedGrant.contains("eyJ"), "no token in events");
    }

    @Test
    void forgedForeignAndOtherUsersRevocationsChangeNothing() {
        String aliceGrant = delegations.grant("alice", "research-agent", DemoUsers.HOST, List.of("openid"), List.of());
        String bobGrant = delegations.grant("bob", "research-agent", DemoUsers.HOST, List.of("openid"), List.of());
        String delegated = flows.delegatedTokens("alice", "calendar-agent").get("access_token").asText();
        try (Browser browser = new Browser()) {
            try {
                Page p = browser.page();
                p.navigate(pageUrl);
                login(p, "alice");
                p.locator("#agent-account").waitFor();
                Locator row = p.locator("li.agent-account-grant[data-grant-id='" + aliceGrant + "']");
                String token = row.locator("input[name='form_token']").getAttribute("value");
                assertNotNull(token);
                APIRequestContext api = p.request(); // the browser's cookies: alice's session
                String action = pageUrl + "revoke";
                String origin = server.baseUrl();

                assertEquals(403, post(api, action, origin, null, "grant", aliceGrant).status(), "no form token");
                assertEquals(403, post(api, action, origin, "forged-" + token, "grant", aliceGrant).status(), "a wrong form token");
                assertEquals(403, post(api, action, "http://attacker.example", token, "grant", aliceGrant).status(), "a foreign origin");
                assertEquals(403, post(api, action, "null", token, "grant", aliceGrant).status(), "an opaque origin");
                assertEquals(404, post(api, action, origin, token, "grant", bobGrant).status(), "bob's grant");
                assertEquals(404, post(api, action, origin, token, "connection", bobGrant).status(), "no such connection");
                assertEquals(404, post(api, action, origin, token, "grant", "no-such-id").status(), "an unknown id");
                assertEquals(400, post(api, action, origin, token, "user", aliceGrant).status(), "an unknown type");
                // an agent's delegated token never gets in, not even with the user's cookie
                APIResponse withDelegated = api.post(action, RequestOptions.create().setMaxRedirects(0).setHeader("Origin", origin)
                        .setHeader("Authorization", "Bearer " + delegated)
                        .setForm(FormData.create().set("form_token", token).set("type", "grant").set("id", aliceGrant)));
                assertEquals(403, withDelegated.status());
                assertEquals(403, api.get(pageUrl, RequestOptions.create().setMaxRedirects(0).setHeader("Authorization", "Bearer " + delegated)).status());
                assertEquals(403, new Http().get(pageUrl, delegated).status(), "refused before any sign-in");
                // without the session's cookie: the form token alone does nothing
                Http.Response noSession = new Http().postForm(action, List.of(java.util.Map.entry("form_token", token),
                        java.util.Map.entry("type", "grant"), java.util.Map.entry("id", aliceGrant)));
                assertEquals(401, noSession.status(), noSession.body());

                assertTrue(ids("alice").contains(aliceGrant), "alice's grant is still there");
                assertTrue(ids("bob").contains(bobGrant), "bob's grant is still there");
                String refused = flows.events(flows.oidc().adminToken(), "type=REVOKE_GRANT_ERROR");
                assertTrue(refused.contains("form token missing, wrong or of another session") && refused.contains("request from a foreign origin"), refused);

                // the same request with the right token from the page's own origin works
                APIResponse ok = post(api, action, origin, token, "grant", aliceGrant);
                assertEquals(303, ok.status(), ok.text());
                assertFalse(ids("alice").contains(aliceGrant));
                p.navigate(pageUrl + "?revoked=grant");
                assertEquals(0, row.count());
                // the refusal page, themed, with a way back
                p.navigate(pageUrl);
                p.locator("#agent-account").waitFor();
                p.evaluate("() => { document.querySelector(\"input[name='form_token']\")?.setAttribute('value', 'forged'); }");
                Locator anyRevoke = p.locator("button.agent-account-revoke-grant, button.agent-account-revoke-connection").first();
                if (anyRevoke.count() > 0) {
                    anyRevoke.click();
                    p.locator("#agent-connect-result-message").waitFor();
                    assertTrue(p.locator("#agent-connect-result-message").innerText().contains("Nothing was changed"));
                    browser.screenshot("self-service-refused");
                    p.locator("#agent-connect-result-back").click();
                    p.locator("#agent-account").waitFor();
                }
            } catch (RuntimeException | Error e) {
                System.out.println("[browser] failed at " + browser.page().url() + ", screenshot " + browser.screenshot("self-service-failure-csrf"));
                throw e;
            }
        } finally {
            delegations.revoke("bob", bobGrant);
        }
    }

    @Test
    void theAccountConsoleLinksToThePage() {
        try (Browser browser = new Browser()) {
            try {
                Page p = browser.page();
                // the console's own route (account console v3 routes by path)
                p.navigate(server.realmUrl(Oidc.DEMO) + "/account/applications");
                p.locator("#kc-login").waitFor();
                login(p, "alice");
                Locator app = p.getByText(Pattern.compile("agents and connected accounts", Pattern.CASE_INSENSITIVE)).first();
                app.waitFor();
                browser.screenshot("self-service-account-console");
                Page target = clickThrough(p, app);
                target.screenshot(new Page.ScreenshotOptions().setFullPage(true)
                        .setPath(Path.of(System.getProperty("agentauth.targetDir", "target"), "screenshots", "self-service-from-console.png")));
                target.locator("#agent-account").waitFor();
                assertEquals(pageUrl, target.url());
                assertEquals("Agents and connected accounts", target.locator("#agent-account-title").innerText());
                // and the page links back to the account console
                assertTrue(target.locator("#agent-account-console").getAttribute("href").endsWith("/realms/" + Oidc.DEMO + "/account/"));
            } catch (RuntimeException | Error e) {
                System.out.println("[browser] failed at " + browser.page().url() + ", screenshot " + browser.screenshot("self-service-failure-console"));
                throw e;
            }
        }
        // the client the console lists: shown always, with the page as its home URL
        JsonNode client = flows.client(flows.oidc().adminToken(), "agent-auth-account");
        assertTrue(client.get("alwaysDisplayInConsole").asBoolean(), client.toString());
        assertEquals("/realms/" + Oidc.DEMO + "/agent-auth/account/", client.get("baseUrl").asText());
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** The console opens an application's home URL in a new tab (or, in some versions, in the same one). */
    private static Page clickThrough(Page p, Locator link) {
        try {
            return p.context().waitForPage(new com.microsoft.playwright.BrowserContext.WaitForPageOptions().setTimeout(10_000), link::click);
        } catch (com.microsoft.playwright.TimeoutError e) {
            return p;
        }
    }

    private static void login(Page p, String user) {
        p.locator("#username").fill(user);
        p.locator("#password").fill(user);
        p.locator("#kc-login").click();
    }

    private static APIResponse post(APIRequestContext api, String action, String origin, String token, String type, String id) {
        FormData form = FormData.create().set("type", type).set("id", id);
        if (token != null) {
            form.set("form_token", token);
        }
        return api.post(action, RequestOptions.create().setMaxRedirects(0).setHeader("Origin", origin).setForm(form));
    }

    private JsonNode list(String userToken, String what) {
        Http.Response r = new Http().get(server.realmUrl(Oidc.DEMO) + "/agent-auth/account/" + what, userToken);
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    private JsonNode grantOf(String userToken, String agent, String host) {
        for (JsonNode g : list(userToken, "delegations")) {
            if (agent.equals(g.path("agent").asText()) && host.equals(g.path("host").asText())) {
                return g;
            }
        }
        throw new AssertionError("no grant of " + agent + " via " + host);
    }

    private JsonNode connectionOf(String userToken, String id) {
        for (JsonNode c : list(userToken, "connections")) {
            if (id.equals(c.get("id").asText())) {
                return c;
            }
        }
        throw new AssertionError("no connection " + id);
    }

    /** The user's grant ids, as the admin REST API lists them. */
    private List<String> ids(String username) {
        Http.Response r = new Http().get(users.grantsUrl(delegations.userId(username)), flows.oidc().adminToken());
        assertEquals(200, r.status(), r.body());
        List<String> ids = new java.util.ArrayList<>();
        r.json().forEach(g -> ids.add(g.get("id").asText()));
        return ids;
    }

    private static String join(JsonNode array) {
        List<String> values = new java.util.ArrayList<>();
        array.forEach(v -> values.add(v.asText()));
        return String.join(" ", values);
    }

    /** As the page writes times: the page's language, UTC. */
    private static String time(long epochMillis, Locale locale) {
        return DateTimeFormatter.ofLocalizedDateTime(FormatStyle.MEDIUM, FormatStyle.SHORT).withLocale(locale)
                .withZone(ZoneOffset.UTC).format(Instant.ofEpochMilli(epochMillis)) + " UTC";
    }
}
