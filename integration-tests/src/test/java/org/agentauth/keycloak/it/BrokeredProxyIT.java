package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.microsoft.playwright.Page;
import java.net.URI;
import java.net.http.HttpRequest;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The brokered proxy (issue 14, first slice): consent (a grant with the connector) → delegated token for the connector's
 * resource URI by exchange → {@code proxy/userinfo} of realm upstream-saas answers with the chosen linked account; each
 * refusal; path escapes refused with nothing sent upstream; {@code connection_required} with a link that works in
 * Chromium; revoking the grant or the connection stops the next call; events.
 */
@Order(38)
@ExtendWith(KeycloakServerExtension.class)
class BrokeredProxyIT {

    private final KeycloakServer server;
    private final Vault vault;
    private final DemoUsers users;
    private final AgentFlows flows;
    private final String connectorUri;
    private final String proxy;

    BrokeredProxyIT(KeycloakServer server) {
        this.server = server;
        this.vault = new Vault(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
        this.connectorUri = server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/" + Vault.CONNECTOR;
        this.proxy = connectorUri + "/proxy";
    }

    private String grant(String user, List<String> connectors) {
        String admin = vault.oidc().adminToken();
        return users.adminGrant(admin, users.userId(admin, user), Map.of("agent", "calendar-agent", "host", "agent-host",
                "connectors", connectors));
    }

    /** calendar-agent's delegated exchange of the user's agent-host token, for the given resource(s). */
    private Http.Response exchange(String user, String... resources) {
        Form form = Form.of("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token", users.accessToken(user), "subject_token_type", "urn:ietf:params:oauth:token-type:access_token",
                "actor_token", flows.agentToken("calendar-agent"), "actor_token_type", "urn:ietf:params:oauth:token-type:access_token");
        for (String r : resources) {
            form.add("resource", r);
        }
        return new Http().postForm(vault.oidc().tokenEndpoint(Oidc.DEMO), form.list(), Http.basic("calendar-agent", "calendar-agent-secret"));
    }

    private String proxyToken(String user) {
        Http.Response t = exchange(user, connectorUri);
        assertEquals(200, t.status(), t.body());
        String at = t.json().get("access_token").asText();
        JsonNode claims = Oidc.claims(at);
        assertEquals(List.of(connectorUri), List.of(Oidc.audience(claims).toArray()), claims.toString());
        assertEquals("calendar-agent", claims.get("act").get("client_id").asText());
        assertNull(t.json().get("refresh_token"));
        return at;
    }

    private Http.Response vaultExchange(String subject, String agent, String connectionId) {
        Form form = Form.of("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token", subject,
                "subject_token_type", "urn:ietf:params:oauth:token-type:access_token", "requested_issuer", Vault.CONNECTOR);
        if (connectionId != null) {
            form.add("connection_id", connectionId);
        }
        return new Http().postForm(vault.oidc().tokenEndpoint(Oidc.DEMO), form.list(), Http.basic(agent, agent + "-secret"));
    }

    /** A GET sent as it is written (no URI parsing on our side); the whole answer as text. */
    private String rawGet(String pathAndQuery, String bearer) {
        URI base = URI.create(server.baseUrl());
        try (java.net.Socket s = new java.net.Socket(base.getHost(), base.getPort())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(("GET " + pathAndQuery + " HTTP/1.1\r\nHost: " + base.getHost() + ":" + base.getPort()
                    + "\r\nAuthorization: Bearer " + bearer + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private Http.Response get(String url, String bearer, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).GET();
        if (bearer != null) {
            b.header("Authorization", "Bearer " + bearer);
        }
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return new Http().send(b);
    }

    @Test
    void aDelegatedTokenForTheConnectorReachesTheChosenAccount() {
        // "the most recent" below means the one connected last here: none of an earlier test's accounts may remain
        vault.disconnectAll(Oidc.DEMO, users.accessToken("alice"));
        String work;
        String personal;
        try (Browser b = new Browser()) {
            work = Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), "alice", "alice-work", null));
        }
        try (Browser b = new Browser()) {
            personal = Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), "alice", "alice-personal", null));
        }
        grant("alice", List.of(Vault.CONNECTOR));
        String token = proxyToken("alice");

        // the chosen account, by query parameter or header
        Http.Response w = get(proxy + "/userinfo?connection_id=" + work, token);
        assertEquals(200, w.status(), w.body());
        assertEquals("alice-work", w.json().get("preferred_username").asText(), w.body());
        assertEquals(work, w.header("X-Connection-Id"));
        assertEquals("nosniff", w.header("X-Content-Type-Options"));
        assertNull(w.header("Set-Cookie"));
        Http.Response p = get(proxy + "/userinfo", token, "X-Connection-Id", personal);
        assertEquals(200, p.status(), p.body());
        assertEquals("alice-personal", p.json().get("preferred_username").asText());
        // without a choice: the most recent active one
        Http.Response latest = get(proxy + "/userinfo", token);
        assertEquals(200, latest.status(), latest.body());
        assertEquals(personal, latest.header("X-Connection-Id"));
        // the connection status: the same choice of account, without an upstream call, never a token
        Http.Response st = get(connectorUri + "/connection", token, "X-Connection-Id", work);
        assertEquals(200, st.status(), st.body());
        assertEquals(work, st.json().get("connection_id").asText(), st.body());
        assertEquals("alice-work", st.json().get("account").asText(), st.body());
        assertEquals("ACTIVE", st.json().get("status").asText(), st.body());
        assertEquals(Vault.CONNECTOR, st.json().get("connector").asText(), st.body());
        assertEquals("proxy_exchange", st.json().get("delivery_mode").asText(), st.body()); // the demo connector lets its agents take upstream tokens
        assertFalse(st.body().contains("eyJ"), st.body());
        assertEquals(personal, get(connectorUri + "/connection", token).json().get("connection_id").asText());
        Http.Response stUnknown = get(connectorUri + "/connection?connection_id=no-such-connection", token);
        assertEquals(404, stUnknown.status(), stUnknown.body());
        assertEquals("connection_not_found", stUnknown.json().get("error").asText());
        Http.Response stNoAct = get(connectorUri + "/connection", users.accessToken("alice"));
        assertEquals(401, stNoAct.status(), stNoAct.body());
        assertEquals("invalid_token", stNoAct.json().get("error").asText());
        // never a silent fallback: an unknown or foreign connection is 404
        Http.Response unknown = get(proxy + "/userinfo?connection_id=no-such-connection", token);
        assertEquals(404, unknown.status());
        assertEquals("connection_not_found", unknown.json().get("error").asText());
        // a value that is not valid percent-encoding (java.net.URI refuses to build such a URL, so it goes out on a raw
        // socket): Keycloak's HTTP layer refuses the request (400) before the proxy runs; never a server error
        String malformed = rawGet(URI.create(proxy).getRawPath() + "/userinfo?connection_id=%zz%2", token);
        assertTrue(malformed.startsWith("HTTP/1.1 400"), malformed);

        // the answers never carry the upstream token; the events say who called what
        assertFalse(w.body().contains("eyJhbGci"));
        String events = flows.events(vault.oidc().adminToken(), "type=IDENTITY_PROVIDER_RETRIEVE_TOKEN");
        assertTrue(events.contains(work) && events.contains("\"upstream_status\":\"200\"") && events.contains("\"agent\":\"calendar-agent\""), events);
        assertFalse(events.contains("eyJhbGci"), "no token in events");

        // the vault exchange: the acting agent gets a fresh upstream access token of the chosen account
        Http.Response ve = vaultExchange(token, "calendar-agent", work);
        assertEquals(200, ve.status(), ve.body());
        assertEquals("urn:ietf:params:oauth:token-type:access_token", ve.json().get("issued_token_type").asText());
        String upstreamToken = ve.json().get("access_token").asText();
        assertEquals(server.realmUrl(Vault.UPSTREAM), Oidc.claims(upstreamToken).get("iss").asText());
        Http.Response direct = new Http().get(server.realmUrl(Vault.UPSTREAM) + "/protocol/openid-connect/userinfo", upstreamToken);
        assertEquals("alice-work", direct.json().get("preferred_username").asText(), direct.body());
        // only the acting agent may ask: the host app cannot turn the user's delegated token into an upstream token
        Http.Response byHost = new Http().postForm(vault.oidc().tokenEndpoint(Oidc.DEMO), Form.of(
                "grant_type", "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token", token,
                "subject_token_type", "urn:ietf:params:oauth:token-type:access_token", "requested_issuer", Vault.CONNECTOR).list(),
                Http.basic(DemoUsers.HOST, DemoUsers.HOST_SECRET));
        assertEquals(400, byHost.status(), byHost.body());
        assertEquals("unauthorized_client", byHost.json().get("error").asText(), byHost.body());
        assertEquals(400, vaultExchange(token, "calendar-agent", "no-such-connection").status());
        String released = flows.events(vault.oidc().adminToken(), "type=IDENTITY_PROVIDER_RETRIEVE_TOKEN");
        assertTrue(released.contains("\"operation\":\"vault_exchange\""), released);
        assertFalse(released.contains(upstreamToken.substring(0, 40)), "no token in events");

        // revoking the connection stops the next call through it
        String alice = users.accessToken("alice");
        assertEquals(204, new Http().delete(vault.accountConnections(Oidc.DEMO) + "/" + work, alice).status());
        assertEquals(404, get(proxy + "/userinfo?connection_id=" + work, token).status());
        // revoking the grant stops every call
        assertEquals(200, get(proxy + "/userinfo", token).status());
        new Delegations(server).revokeAll("alice");
        Http.Response revoked = get(proxy + "/userinfo", token);
        assertEquals(401, revoked.status(), revoked.body());
        assertEquals("invalid_token", revoked.json().get("error").asText());
        Http.Response revokedStatus = get(connectorUri + "/connection", token);
        assertEquals(401, revokedStatus.status(), revokedStatus.body());
        assertTrue(revokedStatus.json().get("error_description").asText().startsWith("The delegation is no longer valid"), revokedStatus.body());
    }

    @Test
    void everyOtherTokenIsRefused() {
        grant("bob", List.of(Vault.CONNECTOR));
        // no token, garbage
        assertEquals(401, get(proxy + "/userinfo", null).status());
        assertEquals(401, get(proxy + "/userinfo", "garbage").status());
        // the user's own token (no act, not for the connector)
        assertEquals(401, get(proxy + "/userinfo", users.accessToken("bob")).status());
        // a delegated token for another audience (the normal exchange)
        Http.Response other = exchange("bob");
        assertEquals(200, other.status(), other.body());
        assertEquals(401, get(proxy + "/userinfo", other.json().get("access_token").asText()).status());
        // the agent's own token
        assertEquals(401, get(proxy + "/userinfo", flows.agentToken("calendar-agent")).status());
        // the connector URI is not for other clients or other audiences
        Http.Response mixed = exchange("bob", connectorUri, "http://localhost:3000/mcp");
        assertEquals(400, mixed.status(), mixed.body());
        assertEquals("invalid_target", mixed.json().get("error").asText());
        Http.Response unknownConnector = exchange("bob", server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/no-such");
        assertEquals(400, unknownConnector.status());
        Http.Response cc = new Http().postForm(vault.oidc().tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "client_credentials",
                "resource", connectorUri).list(), Http.basic("calendar-agent", "calendar-agent-secret"));
        assertEquals(400, cc.status(), cc.body());
        // a grant without the connector: no token for it
        grant("bob", List.of());
        Http.Response notGranted = exchange("bob", connectorUri);
        assertEquals(400, notGranted.status(), notGranted.body());
        assertTrue(notGranted.json().get("error_description").asText().contains("grant"), notGranted.body());
        // research-agent's policy has no connector
        Http.Response unknownAlias = get(server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/no-such/proxy/userinfo", "x");
        assertEquals(404, unknownAlias.status());
    }

    @Test
    void pathEscapesAreRefusedBeforeAnythingIsSent() {
        grant("bob", List.of(Vault.CONNECTOR));
        String token = proxyToken("bob");
        String admin = vault.oidc().adminToken();
        String upstreamBob = vault.upstreamUserId(admin, "bob-cal");
        int before = vault.upstreamEvents(admin, "user=" + upstreamBob).size();
        for (String path : List.of("/../../../admin/realms", "/%2e%2e/%2e%2e/admin", "/userinfo%2f..%2f..", "/a%5cb", "/a%00b",
                "/./userinfo", "//evil.example/x", "/a\\b".replace("\\", "%5C"))) {
            Http.Response r = get(proxy + path, token);
            // refused by the proxy (invalid_request), or before it by the server's own path normalisation check
            assertEquals(400, r.status(), path + " -> " + r.body());
        }
        assertEquals(before, vault.upstreamEvents(admin, "user=" + upstreamBob).size(), "nothing reached the upstream");
    }

    @Test
    void withoutALinkedAccountTheAnswerIsConnectionRequiredWithALinkThatWorks() {
        // research-agent has no connectors; use calendar-agent for bob with his linked accounts revoked
        String bob = users.accessToken("bob");
        for (JsonNode c : vault.list(Oidc.DEMO, bob)) {
            new Http().delete(vault.accountConnections(Oidc.DEMO) + "/" + c.get("id").asText(), bob);
        }
        grant("bob", List.of(Vault.CONNECTOR));
        String token = proxyToken("bob");
        Http.Response r = get(proxy + "/userinfo", token);
        assertEquals(403, r.status(), r.body());
        assertEquals("connection_required", r.json().get("error").asText());
        Http.Response ex = vaultExchange(token, "calendar-agent", null);
        assertEquals(400, ex.status(), ex.body());
        assertEquals("connection_required", ex.json().get("error").asText());
        assertEquals(r.json().get("connect_uri").asText(), ex.json().get("connect_uri").asText());
        String connect = r.json().get("connect_uri").asText();
        assertTrue(connect.startsWith(connectorUri + "/connect?client_id=calendar-agent"), connect);
        // what an agent polls while the user connects: the same refusal and link, until the account is there
        Http.Response waiting = get(connectorUri + "/connection", token);
        assertEquals(403, waiting.status(), waiting.body());
        assertEquals("connection_required", waiting.json().get("error").asText(), waiting.body());
        assertEquals(connect, waiting.json().get("connect_uri").asText(), waiting.body());

        // the user opens the link as it is: sign in, confirm, sign in upstream, a page that says it worked
        try (Browser b = new Browser()) {
            Page p = b.page();
            p.navigate(connect);
            p.locator("#username").fill("bob");
            p.locator("#password").fill("bob");
            p.locator("#kc-login").click();
            p.locator("#kc-agent-connect-form").waitFor();
            assertTrue(p.locator("#agent-connect-request").innerText().contains("Calendar Agent"), p.locator("#agent-connect-request").innerText());
            p.locator("#kc-agent-connect-allow").click();
            p.waitForURL(u -> u.contains("/realms/" + Vault.UPSTREAM + "/"));
            Vault.upstreamLogin(p, "bob-cal");
            p.locator("#agent-connect-result-message").waitFor();
            assertTrue(p.locator("#agent-connect-result-message").innerText().contains("bob-cal"), p.content());
            System.out.println("[browser] screenshot " + b.screenshot("proxy-connect-done"));
        }
        Http.Response connected = get(connectorUri + "/connection", token);
        assertEquals(200, connected.status(), connected.body());
        assertEquals("bob-cal", connected.json().get("account").asText(), connected.body());
        Http.Response again = get(proxy + "/userinfo", token);
        assertEquals(200, again.status(), again.body());
        assertEquals("bob-cal", again.json().get("preferred_username").asText());
        assertEquals(connected.json().get("connection_id").asText(), again.header("X-Connection-Id"));
    }
}
