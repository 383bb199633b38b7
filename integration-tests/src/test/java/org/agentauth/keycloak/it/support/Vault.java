package org.agentauth.keycloak.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.microsoft.playwright.Page;
import java.util.concurrent.atomic.AtomicReference;

/** The vault's connect flow in a real browser, and its REST APIs (issue 13). */
public final class Vault {

    public static final String CONNECTOR = "demo-calendar";
    public static final String UPSTREAM = "upstream-saas";
    /** A redirect URI of agent-host (nothing listens there: the browser's request is read, then aborted). */
    public static final String RETURN_TO = "http://localhost/connected";

    private final KeycloakServer server;
    private final Oidc oidc;

    public Vault(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
    }

    public String connectUrl(String realm, String connector, String extraQuery) {
        return server.realmUrl(realm) + "/agent-auth/connectors/" + connector + "/connect?client_id=agent-host&return_to="
                + Http.urlEncode(RETURN_TO) + (extraQuery == null ? "" : "&" + extraQuery);
    }

    public String accountConnections(String realm) {
        return server.realmUrl(realm) + "/agent-auth/account/connections";
    }

    /**
     * Runs the whole connect flow in the browser: signs in to the realm when the page asks, confirms, signs in at the
     * upstream when it asks, and returns the URL the flow ended at ({@link #RETURN_TO} with its parameters).
     *
     * @param screenshot name of a screenshot of the confirmation page, or null
     */
    public String connect(Browser browser, String url, String user, String upstreamUser, String screenshot) {
        Page p = browser.page();
        AtomicReference<String> ended = new AtomicReference<>();
        p.route(RETURN_TO + "*", route -> {
            ended.set(route.request().url());
            route.fulfill(new com.microsoft.playwright.Route.FulfillOptions().setStatus(200).setBody("connected"));
        });
        try {
            p.navigate(url);
            p.locator("#kc-agent-connect-form, #kc-login").first().waitFor();
            if (p.locator("#kc-agent-connect-form").count() == 0) {
                p.locator("#username").fill(user);
                p.locator("#password").fill(user);
                p.locator("#kc-login").click();
            }
            p.locator("#kc-agent-connect-form").waitFor();
            if (screenshot != null) {
                System.out.println("[browser] screenshot " + browser.screenshot(screenshot));
            }
            p.locator("#kc-agent-connect-allow").click();
            // the upstream asks who signs in, unless its own session answers at once
            p.waitForURL(u -> u.startsWith(RETURN_TO) || u.contains("/realms/" + UPSTREAM + "/"));
            if (!p.url().startsWith(RETURN_TO)) {
                upstreamLogin(p, upstreamUser);
                p.waitForURL(u -> u.startsWith(RETURN_TO));
            }
        } catch (RuntimeException e) {
            System.out.println("[browser] connect failed at " + p.url() + ", screenshot " + browser.screenshot("vault-connect-failure-" + System.nanoTime()));
            throw e;
        } finally {
            p.unroute(RETURN_TO + "*");
        }
        assertNotNull(ended.get(), "the flow never reached return_to; at " + p.url());
        return ended.get();
    }

    /**
     * Signs in at the upstream's login page. With {@code prompt=login} and an upstream session, Keycloak asks the same
     * user to re-authenticate: "restart login" (as a user who wants another account does) gives the username field.
     */
    public static void upstreamLogin(Page p, String upstreamUser) {
        p.locator("#kc-login").waitFor();
        if (p.locator("#username").count() == 0) {
            p.locator("#reset-login").click();
            p.locator("#username").waitFor();
        }
        p.locator("#username").fill(upstreamUser);
        p.locator("#password").fill(upstreamUser);
        p.locator("#kc-login").click();
    }

    /** The connection id the connect flow appended to return_to. */
    public static String connectionId(String endedAt) {
        String id = Oidc.params(endedAt).get("connection_id");
        assertNotNull(id, endedAt);
        return id;
    }

    public JsonNode list(String realm, String userToken) {
        Http.Response r = new Http().get(accountConnections(realm), userToken);
        assertEquals(200, r.status(), r.body());
        assertTrue(r.json().isArray(), r.body());
        return r.json();
    }

    /** Disconnects every account the user has linked in the realm (account API), so a test starts from none. */
    public void disconnectAll(String realm, String userToken) {
        for (JsonNode c : list(realm, userToken)) {
            Http.Response r = new Http().delete(accountConnections(realm) + "/" + c.get("id").asText(), userToken);
            assertTrue(r.status() == 204 || r.status() == 200 || r.status() == 404, r.toString());
        }
    }

    public Http.Response check(String realm, String userToken, String connectionId) {
        return new Http().postJson(accountConnections(realm) + "/" + connectionId + "/check", userToken, java.util.Map.of());
    }

    /** Events of the upstream realm (admin API), e.g. {@code type=REFRESH_TOKEN&user=<id>}. */
    public JsonNode upstreamEvents(String admin, String query) {
        Http.Response r = new Http().get(server.baseUrl() + "/admin/realms/" + UPSTREAM + "/events?max=1000&" + query, admin);
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    public String upstreamUserId(String admin, String username) {
        Http.Response r = new Http().get(server.baseUrl() + "/admin/realms/" + UPSTREAM + "/users?exact=true&username=" + username, admin);
        assertEquals(200, r.status(), r.body());
        return r.json().get(0).get("id").asText();
    }

    public Oidc oidc() {
        return oidc;
    }
}
