package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import com.microsoft.playwright.Page;
import jakarta.mail.internet.MimeMessage;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Headless agents (issue 24, DESIGN section 12): {@code calendar-agent}, with no browser, asks for a user's approval over
 * CIBA ({@code requested_actor}, binding message, {@code authorization_details}, a connector resource); the approval
 * channel built into the JAR e-mails the user (GreenMail, a real SMTP server in this JVM) and lists the request on the
 * self-service page; the user approves in Chromium from the e-mail's link; the agent's poll with its actor token gets a
 * delegated token. Plus every refusal at the backchannel endpoint (400, never 503; parameters named like claims of the
 * {@code auth_req_id} included), at the token endpoint, another user on the page, Deny, expiry, parallel polls, and a
 * plain CIBA request (a client that is no agent) that gets Keycloak's own token. Each test uses fresh users.
 * Screenshots: target/screenshots/ciba-*.png.
 */
@Order(45)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(KeycloakServerExtension.class)
class CibaIT {

    static final String AGENT = "calendar-agent";
    static final String AGENT_SECRET = "calendar-agent-secret";
    static final String CIBA_GRANT = "urn:openid:params:grant-type:ciba";
    static final String ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
    static final Pattern LINK = Pattern.compile("https?://[^\\s\"<>]+/agent-auth/account/approvals/[A-Za-z0-9-]+");

    private final KeycloakServer server;
    private final Oidc oidc;
    private final DemoUsers users;
    private final Http http = new Http();
    private final String family = "ciba" + UUID.randomUUID().toString().substring(0, 6);
    private final List<String> created = new ArrayList<>();
    private final List<String> createdClients = new ArrayList<>();
    private GreenMail mail;

    CibaIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.users = new DemoUsers(server);
    }

    @BeforeAll
    void smtp() {
        mail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP).dynamicPort());
        mail.start();
        Map<String, Object> smtp = Map.of("host", "127.0.0.1", "port", Integer.toString(mail.getSmtp().getPort()),
                "from", "keycloak@example.com");
        setRealm(Map.of("smtpServer", smtp));
    }

    @AfterAll
    void cleanUp() {
        setRealm(Map.of("smtpServer", Map.of()));
        for (String id : created) {
            http.delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/users/" + id, admin());
        }
        for (String id : createdClients) {
            http.delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + id, admin());
        }
        if (mail != null) {
            mail.stop();
        }
    }

    // ------------------------------------------------------------------------------------------------ the whole story

    @Test
    void agentWithoutBrowserGetsDelegatedTokenAfterApprovalFromTheEmail() throws Exception {
        String user = freshUser("story");
        String connector = server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/demo-calendar";
        String details = "[{\"type\":\"agent_action\",\"description\":\"Read tomorrow's meetings and draft a summary for you <b>now</b>\"}]";
        mail.purgeEmailFromAllMailboxes();
        Http.Response req = backchannel(AGENT, AGENT_SECRET, Oidc.Form.of("login_hint", user, "scope", "openid profile",
                "requested_actor", AGENT, "binding_message", "CAL-4711", "authorization_details", details, "resource", connector));
        assertEquals(200, req.status(), req.toString());
        String authReqId = req.json().get("auth_req_id").asText();
        assertTrue(req.json().get("expires_in").asInt() > 0);
        assertEquals("no-store", req.header("Cache-Control"));

        // pending: slow_down or authorization_pending, never a token
        Http.Response early = poll(AGENT, AGENT_SECRET, authReqId, actorToken());
        assertEquals(400, early.status(), early.toString());
        assertTrue(Set.of("authorization_pending", "slow_down").contains(early.json().get("error").asText()), early.body());

        // the e-mail: to the user, names the agent, links to the page; no token, no auth_req_id
        assertTrue(mail.waitForIncomingEmail(15_000, 1), "no e-mail arrived");
        MimeMessage m = mail.getReceivedMessages()[0];
        assertEquals(user + "@" + family + ".example.com", m.getAllRecipients()[0].toString());
        String body = GreenMailUtil.getBody(m);
        String subject = m.getSubject();
        assertTrue(subject.contains("Calendar"), subject);
        assertFalse(body.contains("eyJ") || subject.contains("eyJ"), "a token in the e-mail");
        assertFalse(body.contains(authReqId.substring(0, 20)), "the auth_req_id in the e-mail");
        assertTrue(body.contains("CAL-4711"), body);
        Matcher link = LINK.matcher(body.replace("=\r\n", "").replace("=3D", "="));
        assertTrue(link.find(), body);
        String approvalUrl = link.group();

        // the self-service page lists it; the e-mail's link leads to the approval page after signing in as the user
        try (Browser browser = new Browser()) {
            Page p = browser.page();
            p.navigate(approvalUrl);
            p.locator("#kc-login").waitFor();
            assertEquals(user, p.locator("#username").inputValue(), "login_hint fills in the user");
            login(p, user);
            p.locator("#kc-agent-consent-form").waitFor();
            String text = p.locator("#agent-consent").innerText();
            assertTrue(text.contains("CAL-4711"), text);
            // shown as text, never as markup: the description is the agent's own words
            assertTrue(text.contains("Read tomorrow's meetings and draft a summary for you <b>now</b>"), text);
            assertEquals(0, p.locator("#agent-approval-description b").count());
            assertTrue(p.locator("#agent-consent-agent-name").innerText().contains("Calendar"), text);
            assertTrue(p.locator("#agent-consent-resource").innerText().contains("agent-auth/connectors/demo-calendar"), text);
            browser.screenshot("ciba-approval");

            p.navigate(server.realmUrl(Oidc.DEMO) + "/agent-auth/account/");
            p.locator("#agent-account-approvals").waitFor();
            assertTrue(p.locator("#agent-account-approvals").innerText().contains("CAL-4711"));
            browser.screenshot("ciba-self-service");
            p.locator(".agent-account-approval-open").first().click();
            p.locator("#kc-agent-allow").click();
            p.locator("#agent-connect-result-message").waitFor();
            assertTrue(p.locator("#agent-connect-result-message").innerText().contains("Approved"), p.content());
            browser.screenshot("ciba-approved");

            // decided: the page no longer offers it
            p.navigate(approvalUrl);
            assertTrue(p.locator("#agent-connect-result-message").innerText().contains("already decided"));
        }

        // the poll with the agent's actor token: a delegated token for the connector
        JsonNode tokens = pollUntilIssued(AGENT, AGENT_SECRET, authReqId);
        JsonNode at = Oidc.claims(tokens.get("access_token").asText());
        assertEquals(AGENT, at.at("/act/client_id").asText(), at.toString());
        assertEquals(users.userId(admin(), user), at.get("sub").asText());
        assertTrue(Oidc.audience(at).contains(connector), at.toString());
        assertFalse(at.get("scope").asText().contains("email"), "the grant covers openid profile only: " + at);
        // contained like every delegated token: Keycloak's account and admin APIs refuse it, /userinfo shows the grant's claims
        String delegated = tokens.get("access_token").asText();
        for (String api : List.of(server.realmUrl(Oidc.DEMO) + "/account/", server.realmUrl(Oidc.DEMO) + "/account/sessions",
                server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/users?max=1")) {
            Http.Response r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(api))
                    .header("Authorization", "Bearer " + delegated).header("Accept", "application/json").GET());
            assertTrue(r.status() == 401 || r.status() == 403, api + ": " + r);
        }
        Http.Response userinfo = http.get(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/userinfo", delegated);
        if (userinfo.status() == 200) {
            assertFalse(userinfo.json().has("email"), "email is outside the grant: " + userinfo.body());
        } else {
            assertEquals(401, userinfo.status(), userinfo.toString()); // the connector's aud is not the realm's userinfo
        }
        // single use
        Http.Response again = poll(AGENT, AGENT_SECRET, authReqId, actorToken());
        assertEquals(400, again.status(), again.toString());
        assertEquals("invalid_grant", again.json().get("error").asText());

        // refreshable per the agent's policy, still delegated
        assertTrue(tokens.hasNonNull("refresh_token"), tokens.toString());
        Http.Response refreshed = http.postForm(oidc.tokenEndpoint(Oidc.DEMO), Oidc.Form.of("grant_type", "refresh_token",
                "refresh_token", tokens.get("refresh_token").asText()).list(), Http.basic(AGENT, AGENT_SECRET));
        assertEquals(200, refreshed.status(), refreshed.toString());
        assertEquals(AGENT, Oidc.claims(refreshed.json().get("access_token").asText()).at("/act/client_id").asText());

        // the grant: origin ciba, host = the CIBA client
        String userId = users.userId(admin(), user);
        JsonNode grants = http.get(users.grantsUrl(userId), admin()).json();
        assertEquals(1, grants.size(), grants.toString());
        assertEquals("ciba", grants.get(0).get("origin").asText(), grants.toString());

        // events: the request, the decision and the token, each naming agent, host and binding message; never a token
        Http.Response ev = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/events?user=" + userId + "&max=100", admin());
        assertEquals(200, ev.status(), ev.toString());
        assertFalse(ev.body().contains("eyJ"), "a token in the events");
        assertFalse(ev.body().contains(authReqId.substring(0, 40)), "the auth_req_id in the events");
        Map<String, JsonNode> byType = new LinkedHashMap<>();
        for (JsonNode e : ev.json()) {
            byType.putIfAbsent(e.get("type").asText(), e.get("details"));
        }
        for (String type : List.of("OAUTH2_DEVICE_AUTH", "GRANT_CONSENT", "AUTHREQID_TO_TOKEN")) {
            JsonNode d = byType.get(type);
            assertNotNull(d, type + " missing: " + byType.keySet());
            assertEquals(AGENT, d.path("agent").asText(), type + " " + d);
            assertEquals(AGENT, d.path("host").asText(), type + " " + d);
            assertEquals("CAL-4711", d.path("binding_message").asText(), type + " " + d);
        }
        assertEquals("ciba", byType.get("GRANT_CONSENT").path("origin").asText());

        // introspection of the CIBA refresh token by the agent: active and delegated while the grant is; once the user
        // revokes the grant, inactive, and a refresh is refused
        String rt = refreshed.json().get("refresh_token").asText();
        JsonNode in = introspect(rt);
        assertTrue(in.path("active").asBoolean(), in.toString());
        assertEquals(AGENT, in.at("/act/client_id").asText(), in.toString());
        assertEquals(1, grants.size());
        assertEquals(204, http.delete(users.grantsUrl(userId) + "/" + grants.get(0).get("id").asText(), admin()).status());
        assertFalse(introspect(rt).path("active").asBoolean(), "the refresh token of a revoked grant is inactive");
        Http.Response afterRevoke = http.postForm(oidc.tokenEndpoint(Oidc.DEMO), Oidc.Form.of("grant_type", "refresh_token",
                "refresh_token", rt).list(), Http.basic(AGENT, AGENT_SECRET));
        assertEquals(400, afterRevoke.status(), afterRevoke.toString());
        assertEquals("invalid_grant", afterRevoke.json().path("error").asText(), afterRevoke.body());
    }

    /** The agent introspects a refresh token of its own (Keycloak lets a client introspect what it is audience of). */
    private JsonNode introspect(String refreshToken) {
        Http.Response r = http.postForm(oidc.tokenEndpoint(Oidc.DEMO) + "/introspect", Oidc.Form.of("token", refreshToken,
                "token_type_hint", "refresh_token").list(), Http.basic(AGENT, AGENT_SECRET));
        assertEquals(200, r.status(), r.toString());
        return r.json();
    }

    // ------------------------------------------------------------------------------------------------ refusals

    @Test
    void backchannelRefusalsAre400WithTheirErrorNever503() {
        String user = freshUser("refuse");
        String connector = server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/demo-calendar";
        Map<String, String[]> cases = new LinkedHashMap<>();
        cases.put("invalid_request:sub", new String[] {"sub", "00000000-0000-0000-0000-000000000000"});
        cases.put("invalid_request:jti", new String[] {"jti", "x"});
        cases.put("invalid_request:agent_auth_actor", new String[] {"agent_auth_actor", AGENT});
        cases.put("invalid_request:unknown agent", new String[] {"requested_actor", "no-such-agent"});
        cases.put("invalid_request:host not allowed", new String[] {"requested_actor", "research-agent"});
        cases.put("invalid_authorization_details:type", new String[] {"requested_actor", AGENT, "authorization_details", "[{\"type\":\"payment\"}]"});
        cases.put("invalid_authorization_details:json", new String[] {"requested_actor", AGENT, "authorization_details", "not json"});
        cases.put("invalid_target:connector without agent", new String[] {"resource", connector});
        cases.put("invalid_target:unknown resource", new String[] {"requested_actor", AGENT, "resource", "https://elsewhere.example.com/api"});
        cases.put("invalid_request:repeated actor", new String[] {"requested_actor", AGENT, "requested_actor", "research-agent"});
        cases.put("invalid_request:max_age", new String[] {"requested_actor", AGENT, "max_age", "soon"});
        cases.put("invalid_scope:offline_access", new String[] {"requested_actor", AGENT, "scope", "openid offline_access"});
        // six unknown parameters before requested_actor: Keycloak would keep five of them; ours still sees the agent
        cases.put("invalid_request:seven parameters", new String[] {"a1", "1", "a2", "2", "a3", "3", "a4", "4", "a5", "5", "a6", "6",
                "requested_actor", "no-such-agent"});
        for (Map.Entry<String, String[]> c : cases.entrySet()) {
            Oidc.Form form = Oidc.Form.of("login_hint", user, "binding_message", "X-1");
            boolean scopeGiven = false;
            for (int i = 0; i < c.getValue().length; i += 2) {
                form.add(c.getValue()[i], c.getValue()[i + 1]);
                scopeGiven |= c.getValue()[i].equals("scope");
            }
            if (!scopeGiven) {
                form.add("scope", "openid");
            }
            Http.Response r = backchannel(AGENT, AGENT_SECRET, form);
            String expected = c.getKey().substring(0, c.getKey().indexOf(':'));
            assertEquals(400, r.status(), c.getKey() + ": " + r);
            assertEquals(expected, r.json().get("error").asText(), c.getKey() + ": " + r.body());
            assertTrue(r.json().hasNonNull("error_description"), c.getKey());
        }
        // nothing was stored for the user
        assertNull(pendingOnPage(user), "a refused request was stored");
    }

    @Test
    void tokenEndpointRefusesMissingWrongAndMisplacedActorTokens() {
        String user = freshUser("token");
        String authReqId = request(user, "T-1");
        Http.Response missing = poll(AGENT, AGENT_SECRET, authReqId, null);
        assertEquals(400, missing.status(), missing.toString());
        assertEquals("invalid_request", missing.json().get("error").asText(), missing.body());
        Http.Response wrong = poll(AGENT, AGENT_SECRET, authReqId,
                oidc.clientCredentials(Oidc.DEMO, "research-agent", "research-agent-secret").json().get("access_token").asText());
        assertEquals(400, wrong.status(), wrong.toString());
        assertEquals("invalid_grant", wrong.json().get("error").asText(), wrong.body());
        // neither used the request up: the right actor token still gets Keycloak's pending answer
        Http.Response right = poll(AGENT, AGENT_SECRET, authReqId, actorToken());
        assertTrue(Set.of("authorization_pending", "slow_down").contains(right.json().get("error").asText()), right.body());
    }

    // ------------------------------------------------------------------------------------------------ the page

    @Test
    void anotherUserCannotDecideDenyIsAccessDeniedAndParallelPollsGetOneToken() throws Exception {
        String owner = freshUser("owner");
        String other = freshUser("other");
        String denied = request(owner, "D-1");
        String approved = request(owner, "A-1");
        List<String> links = pendingLinks(owner);
        assertEquals(2, links.size(), links.toString());
        try (Browser browser = new Browser()) {
            Page p = browser.page();
            // the other user signs in (the page hints the owner; they type their own name)
            p.navigate(links.get(0));
            p.locator("#kc-login").waitFor();
            login(p, other);
            p.locator("#agent-connect-result-message").waitFor();
            assertTrue(p.locator("#agent-connect-result-message").innerText().contains("another account"), p.content());
            browser.screenshot("ciba-other-user");
        }
        // still pending for the owner
        assertEquals(2, pendingLinks(owner).size());
        Http.Response stillPending = pollAfterInterval(denied);
        assertEquals("authorization_pending", stillPending.json().get("error").asText(), stillPending.body());

        try (Browser browser = new Browser()) {
            Page p = browser.page();
            p.navigate(links.get(0));
            p.locator("#kc-login").waitFor();
            login(p, owner);
            String first = p.locator("#agent-approval-binding").innerText();
            p.locator(first.contains("D-1") ? "#kc-agent-deny" : "#kc-agent-allow").click();
            p.locator("#agent-connect-result-message").waitFor();
            p.navigate(links.get(1));
            p.locator(first.contains("D-1") ? "#kc-agent-allow" : "#kc-agent-deny").click();
            p.locator("#agent-connect-result-message").waitFor();
        }
        Http.Response no = pollAfterInterval(denied);
        assertEquals("access_denied", no.json().get("error").asText(), no.body());

        // eight parallel polls of the approved request: exactly one token, no 5xx
        Thread.sleep(5_500);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Http.Response>> polls = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                String actor = actorToken();
                polls.add(() -> poll(AGENT, AGENT_SECRET, approved, actor));
            }
            int tokens = 0;
            Set<String> errors = new HashSet<>();
            for (Future<Http.Response> f : pool.invokeAll(polls)) {
                Http.Response r = f.get();
                assertTrue(r.status() < 500, r.toString());
                if (r.status() == 200) {
                    tokens++;
                } else {
                    errors.add(r.json().get("error").asText());
                }
            }
            assertEquals(1, tokens, "errors: " + errors);
            assertTrue(Set.of("slow_down", "invalid_grant").containsAll(errors), errors.toString());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void plainCibaClientIsApprovedOnTheSamePageAndGetsKeycloaksOwnToken() throws Exception {
        String user = freshUser("plain");
        String clientId = "ciba-plain-" + family;
        Map<String, Object> client = Map.of("clientId", clientId, "name", "Plain CIBA app", "secret", "plain-secret",
                "publicClient", false, "standardFlowEnabled", false, "attributes", Map.of("oidc.ciba.grant.enabled", "true"));
        Http.Response c = http.postJson(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients", admin(), client);
        assertEquals(201, c.status(), c.toString());
        String location = c.location();
        createdClients.add(location.substring(location.lastIndexOf('/') + 1));

        Http.Response req = backchannel(clientId, "plain-secret", Oidc.Form.of("login_hint", user, "scope", "openid", "binding_message", "P-1"));
        assertEquals(200, req.status(), req.toString());
        String authReqId = req.json().get("auth_req_id").asText();
        Http.Response withActor = poll(clientId, "plain-secret", authReqId, actorToken());
        assertEquals("invalid_request", withActor.json().get("error").asText(), withActor.body());
        try (Browser browser = new Browser()) {
            Page p = browser.page();
            p.navigate(pendingLinks(user).get(0));
            p.locator("#kc-login").waitFor();
            login(p, user);
            assertTrue(p.locator("#agent-consent-title").innerText().contains("Plain CIBA app"), p.content());
            assertEquals(0, p.locator("#agent-consent-connectors").count(), "no agent sections for a plain request");
            browser.screenshot("ciba-plain");
            p.locator("#kc-agent-allow").click();
            p.locator("#agent-connect-result-message").waitFor();
        }
        Thread.sleep(5_500);
        Http.Response tokens = poll(clientId, "plain-secret", authReqId, null);
        assertEquals(200, tokens.status(), tokens.toString());
        JsonNode at = Oidc.claims(tokens.json().get("access_token").asText());
        assertFalse(at.has("act"), at.toString());
        assertFalse(at.has("may_act"), at.toString());
        assertEquals(users.userId(admin(), user), at.get("sub").asText());
        // no delegation grant: a plain request is no delegation
        assertEquals(0, http.get(users.grantsUrl(users.userId(admin(), user)), admin()).json().size());
    }

    @Test
    void aRequestThatExpiredIsExpiredTokenAndCannotBeDecided() throws Exception {
        String user = freshUser("expiry");
        // 12 s: long enough for the self-service page to list it on a busy machine, short enough to wait for
        setRealm(Map.of("attributes", Map.of("cibaExpiresIn", "12", "cibaInterval", "1")));
        String authReqId;
        List<String> links;
        try {
            authReqId = request(user, "E-1");
            long requested = System.currentTimeMillis();
            links = pendingLinks(user);
            assertEquals(1, links.size());
            Thread.sleep(Math.max(0, requested + 13_000 - System.currentTimeMillis()));
            Http.Response r = poll(AGENT, AGENT_SECRET, authReqId, actorToken());
            assertEquals(400, r.status(), r.toString());
            assertEquals("expired_token", r.json().get("error").asText(), r.body());
        } finally {
            setRealm(Map.of("attributes", Map.of("cibaExpiresIn", "600", "cibaInterval", "5")));
        }
        // gone from the self-service page; its own page says so and decides nothing
        assertTrue(pendingLinks(user).isEmpty());
        try (Browser browser = new Browser()) {
            Page p = browser.page();
            p.navigate(links.get(0));
            p.locator("#kc-login").waitFor();
            login(p, user);
            p.locator("#agent-connect-result-message").waitFor();
            assertTrue(p.locator("#agent-connect-result-message").innerText().contains("expired"), p.content());
        }
    }

    @Test
    void maxAgeAsksForAFreshSignInAndARevokedGrantRefusesThePoll() throws Exception {
        String user = freshUser("fresh");
        Http.Response req = backchannel(AGENT, AGENT_SECRET, Oidc.Form.of("login_hint", user, "scope", "openid profile",
                "requested_actor", AGENT, "binding_message", "F-1", "max_age", "10"));
        assertEquals(200, req.status(), req.toString());
        String authReqId = req.json().get("auth_req_id").asText();
        try (Browser browser = new Browser()) {
            Page p = browser.page();
            p.navigate(server.realmUrl(Oidc.DEMO) + "/agent-auth/account/");
            p.locator("#kc-login").waitFor();
            login(p, user);
            p.locator("#agent-account-approvals").waitFor();
            Thread.sleep(11_000);
            // the session is older than max_age: signing in again is required before the page shows
            p.locator(".agent-account-approval-open").first().click();
            p.locator("#kc-login").waitFor();
            p.locator("#password").fill(user);
            p.locator("#kc-login").click();
            p.locator("#kc-agent-allow").click();
            p.locator("#agent-connect-result-message").waitFor();
            assertTrue(p.locator("#agent-connect-result-message").innerText().contains("Approved"), p.content());
        }
        // the user revokes the grant before the agent polls: no token
        String userId = users.userId(admin(), user);
        JsonNode grants = http.get(users.grantsUrl(userId), admin()).json();
        assertEquals(1, grants.size(), grants.toString());
        assertEquals(204, http.delete(users.grantsUrl(userId) + "/" + grants.get(0).get("id").asText(), admin()).status());
        Http.Response r = pollAfterInterval(authReqId);
        assertEquals(400, r.status(), r.toString());
        assertEquals("invalid_grant", r.json().get("error").asText(), r.body());
    }

    @Test
    void publicClientsAndPingModeCannotAskForAnAgent() {
        String user = freshUser("modes");
        String pub = "ciba-public-" + family;
        String ping = "ciba-ping-" + family;
        addClient(Map.of("clientId", pub, "publicClient", true, "standardFlowEnabled", false,
                "attributes", Map.of("oidc.ciba.grant.enabled", "true")));
        addClient(Map.of("clientId", ping, "secret", "ping-secret", "publicClient", false, "standardFlowEnabled", false,
                "attributes", Map.of("oidc.ciba.grant.enabled", "true", "ciba.backchannel.token.delivery.mode", "ping",
                        "ciba.backchannel.client.notification.endpoint", "https://ping.example.com/cb")));
        org.agentauth.keycloak.it.support.Delegations dlg = new org.agentauth.keycloak.it.support.Delegations(server);
        Map<String, String> before = dlg.setAttributes(AGENT, Map.of("agent_auth.allowed_hosts", "agent-host mcp-client calendar-agent " + pub + " " + ping));
        try {
            Http.Response p = http.postForm(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/ext/ciba/auth", Oidc.Form.of(
                    "client_id", pub, "login_hint", user, "scope", "openid", "requested_actor", AGENT, "binding_message", "P-2").list());
            assertEquals(400, p.status(), p.toString());
            assertEquals("unauthorized_client", p.json().get("error").asText(), p.body());
            Http.Response g = backchannel(ping, "ping-secret", Oidc.Form.of("login_hint", user, "scope", "openid",
                    "requested_actor", AGENT, "binding_message", "P-3", "client_notification_token", "t-123"));
            assertEquals(400, g.status(), g.toString());
            assertEquals("invalid_request", g.json().get("error").asText(), g.body());
            assertTrue(g.json().get("error_description").asText().contains("poll"), g.body());
        } finally {
            dlg.setAttributes(AGENT, before);
        }
    }

    @Test
    void aCibaTokenAskedWithTheDelegationScopeKeepsMayActWhileItsGrantIsActive() throws Exception {
        String user = freshUser("mayact");
        Http.Response req = backchannel(AGENT, AGENT_SECRET, Oidc.Form.of("login_hint", user,
                "scope", "openid delegation:client:" + AGENT, "binding_message", "M-1"));
        assertEquals(200, req.status(), req.toString());
        String authReqId = req.json().get("auth_req_id").asText();
        try (Browser browser = new Browser()) {
            Page p = browser.page();
            p.navigate(pendingLinks(user).get(0));
            p.locator("#kc-login").waitFor();
            login(p, user);
            assertTrue(p.locator("#agent-consent-title").innerText().contains("Calendar Agent"), p.content());
            p.locator("#kc-agent-allow").click();
            p.locator("#agent-connect-result-message").waitFor();
        }
        Thread.sleep(5_500);
        Http.Response tokens = poll(AGENT, AGENT_SECRET, authReqId, null);
        assertEquals(200, tokens.status(), tokens.toString());
        JsonNode at = Oidc.claims(tokens.json().get("access_token").asText());
        assertFalse(at.has("act"), "consent by scope: the token is the user's, the agent may act with it: " + at);
        assertEquals(AGENT, at.path("may_act").path("client_id").asText(), at.toString());

        String userId = users.userId(admin(), user);
        JsonNode grants = http.get(users.grantsUrl(userId), admin()).json();
        assertEquals("ciba", grants.get(0).get("origin").asText());
        assertEquals(204, http.delete(users.grantsUrl(userId) + "/" + grants.get(0).get("id").asText(), admin()).status());
        Http.Response refreshed = http.postForm(oidc.tokenEndpoint(Oidc.DEMO), Oidc.Form.of("grant_type", "refresh_token",
                "refresh_token", tokens.json().get("refresh_token").asText()).list(), Http.basic(AGENT, AGENT_SECRET));
        if (refreshed.status() == 200) {
            assertNull(Oidc.claims(refreshed.json().get("access_token").asText()).get("may_act"), refreshed.body());
        } else {
            assertEquals(400, refreshed.status(), refreshed.toString());
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** A fresh admin token: the master realm's tokens live a minute, shorter than this class. */
    private String admin() {
        return oidc.adminToken();
    }

    private String freshUser(String name) {
        String username = family + "-" + name;
        users.create(admin(), Oidc.DEMO, username, family);
        created.add(users.userId(admin(), username));
        return username;
    }

    private String request(String user, String binding) {
        Http.Response r = backchannel(AGENT, AGENT_SECRET, Oidc.Form.of("login_hint", user, "scope", "openid profile",
                "requested_actor", AGENT, "binding_message", binding));
        assertEquals(200, r.status(), r.toString());
        return r.json().get("auth_req_id").asText();
    }

    private Http.Response backchannel(String clientId, String secret, Oidc.Form form) {
        return http.postForm(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/ext/ciba/auth", form.list(), Http.basic(clientId, secret));
    }

    private Http.Response poll(String clientId, String secret, String authReqId, String actorToken) {
        Oidc.Form form = Oidc.Form.of("grant_type", CIBA_GRANT, "auth_req_id", authReqId);
        if (actorToken != null) {
            form.add("actor_token", actorToken).add("actor_token_type", ACCESS_TOKEN_TYPE);
        }
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), form.list(), Http.basic(clientId, secret));
    }

    private Http.Response pollAfterInterval(String authReqId) throws InterruptedException {
        Thread.sleep(5_500);
        return poll(AGENT, AGENT_SECRET, authReqId, actorToken());
    }

    private JsonNode pollUntilIssued(String clientId, String secret, String authReqId) throws InterruptedException {
        for (int i = 0; i < 6; i++) {
            Thread.sleep(5_500);
            Http.Response r = poll(clientId, secret, authReqId, actorToken());
            if (r.status() == 200) {
                return r.json();
            }
            assertTrue(Set.of("slow_down", "authorization_pending").contains(r.json().get("error").asText()), r.toString());
        }
        throw new AssertionError("no token after approval");
    }

    private String actorToken() {
        return oidc.clientCredentials(Oidc.DEMO, AGENT, AGENT_SECRET).json().get("access_token").asText();
    }

    /** The approval links the self-service page lists for the user (signing in with a plain HTTP client). */
    private List<String> pendingLinks(String user) {
        List<String> out = new ArrayList<>();
        try (Browser browser = new Browser()) {
            Page p = browser.page();
            p.navigate(server.realmUrl(Oidc.DEMO) + "/agent-auth/account/");
            p.locator("#kc-login").waitFor();
            login(p, user);
            p.locator("#agent-account").waitFor();
            for (Object href : (List<?>) p.evalOnSelectorAll(".agent-account-approval-open", "els => els.map(e => e.href)")) {
                out.add(href.toString());
            }
        }
        return out;
    }

    private String pendingOnPage(String user) {
        List<String> links = pendingLinks(user);
        return links.isEmpty() ? null : links.get(0);
    }

    private void addClient(Map<String, Object> client) {
        Http.Response c = http.postJson(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients", admin(), client);
        assertEquals(201, c.status(), c.toString());
        createdClients.add(c.location().substring(c.location().lastIndexOf('/') + 1));
    }

    private void setRealm(Map<String, Object> changes) {
        Http.Response r = http.putJson(server.baseUrl() + "/admin/realms/" + Oidc.DEMO, admin(), changes);
        assertEquals(204, r.status(), r.toString());
    }

    private static void login(Page p, String user) {
        p.locator("#username").fill(user);
        p.locator("#password").fill(user);
        p.locator("#kc-login").click();
    }
}
