package org.agentauth.keycloak.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.microsoft.playwright.Page;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    /**
     * Creates a confidential client of the upstream realm for a test's own connector (kept if it exists): standard flow
     * with PKCE S256, redirect to {@code callback}, its access tokens living {@code lifespanSeconds}.
     */
    public void upstreamClient(String admin, String clientId, String secret, String callback, int lifespanSeconds) {
        Map<String, Object> client = new LinkedHashMap<>();
        client.put("clientId", clientId);
        client.put("enabled", true);
        client.put("protocol", "openid-connect");
        client.put("publicClient", false);
        client.put("clientAuthenticatorType", "client-secret");
        client.put("secret", secret);
        client.put("standardFlowEnabled", true);
        client.put("directAccessGrantsEnabled", false);
        client.put("redirectUris", List.of(callback));
        client.put("attributes", Map.of("pkce.code.challenge.method", "S256", "access.token.lifespan", String.valueOf(lifespanSeconds)));
        Http.Response c = new Http().postJson(server.baseUrl() + "/admin/realms/" + UPSTREAM + "/clients", admin, client);
        assertTrue(c.status() == 201 || c.status() == 409, c.toString());
    }

    /** Lets {@code calendar-agent} use connector {@code alias} besides the demo's; returns its policy as it was. */
    public JsonNode allowConnector(String admin, String alias) {
        Http http = new Http();
        JsonNode original = http.get(calendarAgent(), admin).json().get("policy");
        ObjectNode policy = original.deepCopy();
        policy.putArray("allowedConnectors").add(CONNECTOR).add(alias);
        Http.Response put = http.putJson(calendarAgent(), admin, policy);
        assertEquals(200, put.status(), put.toString());
        return original;
    }

    /** Puts back {@code calendar-agent}'s policy as {@link #allowConnector} found it. */
    public void restorePolicy(String admin, JsonNode original) {
        assertEquals(200, new Http().putJson(calendarAgent(), admin, original).status());
    }

    private String calendarAgent() {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/agents/calendar-agent";
    }

    public Oidc oidc() {
        return oidc;
    }
}
