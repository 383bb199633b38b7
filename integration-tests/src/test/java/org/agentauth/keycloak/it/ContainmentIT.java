package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the attacker did (issue 12, findings 1, 2, 4, 5, 7), repeated on the real server: every kind of token carrying
 * {@code act} or {@code may_act} — from the exchange, the {@code requested_actor} code flow, a refresh, a chain, and
 * consent by scope — of a normal user (alice) and of a realm admin (agent-admin, who holds realm-management roles) is
 * refused by Keycloak's Account REST API (read and write), its Admin REST API and the extension's own APIs; rebuilt
 * and introspected claims never exceed the token's; an agent's actor-less exchange is refused; a refresh never widens
 * the scope; a refused refresh leaves the refresh token usable. Each test first shows that the same call with the
 * user's own token succeeds, so a refusal is the containment and not a broken call.
 */
@Order(12)
@ExtendWith(KeycloakServerExtension.class)
class ContainmentIT {

    static final String TE = "urn:ietf:params:oauth:grant-type:token-exchange";
    static final String AT = "urn:ietf:params:oauth:token-type:access_token";
    static final String RT = "urn:ietf:params:oauth:token-type:refresh_token";
    static final String HOST = "agent-host";
    static final String AGENT = "calendar-agent";
    static final String MCP = "http://localhost:3000/mcp";
    static final String API = "https://api.containment-it.example/v1";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Delegations dlg;
    private final DemoUsers users;
    private final AgentFlows flows;
    private final Http http = new Http();

    ContainmentIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.dlg = new Delegations(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
    }

    @AfterEach
    void cleanUp() {
        for (String u : List.of("alice", "agent-admin")) {
            dlg.revokeAll(u);
        }
    }

    // ---------------------------------------------------------------- helpers

    private String realmUrl() {
        return server.realmUrl(Oidc.DEMO);
    }

