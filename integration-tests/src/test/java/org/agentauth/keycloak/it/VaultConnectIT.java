package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Response;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The vault's connect flow against the real server, with realm {@code upstream-saas} as the real upstream provider
 * (issue 13): two accounts per user, own-only listing, revocation that reaches the upstream, forged / replayed /
 * other-session state, a foreign return_to, an unknown connector.
 */
@ExtendWith(KeycloakServerExtension.class)
class VaultConnectIT {

    private final KeycloakServer server;
    private final Vault vault;
    private final DemoUsers users;
    private final AgentFlows flows;

    VaultConnectIT(KeycloakServer server) {
        this.server = server;
        this.vault = new Vault(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
    }

    @Test
    void aliceConnectsHerWorkAndPersonalAccountsAndBobSeesNeither() {
        String work;
        String personal;
        try (Browser browser = new Browser()) {
            work = Vault.connectionId(vault.connect(browser, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, null), "alice",
                    "alice-work", "vault-connect-confirm"));
        }
        // another account, from another browser: Keycloak, the upstream here, would end alice-work's upstream session if
        // another of its users signed in in the same browser (a provider's own rule, not ours)
        try (Browser browser = new Browser()) {
            String ended = vault.connect(browser, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), "alice",
                    "alice-personal", null);
            personal = Vault.connectionId(ended);
            assertEquals(Vault.CONNECTOR, Oidc.params(ended).get("connector"));
        }
        assertNotEquals(work, personal);

        String alice = users.accessToken("alice");
        JsonNode list = vault.list(Oidc.DEMO, alice);
        Set<String> accounts = new HashSet<>();
        for (JsonNode c : list) {
            if (c.get("id").asText().equals(work) || c.get("id").asText().equals(personal)) {
                accounts.add(c.get("account").asText());
                assertEquals("ACTIVE", c.get("status").asText(), c.toString());
                assertEquals(Vault.CONNECTOR, c.get("connector").asText());
                assertEquals("Demo Calendar", c.get("connectorName").asText());
                assertTrue(c.get("scopes").toString().contains("openid"), c.toString());
            }
        }
        assertEquals(Set.of("alice-work", "alice-personal"), accounts, list.toString());
        // never token material in the listing
        String body = list.toString();
        assertFalse(body.contains("eyJ"), body);
        assertFalse(body.toLowerCase().contains("token"), body);

        // each one works against the upstream and names its own account
        for (String[] c : new String[][] {{work, "alice-work"}, {personal, "alice-personal"}}) {
            Http.Response check = vault.check(Oidc.DEMO, alice, c[0]);
            assertEquals(200, check.status(), check.body());
            assertTrue(check.json().get("ok").asBoolean(), check.body());
            assertEquals(c[1], check.json().get("account").asText(), check.body());
        }

        // bob sees neither, and cannot reach them by id (the same 404 as an unknown id)
        String bob = users.accessToken("bob");
        for (JsonNode c : vault.list(Oidc.DEMO, bob)) {
            assertNotEquals(work, c.get("id").asText());
            assertNotEquals(personal, c.get("id").asText());
        }
        assertEquals(404, new Http().get(vault.accountConnections(Oidc.DEMO) + "/" + work, bob).status());
        assertEquals(404, new Http().delete(vault.accountConnections(Oidc.DEMO) + "/" + work, bob).status());
        assertEquals(404, vault.check(Oidc.DEMO, bob, work).status());
        assertEquals(404, new Http().get(vault.accountConnections(Oidc.DEMO) + "/no-such-id", alice).status());
        assertEquals(2, countOf(vault.list(Oidc.DEMO, alice), work, personal), "bob's attempts changed nothing");

        // an agent's delegated token never manages the user's connections
        String delegated = flows.delegatedTokens("alice", "calendar-agent").get("access_token").asText();
        assertEquals(403, new Http().get(vault.accountConnections(Oidc.DEMO), delegated).status());
        assertEquals(403, new Http().delete(vault.accountConnections(Oidc.DEMO) + "/" + work, delegated).status());
        // without a token: 401
        assertEquals(401, new Http().get(vault.accountConnections(Oidc.DEMO), "not-a-token").status());

