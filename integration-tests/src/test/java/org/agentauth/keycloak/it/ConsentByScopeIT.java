package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Consent by scope {@code delegation:client:<agent>} (DESIGN section 4.6) and the resource rules that an MCP deployment
 * needs around it (DESIGN section 9): mcp-client (public, PKCE) asks for calendar-agent's scope and resource, alice
 * approves on the agent consent screen, the token carries {@code may_act} and {@code aud} = the MCP server's URI, and
 * calendar-agent exchanges it with its own actor_token.
 */
@Order(26)
@ExtendWith(KeycloakServerExtension.class)
class ConsentByScopeIT {

    static final String MCP = "http://localhost:3000/mcp";
    static final String SCOPE = "delegation:client:calendar-agent";
    static final String MCP_CLIENT = "mcp-client";
    static final String REDIRECT = "http://localhost/callback";
    /** A resource server created here; calendar-agent's policy is given its client id as an allowed audience. */
    static final String API = "https://api.scope-it.example/v1";
    static final String TE = "urn:ietf:params:oauth:grant-type:token-exchange";
    static final String AT = "urn:ietf:params:oauth:token-type:access_token";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final AgentFlows flows;
    private final Delegations delegations;
    private final Http http = new Http();

    ConsentByScopeIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.flows = new AgentFlows(server);
        this.delegations = new Delegations(server);
    }

    @BeforeEach
    void clean() {
        delegations.revokeAll("alice");
        delegations.revokeAll("bob");
        flows.createClient(oidc.adminToken(), Map.of("clientId", "scope-it-api", "publicClient", false, "secret", "scope-it-api-secret",
                "standardFlowEnabled", false, "attributes", Map.of("agent_auth.resource_uris", API)));
    }

    // ---- helpers ----

    private Form auth(Pkce pkce, String scope, String... extra) {
        Form f = Form.of("client_id", MCP_CLIENT, "redirect_uri", REDIRECT, "response_type", "code", "scope", scope,
                "state", "st-scope", "code_challenge", pkce.challenge(), "code_challenge_method", "S256");
        for (int i = 0; i < extra.length; i += 2) {
            f.add(extra[i], extra[i + 1]);
        }
        return f;
    }

    private Http.Response redeem(String code, Pkce pkce) {
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "authorization_code", "code", code,
                "redirect_uri", REDIRECT, "code_verifier", pkce.verifier(), "client_id", MCP_CLIENT).list());
    }

    private Http.Response refresh(String refreshToken, String... extra) {
        Form f = Form.of("grant_type", "refresh_token", "refresh_token", refreshToken, "client_id", MCP_CLIENT);
        for (int i = 0; i < extra.length; i += 2) {
            f.add(extra[i], extra[i + 1]);
        }
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), f.list());
    }

    /** Logs alice in with {@code scope} + MCP resource, answers the consent page if shown; returns the token response. */
    private JsonNode mcpTokens(String user, String scope, boolean expectConsentPage) {
        Pkce pkce = Pkce.create();
        Http browser = new Http();
        Http.Response r = flows.open(browser, oidc.authUrl(Oidc.DEMO, auth(pkce, scope, "resource", MCP).list()), user);
        assertEquals(expectConsentPage, AgentFlows.isConsentPage(r), r.toString());
        if (expectConsentPage) {
            assertTrue(r.body().contains("Calendar Agent"), "the consent page names the agent");
            assertTrue(r.body().contains("id=\"agent-consent-resource\"") && r.body().contains("Access is limited to Calendar Agent (" + MCP + ")"),
                    "the consent page names the resource the token will be for");
            r = flows.decide(browser, r, "allow");
        }
        assertEquals(302, r.status(), r.toString());
        String code = Oidc.params(r.location()).get("code");
        assertNotNull(code, r.location());
        Http.Response t = redeem(code, pkce);
        assertEquals(200, t.status(), t.toString());
        return t.json();
    }

    private Http.Response exchange(String requester, String subjectToken, String actorToken, String... extra) {
        Form f = Form.of("grant_type", TE, "subject_token", subjectToken, "subject_token_type", AT);
        if (actorToken != null) {
            f.add("actor_token", actorToken).add("actor_token_type", AT);
        }
        for (int i = 0; i < extra.length; i += 2) {
            f.add(extra[i], extra[i + 1]);
        }
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), f.list(), Http.basic(requester, requester + "-secret"));
    }

    private Http.Response introspect(String clientId, String token) {
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO) + "/introspect", Form.of("token", token).list(),
                Http.basic(clientId, clientId + "-secret"));
    }

    private static Set<String> aud(JsonNode claims) {
        return Oidc.audience(claims);
    }

    private static JsonNode claims(JsonNode tokenResponse) {
        return Oidc.claims(tokenResponse.get("access_token").asText());
    }

    private static void assertError(Http.Response r, int status, String error) {
        DelegationExchangeIT.assertError(r, status, error);
        assertFalse(r.body().contains("access_token"), r.toString());
    }

    /** The error of an authorization request refused before login (a redirect to the client with its state and iss). */
    private Map<String, String> refusedAuth(Form params) {
        Http.Response r = new Http().get(oidc.authUrl(Oidc.DEMO, params.list()));
        assertEquals(302, r.status(), r.toString());
        Map<String, String> p = Oidc.params(r.location());
        assertNotNull(p.get("error"), r.location());
        String state = params.list().stream().filter(e -> e.getKey().equals("state")).map(Map.Entry::getValue).findFirst().orElseThrow();
        assertEquals(state, p.get("state"));
        assertEquals(server.realmUrl(Oidc.DEMO), p.get("iss"));
        return p;
    }

    private Set<String> optionalScopes(String clientId) {
        JsonNode c = delegations.client(clientId);
        Http.Response r = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + c.get("id").asText()
                + "/optional-client-scopes", oidc.adminToken());
        assertEquals(200, r.status(), r.toString());
        Set<String> out = new TreeSet<>();
        r.json().forEach(s -> out.add(s.get("name").asText()));
        return out;
    }

    private String saId(String clientId) {
        JsonNode c = delegations.client(clientId);
        return http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + c.get("id").asText()
                + "/service-account-user", oidc.adminToken()).json().get("id").asText();
    }

    // ---- tests ----

    @Test
    @Order(1)
    void eachAgentsScopeIsAnOptionalScopeOfExactlyItsAllowedHosts() {
        assertTrue(optionalScopes("mcp-client").contains(SCOPE), "calendar-agent allows host mcp-client");
        assertTrue(optionalScopes("agent-host").contains(SCOPE));
        assertTrue(optionalScopes("agent-host").contains("delegation:client:research-agent"));
        assertFalse(optionalScopes("mcp-client").contains("delegation:client:research-agent"), "research-agent allows only agent-host");
        assertFalse(optionalScopes("plain-service").contains(SCOPE));
    }

    @Test
    @Order(2)
    void consentByScopeGivesMayActAndTheAgentsExchangeGivesAct() {
        JsonNode tokens = mcpTokens("alice", "openid " + SCOPE, true);
        JsonNode at = claims(tokens);
        assertEquals(Set.of(MCP), aud(at), "aud is exactly the MCP server's resource URI");
        assertEquals("calendar-agent", at.path("may_act").path("client_id").asText(), at.toString());
        assertEquals(saId("calendar-agent"), at.path("may_act").path("sub").asText());
        assertNull(at.get("act"), "the MCP client's own token is not delegated yet");
        assertTrue(at.path("scope").asText().contains(SCOPE));

        // the grant: user, agent, host client, origin consent_scope
        JsonNode grants = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/users/"
                + delegations.userId("alice") + "/delegations", oidc.adminToken()).json();
        assertEquals(1, grants.size(), grants.toString());
        assertEquals("calendar-agent", grants.get(0).path("agent").asText());
        assertEquals("mcp-client", grants.get(0).path("host").asText());
        assertEquals("consent_scope", grants.get(0).path("origin").asText(), grants.toString());

        // GRANT_CONSENT event names agent, origin and resource
        JsonNode consent = delegations.events("GRANT_CONSENT").get(0);
        assertEquals("calendar-agent", consent.path("details").path("agent").asText(), consent.toString());
        assertEquals("consent_scope", consent.path("details").path("origin").asText(), consent.toString());
        assertEquals(MCP, consent.path("details").path("resource").asText(), consent.toString());
        JsonNode codeToToken = delegations.events("CODE_TO_TOKEN").get(0);
        assertEquals("calendar-agent", codeToToken.path("details").path("agent").asText(), codeToToken.toString());
        assertEquals(MCP, codeToToken.path("details").path("resource").asText(), codeToToken.toString());

        // the MCP server (calendar-agent) can introspect the token issued for its URI
        Http.Response intro = introspect("calendar-agent", tokens.get("access_token").asText());
        assertEquals(200, intro.status(), intro.toString());
        assertTrue(intro.json().path("active").asBoolean(), intro.toString());
        assertEquals("calendar-agent", intro.json().path("may_act").path("client_id").asText(), intro.toString());
        // another confidential client that owns nothing in aud may not
        Http.Response other = introspect("plain-service", tokens.get("access_token").asText());
        assertFalse(other.json().path("active").asBoolean(), other.toString());

        // the agent exchanges it with its own actor token
        Http.Response ex = exchange("calendar-agent", tokens.get("access_token").asText(), flows.agentToken("calendar-agent"));
        assertEquals(200, ex.status(), ex.toString());
        JsonNode delegated = Oidc.claims(ex.json().get("access_token").asText());
        assertEquals("calendar-agent", delegated.path("act").path("client_id").asText(), delegated.toString());
        assertEquals(at.get("sub").asText(), delegated.get("sub").asText());
        assertNull(delegated.get("may_act"));
        assertFalse(delegated.path("scope").asText().contains(SCOPE), "the delegated token does not carry the delegation scope");
        JsonNode exEvent = delegations.events("TOKEN_EXCHANGE").get(0);
        assertEquals("calendar-agent", exEvent.path("details").path("act_chain").asText(), exEvent.toString());

        // the same login again: the grant covers it, no consent page
        JsonNode again = claims(mcpTokens("alice", "openid " + SCOPE, false));
        assertEquals("calendar-agent", again.path("may_act").path("client_id").asText());
    }

    @Test
    @Order(3)
    void resourceInTheExchangeSetsAudExactlyAndOnlyWhereAllowed() {
        Map<String, String> before = delegations.setAttributes("calendar-agent", Map.of("agent_auth.allowed_audiences", "plain-service scope-it-api"));
        try {
            JsonNode tokens = mcpTokens("alice", "openid " + SCOPE, true);
            String subject = tokens.get("access_token").asText();
            String actor = flows.agentToken("calendar-agent");

            Http.Response ok = exchange("calendar-agent", subject, actor, "resource", API);
            assertEquals(200, ok.status(), ok.toString());
            JsonNode t = Oidc.claims(ok.json().get("access_token").asText());
            assertEquals(Set.of(API), aud(t), "aud is exactly the requested resource");
            assertEquals("calendar-agent", t.path("act").path("client_id").asText());
            JsonNode exEvent = delegations.events("TOKEN_EXCHANGE").get(0);
            assertEquals(API, exEvent.path("details").path("resource").asText(), exEvent.toString());

            // refresh of the delegated token keeps aud = the resource, and may only narrow
            Http.Response withRt = exchange("calendar-agent", subject, actor, "resource", API,
                    "requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token");
            assertEquals(200, withRt.status(), withRt.toString());
            String rt = withRt.json().get("refresh_token").asText();
            Http.Response refreshed = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                    "refresh_token", rt).list(), Http.basic("calendar-agent", "calendar-agent-secret"));
            assertEquals(200, refreshed.status(), refreshed.toString());
            JsonNode rtClaims = Oidc.claims(refreshed.json().get("access_token").asText());
            assertEquals(Set.of(API), aud(rtClaims));
            assertEquals("calendar-agent", rtClaims.path("act").path("client_id").asText());
            Http.Response widened = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                    "refresh_token", refreshed.json().get("refresh_token").asText(), "resource", MCP).list(),
                    Http.basic("calendar-agent", "calendar-agent-secret"));
            assertError(widened, 400, "invalid_target");

            // not among the agent's allowed audiences (its own URI), unknown, malformed
            assertError(exchange("calendar-agent", subject, actor, "resource", MCP), 400, "invalid_target");
            assertError(exchange("calendar-agent", subject, actor, "resource", "https://unknown.scope-it.example/"), 400, "invalid_target");
            assertError(exchange("calendar-agent", subject, actor, "resource", "not a uri"), 400, "invalid_target");
        } finally {
            delegations.setAttributes("calendar-agent", before);
        }
    }

    @Test
    @Order(4)
    void standardExchangeByTheResourceServerTreatsItsUriAsItself() {
        // no delegation scope: no may_act. The MCP server calendar-agent is an agent: it never acts for the user without
        // actor_token and a grant (DESIGN section 9), so Keycloak's standard exchange is not open to it ...
        JsonNode tokens = mcpTokens("alice", "openid", false);
        String subject = tokens.get("access_token").asText();
        assertNull(claims(tokens).get("may_act"));
        assertEquals(Set.of(MCP), aud(claims(tokens)));
        for (String[] extra : List.of(new String[0], new String[] {"resource", API})) {
            Http.Response refused = exchange("calendar-agent", subject, null, extra);
            assertError(refused, 400, "invalid_request");
            assertTrue(refused.json().get("error_description").asText().contains("actor_token"), refused.toString());
        }

        // ... while a resource server that is no agent exchanges the tokens issued for its URI (its URI counts as itself)
        Map<String, String> old = delegations.setAttributes("scope-it-api", Map.of("standard.token.exchange.enabled", "true"));
        try {
            Pkce pkce = Pkce.create();
            Http.Response r = flows.open(new Http(), oidc.authUrl(Oidc.DEMO, auth(pkce, "openid", "resource", API).list()), "alice");
            assertEquals(302, r.status(), r.toString());
            Http.Response t = redeem(Oidc.params(r.location()).get("code"), pkce);
            assertEquals(200, t.status(), t.toString());
            String apiToken = t.json().get("access_token").asText();
            assertEquals(Set.of(API), aud(Oidc.claims(apiToken)));
            Http.Response plain = exchange("scope-it-api", apiToken, null);
            assertEquals(200, plain.status(), "the resource server may exchange a token issued for its URI: " + plain);
            Http.Response narrowed = exchange("scope-it-api", apiToken, null, "resource", API);
            assertEquals(200, narrowed.status(), narrowed.toString());
            assertEquals(Set.of(API), aud(Oidc.claims(narrowed.json().get("access_token").asText())));
            assertError(exchange("scope-it-api", apiToken, null, "resource", "https://unknown.scope-it.example/"), 400, "invalid_target");
        } finally {
            delegations.setAttributes("scope-it-api", old);
        }
        // a client that owns nothing in aud is still refused, as in stock Keycloak
        Http.Response foreign = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", TE, "subject_token", subject,
                "subject_token_type", AT).list(), Http.basic("plain-service", "plain-service-secret"));
        assertEquals(403, foreign.status(), foreign.toString());
    }

    @Test
    @Order(5)
    void revokingTheGrantDropsMayActAtRefreshAndRefusesExchanges() {
        JsonNode tokens = mcpTokens("alice", "openid " + SCOPE, true);
        String oldAccess = tokens.get("access_token").asText();
        delegations.revokeAll("alice");

        Http.Response r = refresh(tokens.get("refresh_token").asText());
        assertEquals(200, r.status(), r.toString());
        JsonNode after = claims(r.json());
        assertNull(after.get("may_act"), "no may_act once the grant is revoked: " + after);
        assertEquals(Set.of(MCP), aud(after), "the refresh keeps the resource");

        Http.Response ex = exchange("calendar-agent", oldAccess, flows.agentToken("calendar-agent"));
        assertEquals(400, ex.status(), ex.toString());
        assertFalse(ex.body().contains("access_token"));
        Http.Response ex2 = exchange("calendar-agent", r.json().get("access_token").asText(), flows.agentToken("calendar-agent"));
        assertEquals(400, ex2.status(), ex2.toString());
    }

    @Test
    @Order(6)
    void denyEndsTheLoginWithAccessDenied() {
        Pkce pkce = Pkce.create();
        Http browser = new Http();
        Http.Response page = flows.open(browser, oidc.authUrl(Oidc.DEMO, auth(pkce, "openid " + SCOPE).list()), "bob");
        Http.Response r = flows.decide(browser, page, "deny");
        assertEquals(302, r.status(), r.toString());
        assertEquals("access_denied", Oidc.params(r.location()).get("error"), r.location());
        JsonNode grants = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/users/"
                + delegations.userId("bob") + "/delegations", oidc.adminToken()).json();
        assertEquals(0, grants.size());
    }

    @Test
    @Order(7)
    void scopesThePolicyDoesNotAllowAreInvalidScope() {
        // research-agent does not allow host mcp-client: its scope is not attached there
        assertEquals("invalid_scope", refusedAuth(auth(Pkce.create(), "openid delegation:client:research-agent")).get("error"));
        // unknown agent
        assertEquals("invalid_scope", refusedAuth(auth(Pkce.create(), "openid delegation:client:no-such-agent")).get("error"));
        // two delegation scopes in one request (agent-host has both)
        Form two = flows.authParams(null, Pkce.create(), "scope", "openid " + SCOPE + " delegation:client:research-agent");
        two.list().removeIf(e -> e.getKey().equals("scope") && e.getValue().equals("openid profile email"));
        Map<String, String> p = refusedAuth(two);
        assertEquals("invalid_scope", p.get("error"), p.toString());
        // with requested_actor as well
        Form both = flows.authParams("calendar-agent", Pkce.create());
        both.list().replaceAll(e -> e.getKey().equals("scope") ? Map.entry("scope", "openid " + SCOPE) : e);
        assertEquals("invalid_request", refusedAuth(both).get("error"));
    }

    @Test
    @Order(8)
    void scopesFollowClientCreationPolicyChangesAndDisabling() {
        String admin = oidc.adminToken();
        String scope = "delegation:client:scope-it-agent";
        // created through Keycloak's own admin REST API with the agent attributes: the scope follows at once
        flows.createClient(admin, Map.of("clientId", "scope-it-agent", "publicClient", false, "secret", "scope-it-agent-secret",
                "serviceAccountsEnabled", true, "standardFlowEnabled", false, "attributes", Map.of("agent_auth.agent", "true",
                        "agent_auth.allowed_scopes", "openid profile", "agent_auth.allowed_hosts", "mcp-client",
                        "standard.token.exchange.enabled", "true")));
        assertTrue(optionalScopes("mcp-client").contains(scope));
        assertFalse(optionalScopes("agent-host").contains(scope));

        // the policy page's API moves it to agent-host
        JsonNode policy = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/agents/scope-it-agent", admin).json().get("policy");
        ObjectNode changed = policy.deepCopy();
        changed.putArray("allowedHosts").add("agent-host");
        Http.Response put = http.putJson(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/agents/scope-it-agent", admin, changed);
        assertEquals(200, put.status(), put.toString());
        assertFalse(optionalScopes("mcp-client").contains(scope));
        assertTrue(optionalScopes("agent-host").contains(scope));
        assertEquals("invalid_scope", refusedAuth(auth(Pkce.create(), "openid " + scope)).get("error"));

        // disabling the agent client removes its scope
        String agentId = delegations.client("scope-it-agent").get("id").asText();
        delegations.updateClient("scope-it-agent", c -> c.put("enabled", false));
        assertFalse(optionalScopes("agent-host").contains(scope));
        Form f = flows.authParams(null, Pkce.create());
        f.list().replaceAll(e -> e.getKey().equals("scope") ? Map.entry("scope", "openid " + scope) : e);
        assertEquals("invalid_scope", refusedAuth(f).get("error"));

        // PAR: HTTP 400 invalid_request for a delegation scope the policy does not allow
        Http.Response par = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO).replace("/token", "/ext/par/request"),
                Form.of("client_id", "agent-host", "redirect_uri", "http://localhost/callback", "response_type", "code",
                        "scope", "openid " + SCOPE + " delegation:client:research-agent", "code_challenge", Pkce.create().challenge(),
                        "code_challenge_method", "S256").list(), Http.basic("agent-host", "agent-host-secret"));
        assertError(par, 400, "invalid_request");
        assertEquals(204, http.delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + agentId, admin).status());
    }

    @Test
    @Order(9)
    void deletingAnAgentRemovesItsScopeAtOnce() throws InterruptedException {
        String admin = oidc.adminToken();
        String scope = "delegation:client:scope-it-deleted";
        flows.createClient(admin, Map.of("clientId", "scope-it-deleted", "publicClient", false, "secret", "scope-it-deleted-secret",
                "serviceAccountsEnabled", true, "standardFlowEnabled", false, "attributes", Map.of("agent_auth.agent", "true",
                        "agent_auth.allowed_scopes", "openid profile", "agent_auth.allowed_hosts", "agent-host mcp-client",
                        "standard.token.exchange.enabled", "true")));
        assertTrue(optionalScopes("agent-host").contains(scope));
        assertTrue(optionalScopes("mcp-client").contains(scope));
        String agentId = delegations.client("scope-it-deleted").get("id").asText();
        assertEquals(204, http.delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + agentId, admin).status());
        // the removal's own transaction has committed when the DELETE answers; the scope's follows right after it
        long deadline = System.currentTimeMillis() + 5_000;
        while (optionalScopes("agent-host").contains(scope) && System.currentTimeMillis() < deadline) {
            Thread.sleep(100);
        }
        assertFalse(optionalScopes("agent-host").contains(scope), "the deleted agent's scope is no longer offered to its hosts");
        assertFalse(optionalScopes("mcp-client").contains(scope));
        Http.Response scopes = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/client-scopes", admin);
        assertFalse(scopes.body().contains("\"" + scope + "\""), "the scope itself is gone: " + scope);
        assertEquals("invalid_scope", refusedAuth(auth(Pkce.create(), "openid " + scope)).get("error"));
    }
}