    private Http.Response exchange(String requester, Form form) {
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), form.list(), Http.basic(requester, requester + "-secret"));
    }

    private Form delegation(String subject, String actor, String... extra) {
        Form f = Form.of("grant_type", TE, "subject_token", subject, "subject_token_type", AT);
        if (actor != null) {
            f.add("actor_token", actor).add("actor_token_type", AT);
        }
        for (int i = 0; i < extra.length; i += 2) {
            f.add(extra[i], extra[i + 1]);
        }
        return f;
    }

    /** A delegated token response for {@code user}: calendar-agent exchanges the user's agent-host token. */
    private JsonNode exchanged(String user, String... extra) {
        return exchangedBy(AGENT, user, extra);
    }

    /** The same, requested by {@code requester} (the agent, or the host: DESIGN section 3 rule 4). */
    private JsonNode exchangedBy(String requester, String user, String... extra) {
        dlg.grant(user, AGENT, HOST, List.of("openid", "profile", "email"), List.of("research-agent"));
        Http.Response r = exchange(requester, delegation(users.loginToHost(user, user, "openid profile email").get("access_token").asText(),
                flows.agentToken(AGENT), extra));
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    private Http.Response account(String method, String path, String bearer, String jsonBody) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(realmUrl() + "/account" + path))
                .header("Authorization", "Bearer " + bearer).header("Accept", "application/json");
        if (jsonBody != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(jsonBody));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return http.send(b);
    }

    private String firstName(String user) {
        Http.Response r = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/users/" + dlg.userId(user), oidc.adminToken());
        assertEquals(200, r.status(), r.body());
        return r.json().path("firstName").asText();
    }

    private static void refused(Http.Response r, String what) {
        assertTrue(r.status() == 401 || r.status() == 403, what + ": expected 401/403, got " + r.status() + " " + r.body());
    }

    /**
     * Every API of Keycloak's and ours that a delegated or may_act token must not reach. {@code admin} says whether the
     * token's user holds realm-management roles (the admin API calls are then made too with the user's own token first).
     */
    private void assertContained(String label, String token, String user) {
        String before = firstName(user);
        refused(account("GET", "/", token, null), label + " GET /account/");
        refused(account("POST", "/", token, "{\"username\":\"" + user + "\",\"firstName\":\"Mallory\"}"), label + " POST /account/");
        refused(account("GET", "/credentials", token, null), label + " GET /account/credentials");
        refused(account("GET", "/sessions", token, null), label + " GET /account/sessions");
        refused(account("GET", "/applications", token, null), label + " GET /account/applications");
        assertEquals(before, firstName(user), label + ": the first name was not changed");

        String admin = server.baseUrl() + "/admin/realms/" + Oidc.DEMO;
        refused(http.get(admin + "/users", token), label + " GET admin users");
        String username = "mallory-" + System.nanoTime();
        refused(http.postJson(admin + "/users", token, Map.of("username", username, "enabled", true)), label + " POST admin users");
        assertEquals(0, http.get(admin + "/users?exact=true&username=" + username, oidc.adminToken()).json().size(),
                label + ": no user was created");
        refused(http.get(admin + "/agent-auth/agents", token), label + " GET extension admin agents");
        refused(http.get(admin + "/agent-auth/delegations?agent=" + AGENT, token), label + " GET extension admin delegations");
        Http.Response own = http.get(realmUrl() + "/agent-auth/account/delegations", token);
        assertEquals(403, own.status(), label + " extension account API: " + own);

        // introspection (by the agent) never shows more than the token carries: no account / realm-management
        Http.Response intro = new Http().postForm(realmUrl() + "/protocol/openid-connect/token/introspect",
                Form.of("token", token).list(), Http.basic(AGENT, AGENT + "-secret"));
        assertEquals(200, intro.status(), intro.body());
        if (intro.json().path("active").asBoolean()) {
            assertNoKeycloakClients(label + " introspection", intro.json());
        }
        assertNoKeycloakClients(label + " token", Oidc.claims(token));
    }

    private static void assertNoKeycloakClients(String label, JsonNode claims) {
        Set<String> aud = Oidc.audience(claims);
        assertFalse(aud.contains("account") || aud.contains("realm-management"), label + " aud " + aud);
        JsonNode ra = claims.path("resource_access");
        assertTrue(ra.path("account").isMissingNode() && ra.path("realm-management").isMissingNode(),
                label + " resource_access " + ra);
    }

    /** Shows the calls succeed with the user's own token: the refusals above are containment, not broken calls. */
    private void assertUserOwnTokenWorks(String user, boolean realmAdmin) {
        String own = users.loginToHost(user, user, "openid profile email").get("access_token").asText();
        assertEquals(200, account("GET", "/", own, null).status(), "the user's own token reads the Account API");
        if (realmAdmin) {
            assertEquals(200, http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/users", own).status(),
                    "agent-admin's own token reads the Admin API");
        }
    }

    // ---------------------------------------------------------------- finding 1: delegated tokens

    @Test
    void exchangedTokensOfUserAndRealmAdminReachNoKeycloakApi() {
        assertUserOwnTokenWorks("alice", false);
        assertUserOwnTokenWorks("agent-admin", true);
        for (String user : List.of("alice", "agent-admin")) {
            JsonNode narrow = exchanged(user, "scope", "openid");
            assertTrue(Oidc.claims(narrow.get("access_token").asText()).has("act"));
            assertContained(user + " exchange scope=openid", narrow.get("access_token").asText(), user);
            JsonNode full = exchanged(user, "requested_token_type", RT);
            assertContained(user + " exchange", full.get("access_token").asText(), user);

            // the refreshed delegated token
            Http.Response refreshed = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                    "refresh_token", full.get("refresh_token").asText()).list(), Http.basic(AGENT, AGENT + "-secret"));
            assertEquals(200, refreshed.status(), refreshed.body());
            assertContained(user + " refreshed exchange", refreshed.json().get("access_token").asText(), user);

            // a chain: research-agent acts for calendar-agent acting for the user
            dlg.grant(user, "research-agent", HOST, List.of("openid", "profile"), List.of());
            Http.Response chained = exchange("research-agent", delegation(full.get("access_token").asText(),
                    flows.agentToken("research-agent"), "scope", "openid profile"));
            assertEquals(200, chained.status(), chained.body());
            assertTrue(Oidc.claims(chained.json().get("access_token").asText()).path("act").has("act"), "nested act");
            assertContained(user + " chain", chained.json().get("access_token").asText(), user);
        }
    }

    @Test
    void requestedActorCodeFlowTokensReachNoKeycloakApi() {
        for (String user : List.of("alice", "agent-admin")) {
            dlg.grant(user, AGENT, HOST, List.of("openid", "profile", "email"), List.of());
            JsonNode tokens = flows.delegatedTokens(user, AGENT);
            assertTrue(Oidc.claims(tokens.get("access_token").asText()).has("act"));
            assertContained(user + " requested_actor code", tokens.get("access_token").asText(), user);
            Http.Response refreshed = flows.refresh(tokens.get("refresh_token").asText());
            assertEquals(200, refreshed.status(), refreshed.body());
            assertContained(user + " requested_actor refresh", refreshed.json().get("access_token").asText(), user);
        }
    }

    // ---------------------------------------------------------------- finding 4: may_act tokens

    private JsonNode mcpTokens(String user, String scope, String resource) {
        Pkce pkce = Pkce.create();
        Form f = Form.of("client_id", "mcp-client", "redirect_uri", DemoUsers.REDIRECT, "response_type", "code", "scope", scope,
                "state", "st-c", "code_challenge", pkce.challenge(), "code_challenge_method", "S256");
        if (resource != null) {
            f.add("resource", resource);
        }
        Http browser = new Http();
        Http.Response r = flows.open(browser, oidc.authUrl(Oidc.DEMO, f.list()), user);
        if (AgentFlows.isConsentPage(r)) {
            r = flows.decide(browser, r, "allow");
        }
        assertEquals(302, r.status(), r.toString());
        String code = Oidc.params(r.location()).get("code");
        assertNotNull(code, r.location());
        Http.Response t = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "authorization_code", "code", code,
                "redirect_uri", DemoUsers.REDIRECT, "code_verifier", pkce.verifier(), "client_id", "mcp-client").list());
        assertEquals(200, t.status(), t.toString());
        return t.json();
    }

    @Test
    void mayActTokensReachNoKeycloakApi() {
        for (String user : List.of("alice", "agent-admin")) {
            for (String resource : new String[] {null, MCP}) {
                JsonNode tokens = mcpTokens(user, "openid delegation:client:" + AGENT, resource);
                JsonNode claims = Oidc.claims(tokens.get("access_token").asText());
                assertEquals(AGENT, claims.path("may_act").path("client_id").asText(), claims.toString());
                String label = user + " may_act" + (resource == null ? "" : " resource");
                assertContained(label, tokens.get("access_token").asText(), user);
                Http.Response refreshed = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                        "refresh_token", tokens.get("refresh_token").asText(), "client_id", "mcp-client").list());
                assertEquals(200, refreshed.status(), refreshed.body());
                assertTrue(Oidc.claims(refreshed.json().get("access_token").asText()).has("may_act"));
                assertContained(label + " refreshed", refreshed.json().get("access_token").asText(), user);
            }
        }
    }

    // ---------------------------------------------------------------- finding 2: an agent without actor_token

    @Test
    void agentCannotExchangeAUserTokenWithoutActorToken() {
        // mcp-client logs alice in for the MCP server's URI (no delegation scope, no grant) ...
        JsonNode tokens = mcpTokens("alice", "openid", MCP);
        assertEquals(Set.of(MCP), Oidc.audience(Oidc.claims(tokens.get("access_token").asText())));
        // ... and the agent that owns that URI tries Keycloak's standard exchange: refused, it must act by delegation
        for (String[] extra : List.of(new String[0], new String[] {"resource", MCP}, new String[] {"audience", AGENT})) {
            Http.Response r = exchange(AGENT, delegation(tokens.get("access_token").asText(), null, extra));
            DelegationExchangeIT.assertError(r, 400, "invalid_request");
            assertTrue(r.json().get("error_description").asText().contains("actor_token"), r.body());
        }
        // with a grant and actor_token it is the ordinary, contained delegation
        dlg.grant("alice", AGENT, "mcp-client", List.of("openid", "profile", "email"), List.of());
        Http.Response ok = exchange(AGENT, delegation(tokens.get("access_token").asText(), flows.agentToken(AGENT)));
        assertEquals(200, ok.status(), ok.body());
        assertContained("alice mcp exchange", ok.json().get("access_token").asText(), "alice");
    }

    @Test
    void resourceServerStandardExchangeNeverGainsKeycloakClientsOrMore() {
        // plain-service (not an agent) becomes a resource server for an API URI that mcp-client may ask for
        String api = API;
        Map<String, String> old = dlg.setAttributes("plain-service", Map.of("agent_auth.resource_uris", api,
                "standard.token.exchange.enabled", "true"));
        try {
            JsonNode tokens = mcpTokens("agent-admin", "openid", api);
            JsonNode subject = Oidc.claims(tokens.get("access_token").asText());
            Http.Response r = exchange("plain-service", delegation(tokens.get("access_token").asText(), null));
            assertEquals(200, r.status(), r.body());
            JsonNode issued = Oidc.claims(r.json().get("access_token").asText());
            assertNoKeycloakClients("resource server exchange", issued);
            Set<String> subjectScope = Set.of(subject.path("scope").asText().split(" "));
            for (String s : issued.path("scope").asText().split(" ")) {
                assertTrue(s.isEmpty() || subjectScope.contains(s), "scope " + s + " not in the subject's " + subjectScope);
            }
            List<String> subjectRealmRoles = new ArrayList<>();
            subject.path("realm_access").path("roles").forEach(n -> subjectRealmRoles.add(n.asText()));
            issued.path("realm_access").path("roles").forEach(n -> assertTrue(subjectRealmRoles.contains(n.asText()),
                    "realm role " + n + " not carried by the subject token"));
        } finally {
            dlg.setAttributes("plain-service", old);
        }
    }

    // ---------------------------------------------------------------- findings 5 and 7: refresh

    @Test
    void refreshNeverWidensTheExchangedScope() {
        // agent-host has profile and email as default scopes, which Keycloak re-adds at refresh
        for (String requester : List.of(HOST, AGENT)) {
            JsonNode narrow = exchangedBy(requester, "alice", "scope", "openid", "requested_token_type", RT);
            assertEquals(Set.of("openid"), Set.of(Oidc.claims(narrow.get("access_token").asText()).path("scope").asText().split(" ")));
            String rt = narrow.get("refresh_token").asText();
            for (int i = 0; i < 2; i++) {
                Http.Response r = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                        "refresh_token", rt).list(), Http.basic(requester, requester + "-secret"));
                assertEquals(200, r.status(), r.body());
                JsonNode at = Oidc.claims(r.json().get("access_token").asText());
                assertEquals(Set.of("openid"), Set.of(at.path("scope").asText().split(" ")), requester + " refresh " + i + ": " + at);
                assertFalse(at.has("email"), "no email claim after refresh: " + at);
                rt = r.json().get("refresh_token").asText();
            }
        }
    }

    @Test
    void userinfoAnswersWithinTheDelegatedTokensScope() {
        String userinfo = realmUrl() + "/protocol/openid-connect/userinfo";
        JsonNode narrow = exchanged("alice", "scope", "openid", "requested_token_type", RT);
        Http.Response r = http.get(userinfo, narrow.get("access_token").asText());
        assertEquals(200, r.status(), r.body());
        assertFalse(r.json().has("email") || r.json().has("preferred_username") || r.json().has("name"),
                "userinfo within scope=openid: " + r.body());
        Http.Response refreshed = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                "refresh_token", narrow.get("refresh_token").asText()).list(), Http.basic(AGENT, AGENT + "-secret"));
        assertEquals(200, refreshed.status(), refreshed.body());
        Http.Response r2 = http.get(userinfo, refreshed.json().get("access_token").asText());
        assertEquals(200, r2.status(), r2.body());
        assertFalse(r2.json().has("email"), "userinfo after refresh: " + r2.body());
        // the same exchange with the email scope does show it: the check above can fail
        JsonNode wide = exchanged("alice", "scope", "openid email");
        Http.Response r3 = http.get(userinfo, wide.get("access_token").asText());
        assertEquals(200, r3.status(), r3.body());
        assertTrue(r3.json().has("email"), r3.body());
    }

    @Test
    void refusedRefreshLeavesTheRefreshTokenUsable() {
        // plain-service is a resource server for API (any client may ask); calendar-agent may be delegated to it
        Map<String, String> old = dlg.setAttributes("plain-service", Map.of("agent_auth.resource_uris", API));
        try {
            JsonNode tokens = exchanged("alice", "requested_token_type", RT, "resource", API);
            assertEquals(Set.of(API), Oidc.audience(Oidc.claims(tokens.get("access_token").asText())));
            String rt = tokens.get("refresh_token").asText();
            Http.Response bad = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                    "refresh_token", rt, "resource", "https://not-authorized.example/api").list(), Http.basic(AGENT, AGENT + "-secret"));
            DelegationExchangeIT.assertError(bad, 400, "invalid_target");
            Http.Response good = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                    "refresh_token", rt).list(), Http.basic(AGENT, AGENT + "-secret"));
            assertEquals(200, good.status(), "the refresh token is still usable after the refused refresh: " + good.body());
            assertEquals(Set.of(API), Oidc.audience(Oidc.claims(good.json().get("access_token").asText())));

            // the same for a plain (non-delegated) refresh token of mcp-client bound to a resource
            JsonNode plain = mcpTokens("alice", "openid", API);
            Http.Response bad2 = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                    "refresh_token", plain.get("refresh_token").asText(), "client_id", "mcp-client",
                    "resource", "https://not-authorized.example/api").list());
            DelegationExchangeIT.assertError(bad2, 400, "invalid_target");
            Http.Response good2 = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                    "refresh_token", plain.get("refresh_token").asText(), "client_id", "mcp-client").list());
            assertEquals(200, good2.status(), good2.body());
        } finally {
            dlg.setAttributes("plain-service", old);
        }
    }
}