        // the admin sees alice's connections too, and the link events name connector and connection, never a token
        String admin = vault.oidc().adminToken();
        String aliceId = users.userId(admin, "alice");
        Http.Response adminList = new Http().get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/users/" + aliceId
                + "/connections", admin);
        assertEquals(200, adminList.status(), adminList.body());
        assertEquals(2, countOf(adminList.json(), work, personal), adminList.body());
        String events = flows.events(admin, "type=FEDERATED_IDENTITY_LINK");
        assertTrue(events.contains(work) && events.contains(personal), events);
        assertTrue(events.contains("\"connector\":\"demo-calendar\""), events);
        assertFalse(events.contains("eyJ"), "no token in events");
    }

    @Test
    void revokeReachesTheUpstreamAndDeletesTheConnection() {
        String id;
        try (Browser browser = new Browser()) {
            id = Vault.connectionId(vault.connect(browser, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), "bob", "bob-cal", null));
        }
        String admin = vault.oidc().adminToken();
        String upstreamBob = vault.upstreamUserId(admin, "bob-cal");
        int sessions = connectorSessions(admin, upstreamBob);
        assertTrue(sessions >= 1, "the connect made an upstream session for the connector");

        String bob = users.accessToken("bob");
        Http.Response revoke = new Http().delete(vault.accountConnections(Oidc.DEMO) + "/" + id, bob);
        assertEquals(204, revoke.status(), revoke.body());
        assertEquals(sessions - 1, connectorSessions(admin, upstreamBob), "the upstream revoked the refresh token: its session is gone");
        JsonNode revoked = vault.upstreamEvents(admin, "type=REVOKE_GRANT&user=" + upstreamBob);
        assertTrue(revoked.size() >= 1, "the upstream recorded the revocation: " + revoked);
        assertEquals(0, countOf(vault.list(Oidc.DEMO, bob), id));
        assertEquals(404, new Http().delete(vault.accountConnections(Oidc.DEMO) + "/" + id, bob).status());
        String events = flows.events(admin, "type=REMOVE_FEDERATED_IDENTITY");
        assertTrue(events.contains(id) && events.contains("\"upstream_revoked\":\"true\""), events);
    }

    @Test
    void forgedReplayedAndOtherUsersStateIsRefusedAndNothingIsStored() {
        String alice = users.accessToken("alice");
        String bob = users.accessToken("bob");
        int aliceBefore = vault.list(Oidc.DEMO, alice).size();
        int bobBefore = vault.list(Oidc.DEMO, bob).size();
        String callback = server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/" + Vault.CONNECTOR + "/callback";

        // bob's flow up to the upstream's login page; his upstream sign-in then happens outside the browser, so the
        // upstream's redirect back (its code and bob's state) is never delivered
        AtomicReference<String> bobsCallback = new AtomicReference<>();
        String upstreamAuthUrl;
        try (Browser b = new Browser()) {
            Page p = b.page();
            p.navigate(vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"));
            p.locator("#username").fill("bob");
            p.locator("#password").fill("bob");
            p.locator("#kc-login").click();
            p.locator("#kc-agent-connect-allow").click();
            p.waitForURL(u -> u.contains("/realms/" + Vault.UPSTREAM + "/"));
            upstreamAuthUrl = p.url();
        }
        Http.Response upstreamLogin = vault.oidc().openAndLogin(new Http(), upstreamAuthUrl, "bob-cal", "bob-cal");
        assertEquals(302, upstreamLogin.status(), upstreamLogin.body());
        bobsCallback.set(upstreamLogin.location());
        assertTrue(bobsCallback.get().startsWith(callback), bobsCallback.get());
        assertNotNull(Oidc.params(bobsCallback.get()).get("code"));

        try (Browser a = new Browser()) {
            Page p = a.page();
            // alice signs in (and connects nothing): a session of her own
            p.navigate(vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, null));
            p.locator("#username").fill("alice");
            p.locator("#password").fill("alice");
            p.locator("#kc-login").click();
            p.locator("#kc-agent-connect-form").waitFor();

            // bob's code and state in alice's browser: another session's state
            Response other = p.navigate(bobsCallback.get());
            assertEquals(400, other.status());
            assertTrue(p.locator("#agent-connect-result-message").innerText().contains("another sign-in"), p.content());
            // the same state again (replay): used up
            Response replay = p.navigate(bobsCallback.get());
            assertEquals(400, replay.status());
            assertTrue(p.locator("#agent-connect-result-message").innerText().contains("used already"), p.content());
            // a forged state
            Response forged = p.navigate(callback + "?state=forged-" + System.nanoTime() + "&code=whatever");
            assertEquals(400, forged.status());
            // no state at all
            assertEquals(400, p.navigate(callback + "?code=whatever").status());
            // the upstream's own error, with a forged state: still nothing
            assertEquals(400, p.navigate(callback + "?state=x&error=access_denied").status());
            a.screenshot("vault-connect-bad-state");
        }
        assertEquals(aliceBefore, vault.list(Oidc.DEMO, alice).size(), "nothing stored for alice");
        assertEquals(bobBefore, vault.list(Oidc.DEMO, bob).size(), "nothing stored for bob");
    }

    @Test
    void aForeignReturnToIsRefusedBeforeLeavingForTheUpstream() {
        String base = server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/" + Vault.CONNECTOR + "/connect";
        Http http = new Http();
        Http.Response foreign = http.get(base + "?client_id=agent-host&return_to=" + Http.urlEncode("https://evil.example/steal"));
        assertEquals(400, foreign.status(), foreign.body());
        assertNull(foreign.location(), "no redirect anywhere");
        assertTrue(foreign.body().contains("return_to"), foreign.body());
        // a redirect URI of another client is foreign too
        Http.Response otherClient = http.get(base + "?client_id=agent-host&return_to=" + Http.urlEncode("https://attacker.localhost.example/x"));
        assertEquals(400, otherClient.status());
        // return_to without the client it belongs to
        assertEquals(400, http.get(base + "?return_to=" + Http.urlEncode(Vault.RETURN_TO)).status());
        // an unknown client
        assertEquals(400, http.get(base + "?client_id=no-such-client&return_to=" + Http.urlEncode(Vault.RETURN_TO)).status());
        // scopes the connector does not offer
        Http.Response scope = http.get(vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "scope=" + Http.urlEncode("openid admin")));
        assertEquals(400, scope.status());
        assertTrue(scope.body().contains("invalid_scope"), scope.body());
        // a valid request without a session goes to the realm's login, not to the upstream
        Http.Response ok = http.get(vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, null));
        assertEquals(302, ok.status(), ok.body());
        assertTrue(ok.location().startsWith(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/auth"), ok.location());
        // the confirmation POST without a valid form token
        Http.Response post = http.postForm(base, Oidc.Form.of("pending", "forged", "decision", "allow").list());
        assertEquals(400, post.status());
        assertNull(post.location());
    }

    @Test
    void anUnknownConnectorIs404() {
        Http http = new Http();
        String base = server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/no-such-connector";
        assertEquals(404, http.get(base + "/connect?client_id=agent-host&return_to=" + Http.urlEncode(Vault.RETURN_TO)).status());
        assertEquals(404, http.get(base + "/callback?state=x&code=y").status());
    }

    @Test
    void theConnectPageCannotBeFramed() {
        try (Browser browser = new Browser()) {
            Page p = browser.page();
            p.navigate(vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, null));
            p.locator("#username").fill("alice");
            p.locator("#password").fill("alice");
            Response r = p.waitForResponse(x -> x.url().contains("/connectors/demo-calendar/connect") && x.status() == 200,
                    () -> p.locator("#kc-login").click());
            assertEquals("DENY", r.headerValue("x-frame-options"));
            assertTrue(r.headerValue("content-security-policy").contains("frame-ancestors 'none'"));
        }
    }

    @Test
    void denyingOrAnUpstreamRefusalGoesBackWithAnErrorAndStoresNothing() {
        String bob = users.accessToken("bob");
        int before = vault.list(Oidc.DEMO, bob).size();
        try (Browser browser = new Browser()) {
            Page p = browser.page();
            AtomicReference<String> ended = new AtomicReference<>();
            p.route(u -> u.startsWith(Vault.RETURN_TO), route -> {
                ended.set(route.request().url());
                route.fulfill(new com.microsoft.playwright.Route.FulfillOptions().setStatus(200).setBody("back"));
            });
            // Cancel on the confirmation page
            p.navigate(vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, null));
            p.locator("#username").fill("bob");
            p.locator("#password").fill("bob");
            p.locator("#kc-login").click();
            p.locator("#kc-agent-connect-deny").click();
            p.waitForURL(u -> u.startsWith(Vault.RETURN_TO));
            assertEquals("access_denied", Oidc.params(ended.get()).get("error"), ended.get());

            // the upstream answers access_denied to a real state of this session (as a provider does when the user
            // refuses there): back at return_to with the error
            p.navigate(vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"));
            p.locator("#kc-agent-connect-allow").click();
            p.waitForURL(u -> u.contains("/realms/" + Vault.UPSTREAM + "/"));
            String state = Oidc.params(p.url()).get("state");
            assertNotNull(state, p.url());
            // (as a page-initiated navigation, like the provider's redirect: routes see its redirect to return_to)
            p.evaluate("u => { location.href = u; }", server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/" + Vault.CONNECTOR
                    + "/callback?state=" + state + "&error=access_denied&error_description=" + Http.urlEncode("<script>alert(1)</script>"));
            p.waitForURL(u -> u.startsWith(Vault.RETURN_TO));
            assertEquals("access_denied", Oidc.params(ended.get()).get("error"), ended.get());
            assertFalse(ended.get().contains("alert"), "the upstream's text is not passed on: " + ended.get());
        }
        assertEquals(before, vault.list(Oidc.DEMO, bob).size(), "nothing stored");
    }

    @Test
    void connectingTheSameAccountAgainUpdatesItsConnection() {
        String first;
        String second;
        try (Browser browser = new Browser()) {
            first = Vault.connectionId(vault.connect(browser, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "scope=openid"), "bob", "bob-cal", null));
            // the upstream's session answers at once: the same upstream account again, now with more scopes
            second = Vault.connectionId(vault.connect(browser, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "scope=" + Http.urlEncode("openid email")), "bob", "bob-cal", null));
        }
        assertEquals(first, second, "one connection per upstream account");
        String bob = users.accessToken("bob");
        JsonNode list = vault.list(Oidc.DEMO, bob);
        assertEquals(1, countOf(list, first));
        for (JsonNode c : list) {
            if (c.get("id").asText().equals(first)) {
                assertTrue(c.get("scopes").toString().contains("email"), c.toString());
                assertEquals("ACTIVE", c.get("status").asText());
            }
        }
    }

    @Test
    void changingTheConnectorsTokenHostExpiresItsConnections() {
        String admin = vault.oidc().adminToken();
        String realm = "vault-hosts";
        new Http().delete(server.baseUrl() + "/admin/realms/" + realm, admin);
        String base = server.realmUrl(Vault.UPSTREAM) + "/protocol/openid-connect";
        Map<String, Object> connector = Map.of("name", "moving-calendar", "providerId", "oauth2", "config", Map.of(
                "authorizationUrl", List.of(base + "/auth"), "tokenUrl", List.of(base + "/token"),
                "userinfoUrl", List.of(base + "/userinfo"), "clientId", List.of("agent-auth-connector-hosts"),
                "clientSecret", List.of("hosts-secret"), "scopes", List.of("openid")));
        Http.Response created = new Http().postJson(server.baseUrl() + "/admin/realms", admin, Map.of("realm", realm, "enabled", true,
                "users", List.of(Map.of("username", "dora", "enabled", true, "email", "dora@example.org", "firstName", "Dora",
                        "lastName", "Hosts", "emailVerified", true,
                        "credentials", List.of(Map.of("type", "password", "value", "dora", "temporary", false)))),
                "clients", List.of(Map.of("clientId", "agent-host", "secret", "x", "publicClient", false,
                        "standardFlowEnabled", true, "redirectUris", List.of("http://localhost/*"))),
                "components", Map.of("org.agentauth.keycloak.vault.ConnectorProvider", List.of(connector))));
        assertEquals(201, created.status(), created.body());
        Http.Response upstreamClient = new Http().postJson(server.baseUrl() + "/admin/realms/" + Vault.UPSTREAM + "/clients", admin, Map.of(
                "clientId", "agent-auth-connector-hosts", "secret", "hosts-secret", "publicClient", false, "standardFlowEnabled", true,
                "redirectUris", List.of(server.realmUrl(realm) + "/agent-auth/connectors/moving-calendar/callback")));
        assertTrue(upstreamClient.status() == 201 || upstreamClient.status() == 409, upstreamClient.toString());
        String id;
        try (Browser browser = new Browser()) {
            id = Vault.connectionId(vault.connect(browser, server.realmUrl(realm) + "/agent-auth/connectors/moving-calendar/connect?client_id=agent-host&return_to="
                    + Http.urlEncode(Vault.RETURN_TO) + "&prompt=login", "dora", "bob-cal", null));
        }
        String doraId = new Http().get(server.baseUrl() + "/admin/realms/" + realm + "/users?exact=true&username=dora", admin)
                .json().get(0).get("id").asText();
        String connections = server.baseUrl() + "/admin/realms/" + realm + "/agent-auth/users/" + doraId + "/connections";
        assertEquals("ACTIVE", new Http().get(connections, admin).json().get(0).get("status").asText());

        // the token endpoint moves to another host (here another port of localhost): the stored tokens must not go there
        String connectorUrl = server.baseUrl() + "/admin/realms/" + realm + "/agent-auth/connectors/moving-calendar";
        JsonNode rep = new Http().get(connectorUrl, admin).json();
        Map<String, Object> body = Http.JSON.convertValue(rep, Map.class);
        body.remove("clientSecretSet");
        body.put("tokenUrl", "http://localhost:1/token");
        // without the secret typed in again the move is refused, and nothing expires (issue 21: the stored secret never
        // goes to a new origin)
        Http.Response refused = new Http().putJson(connectorUrl, admin, body);
        assertEquals(400, refused.status(), refused.body());
        assertTrue(refused.body().contains("clientSecret is required again"), refused.body());
        assertEquals("ACTIVE", new Http().get(connections, admin).json().get(0).get("status").asText());
        body.put("clientSecret", "hosts-secret");
        Http.Response moved = new Http().putJson(connectorUrl, admin, body);
        assertEquals(200, moved.status(), moved.body());
        assertTrue(moved.json().path("connectionsExpired").asBoolean(), moved.body());
        JsonNode after = new Http().get(connections, admin).json().get(0);
        assertEquals(id, after.get("id").asText());
        assertEquals("EXPIRED", after.get("status").asText(), after.toString());
        Http.Response check = new Http().postJson(connections + "/" + id + "/check", admin, Map.of());
        assertEquals("connection_required", check.json().get("problem").asText(), check.body());
        // deleting the connector deletes its connections
        assertEquals(204, new Http().delete(connectorUrl, admin).status());
        assertEquals(0, new Http().get(connections, admin).json().size(), "gone with the connector");
        new Http().delete(server.baseUrl() + "/admin/realms/" + realm, admin);
    }

    private int connectorSessions(String admin, String upstreamUserId) {
        Http.Response r = new Http().get(server.baseUrl() + "/admin/realms/" + Vault.UPSTREAM + "/users/" + upstreamUserId + "/sessions", admin);
        assertEquals(200, r.status(), r.body());
        int n = 0;
        for (JsonNode s : r.json()) {
            if (s.path("clients").toString().contains("agent-auth-connector")) {
                n++;
            }
        }
        return n;
    }

    private static int countOf(JsonNode list, String... ids) {
        Set<String> want = Set.of(ids);
        int n = 0;
        for (JsonNode c : list) {
            if (want.contains(c.get("id").asText())) {
                n++;
            }
        }
        return n;
    }
}
