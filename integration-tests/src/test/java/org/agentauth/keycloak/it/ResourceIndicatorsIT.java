package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** RFC 8707 {@code resource} at the authorization and token endpoints (DESIGN section 9). */
@Order(25)
@ExtendWith(KeycloakServerExtension.class)
class ResourceIndicatorsIT {

    /** calendar-agent's resource URI in the demo realm (resource_clients: mcp-client agent-host). */
    static final String MCP = "http://localhost:3000/mcp";
    /** Resource server created here: any client may ask. */
    static final String TOOLS = "https://tools.example.com/mcp";
    static final String TOOLS_OTHER = "https://tools.example.com/other";
    /** Keycloak's own resource_url attribute of the same client. */
    static final String KC_URL = "https://kc-url.example.com/api";
    /** Resource server only mcp-client may ask for. */
    static final String RESTRICTED = "https://restricted.example.com/mcp";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final AgentFlows flows;
    private final String issuer;

    ResourceIndicatorsIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.flows = new AgentFlows(server);
        this.issuer = server.realmUrl(Oidc.DEMO);
    }

    @BeforeEach
    void resourceServers() {
        String admin = oidc.adminToken();
        flows.createClient(admin, Map.of("clientId", "tools-rs", "publicClient", false, "secret", "tools-rs-secret",
                "standardFlowEnabled", false, "attributes", Map.of("agent_auth.resource_uris", "https://Tools.Example.COM/mcp " + TOOLS_OTHER,
                        "resource_url", KC_URL)));
        flows.createClient(admin, Map.of("clientId", "restricted-rs", "publicClient", false, "secret", "restricted-rs-secret",
                "standardFlowEnabled", false, "attributes", Map.of("agent_auth.resource_uris", RESTRICTED,
                        "agent_auth.resource_clients", "mcp-client")));
    }

    private Form auth(Pkce pkce, String... resources) {
        Form f = flows.authParams(null, pkce);
        for (String r : resources) {
            f.add("resource", r);
        }
        return f;
    }

    private static Set<String> aud(Http.Response tokenResponse) {
        assertEquals(200, tokenResponse.status(), tokenResponse.toString());
        return aud(Oidc.claims(tokenResponse.json().get("access_token").asText()));
    }

    private static Set<String> aud(JsonNode claims) {
        return Oidc.audience(claims);
    }

    private static void assertInvalidTarget(Http.Response r, String why) {
        assertEquals(400, r.status(), why + ": " + r);
        assertEquals("invalid_target", r.json().path("error").asText(), why + ": " + r);
        assertFalse(r.json().path("error_description").asText().isBlank(), why + ": " + r);
        assertFalse(r.body().contains("access_token"), why);
    }

    private Http.Response clientCredentials(String clientId, String... resources) {
        Form f = Form.of("grant_type", "client_credentials");
        for (String r : resources) {
            f.add("resource", r);
        }
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), f.list(), Http.basic(clientId, clientId + "-secret"));
    }

    private Http.Response refresh(String refreshToken, String... resources) {
        Form f = Form.of("grant_type", "refresh_token", "refresh_token", refreshToken);
        for (String r : resources) {
            f.add("resource", r);
        }
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), f.list(), Http.basic(DemoUsers.HOST, DemoUsers.HOST_SECRET));
    }

    @Test
    void unknownOrNotPermittedResourcesAreRefusedBeforeLogin() {
        List<List<String>> bad = List.of(List.of("https://unknown.example.com/mcp"), List.of(RESTRICTED), List.of("mcp"),
                List.of(MCP + "#frag"), List.of("HTTP://LOCALHOST:3000/MCP"));
        for (List<String> resources : bad) {
            Http.Response r = new Http().get(oidc.authUrl(Oidc.DEMO, auth(Pkce.create(), resources.toArray(String[]::new)).list()));
            assertEquals(302, r.status(), resources + ": " + r);
            assertTrue(r.location().startsWith(DemoUsers.REDIRECT), resources + ": " + r.location());
            Map<String, String> p = Oidc.params(r.location());
            assertEquals("invalid_target", p.get("error"), resources + ": " + r.location());
            assertEquals("st-1", p.get("state"), resources.toString());
            assertEquals(issuer, p.get("iss"), resources.toString());
            assertFalse(p.containsKey("code"), resources.toString());
        }
        // a permitted resource passes the check and shows the login page (scheme and host in any case)
        for (String good : List.of(MCP, "HTTP://LOCALHOST:3000/mcp", TOOLS)) {
            Http.Response ok = new Http().get(oidc.authUrl(Oidc.DEMO, auth(Pkce.create(), good).list()));
            assertEquals(200, ok.status(), good + ": " + ok);
            assertTrue(ok.body().contains("kc-form-login"), good);
        }
        // Keycloak itself refuses a repeated parameter at the authorization endpoint, before any extension runs
        Http.Response twice = new Http().get(oidc.authUrl(Oidc.DEMO, auth(Pkce.create(), MCP, TOOLS).list()));
        assertEquals(302, twice.status(), twice.toString());
        assertFalse(Oidc.params(twice.location()).containsKey("code"), twice.location());
        assertTrue(Oidc.params(twice.location()).containsKey("error"), twice.location());
        assertTrue(flows.events(oidc.adminToken(), "type=LOGIN_ERROR&client=agent-host").contains("invalid_target"));
    }

    @Test
    void implicitAndHybridRequestsWithResourceAreRefused() {
        flows.createClient(oidc.adminToken(), Map.of("clientId", "implicit-it", "publicClient", true, "implicitFlowEnabled", true,
                "standardFlowEnabled", true, "redirectUris", List.of("http://localhost/*")));
        for (String responseType : List.of("token", "code token", "code id_token", "id_token token")) {
            Form f = Form.of("client_id", "implicit-it", "redirect_uri", DemoUsers.REDIRECT, "response_type", responseType,
                    "scope", "openid", "state", "st-i", "nonce", "n-1", "resource", TOOLS);
            Http.Response r = new Http().get(oidc.authUrl(Oidc.DEMO, f.list()));
            assertEquals(302, r.status(), responseType + ": " + r);
            Map<String, String> p = Oidc.params(r.location());
            assertEquals("invalid_target", p.get("error"), responseType + ": " + r.location());
            assertTrue(p.get("error_description").contains("response_type=code"), responseType + ": " + r.location());
            assertEquals("st-i", p.get("state"), responseType);
            assertFalse(p.containsKey("access_token") || p.containsKey("code"), responseType + ": " + r.location());
        }
        // the same resource with response_type=code passes the check (the login page)
        Http.Response ok = new Http().get(oidc.authUrl(Oidc.DEMO, Form.of("client_id", "implicit-it", "redirect_uri", DemoUsers.REDIRECT,
                "response_type", "code", "scope", "openid", "state", "st-i", "code_challenge", Pkce.create().challenge(),
                "code_challenge_method", "S256", "resource", TOOLS).list()));
        assertEquals(200, ok.status(), ok.toString());
        assertTrue(ok.body().contains("kc-form-login"));
    }

    @Test
    void codeWithResourcesGivesExactlyThoseAudiencesOrAnAuthorizedSubset() {
        // scheme and host compare case-insensitively: the request's spelling is normalized
        Pkce p1 = Pkce.create();
        String c1 = flows.codeFor(new Http(), auth(p1, "HTTPS://TOOLS.example.com/mcp"), "alice");
        assertEquals(Set.of(TOOLS), aud(flows.redeem(c1, p1)));

        Pkce p2 = Pkce.create();
        String c2 = flows.codeFor(new Http(), auth(p2, MCP), "alice");
        assertEquals(Set.of(MCP), aud(flows.redeem(c2, p2, "resource", "http://LocalHost:3000/mcp")));

        // a code issued without resource: the token request names them (RFC 8707 section 2.2)
        Pkce p6 = Pkce.create();
        String c6 = flows.codeFor(new Http(), auth(p6), "alice");
        assertEquals(Set.of(MCP, TOOLS), aud(flows.redeem(c6, p6, "resource", MCP, "resource", TOOLS)));
        Pkce p7 = Pkce.create();
        String c7 = flows.codeFor(new Http(), auth(p7), "alice");
        assertInvalidTarget(flows.redeem(c7, p7, "resource", RESTRICTED), "not permitted for agent-host");

        // a permitted resource that the code was not authorized for
        Pkce p3 = Pkce.create();
        String c3 = flows.codeFor(new Http(), auth(p3, MCP), "alice");
        assertInvalidTarget(flows.redeem(c3, p3, "resource", MCP, "resource", KC_URL), "not on the code");
        // an unknown resource
        Pkce p4 = Pkce.create();
        String c4 = flows.codeFor(new Http(), auth(p4, MCP), "alice");
        assertInvalidTarget(flows.redeem(c4, p4, "resource", "https://unknown.example.com/x"), "unknown");

        // Keycloak's resource_url attribute counts as a resource URI of its client
        Pkce p5 = Pkce.create();
        String c5 = flows.codeFor(new Http(), auth(p5, KC_URL), "alice");
        assertEquals(Set.of(KC_URL), aud(flows.redeem(c5, p5)));

        String events = flows.events(oidc.adminToken(), "type=CODE_TO_TOKEN&client=agent-host");
        assertTrue(events.contains("\"resource\":\"" + KC_URL + "\""), events);
    }

    /** A fresh refresh token of bob at agent-host, for a code bound to {@code bound} and redeemed with {@code redeemWith}. */
    private String refreshToken(String[] bound, String... redeemWith) {
        Pkce p = Pkce.create();
        String c = flows.codeFor(new Http(), auth(p, bound), "bob");
        List<String> extra = new ArrayList<>();
        for (String r : redeemWith) {
            extra.add("resource");
            extra.add(r);
        }
        Http.Response t = flows.redeem(c, p, extra.toArray(String[]::new));
        assertEquals(200, t.status(), t.toString());
        return t.json().get("refresh_token").asText();
    }

    @Test
    void refreshNarrowsWithinTheGrantAndCannotWiden() {
        // the demo realm rotates refresh tokens: every refresh below uses a token once
        String[] none = {};
        String[] mcp = {MCP};
        // a code bound to one resource: its refresh token stays bound to it
        assertEquals(Set.of(MCP), aud(refresh(refreshToken(mcp))));
        assertInvalidTarget(refresh(refreshToken(mcp), TOOLS), "not in the grant");

        // a grant for two resources (named at the token endpoint)
        assertInvalidTarget(refresh(refreshToken(none, MCP, TOOLS), TOOLS_OTHER), "permitted but not authorized");
        assertInvalidTarget(refresh(refreshToken(none, MCP, TOOLS), MCP, TOOLS_OTHER), "one too many");
        assertInvalidTarget(refresh(refreshToken(none, MCP, TOOLS), "https://unknown.example.com/x"), "unknown");

        Http.Response first = refresh(refreshToken(none, MCP, TOOLS), MCP);
        assertEquals(Set.of(MCP), aud(first));
        Http.Response narrowed = refresh(first.json().get("refresh_token").asText(), TOOLS);
        assertEquals(Set.of(TOOLS), aud(narrowed), "a refresh may name any resource of the grant");
        Http.Response again = refresh(narrowed.json().get("refresh_token").asText());
        assertEquals(Set.of(MCP, TOOLS), aud(again), "without resource: every resource of the grant");
        assertInvalidTarget(refresh(again.json().get("refresh_token").asText(), KC_URL), "still cannot widen");
    }

    @Test
    void delegatedTokensOnlyGetResourcesTheAgentsPolicyAllows() {
        String admin = oidc.adminToken();
        flows.createClient(admin, Map.of("clientId", "rs-agent", "publicClient", false, "serviceAccountsEnabled", true,
                "secret", "rs-agent-secret", "attributes", Map.of("agent_auth.agent", "true",
                        "agent_auth.allowed_hosts", "agent-host", "agent_auth.allowed_scopes", "openid profile email",
                        "agent_auth.allowed_audiences", "tools-rs")));
        String actor = flows.agentToken("rs-agent");
        // tools-rs owns TOOLS: allowed through its client id
        Pkce p = Pkce.create();
        String c = flows.codeFor(new Http(), flows.authParams("rs-agent", p, "resource", TOOLS), "alice");
        Http.Response t = flows.redeem(c, p, "actor_token", actor);
        assertEquals(Set.of(TOOLS), aud(t));
        JsonNode claims = Oidc.claims(t.json().get("access_token").asText());
        assertTrue(claims.path("act").toString().contains("rs-agent"), claims.toString());
        // MCP is calendar-agent's: permitted for agent-host, but not among rs-agent's allowed audiences
        Pkce p2 = Pkce.create();
        String c2 = flows.codeFor(new Http(), flows.authParams("rs-agent", p2, "resource", MCP), "alice");
        assertInvalidTarget(flows.redeem(c2, p2, "actor_token", actor), "not allowed for the agent");
    }

    @Test
    void clientCredentialsWithResource() {
        assertEquals(Set.of(TOOLS), aud(clientCredentials("plain-service", TOOLS)));
        assertEquals(Set.of(TOOLS, KC_URL), aud(clientCredentials("plain-service", TOOLS, KC_URL)));
        // calendar-agent's MCP resource is for mcp-client and agent-host only
        assertInvalidTarget(clientCredentials("plain-service", MCP), "not permitted");
        assertInvalidTarget(clientCredentials("plain-service", "https://unknown.example.com/x"), "unknown");
        assertInvalidTarget(clientCredentials("plain-service", "not a uri"), "malformed");
        String events = flows.events(oidc.adminToken(), "type=CLIENT_LOGIN&client=plain-service");
        assertTrue(events.contains("\"resource\":\"" + TOOLS + " " + KC_URL + "\""), events);
    }

    /**
     * The token post-processor reads {@code resource} from the token request's form, and a failure of that read is
     * no longer swallowed (it would have dropped the restriction and issued a token for the client's usual audience):
     * a form sent with a charset, percent-encoded values and {@code resource} repeated between other parameters is
     * read as sent, and the token is for exactly those resources; a refused one is still refused.
     */
    @Test
    void resourceIsReadFromTheTokenRequestFormAsSent() {
        String form = "resource=" + Http.urlEncode(TOOLS) + "&grant_type=client_credentials&scope=openid&resource=" + Http.urlEncode(KC_URL);
        Http.Response r = new Http().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(oidc.tokenEndpoint(Oidc.DEMO)))
                .header("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
                .header("Authorization", "Basic " + Http.basic("plain-service", "plain-service-secret"))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(form)));
        assertEquals(Set.of(TOOLS, KC_URL), aud(r));
        Http.Response refused = new Http().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(oidc.tokenEndpoint(Oidc.DEMO)))
                .header("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
                .header("Authorization", "Basic " + Http.basic("plain-service", "plain-service-secret"))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(form + "&resource=" + Http.urlEncode(MCP))));
        assertInvalidTarget(refused, "one of the resources is not permitted for plain-service");
    }

    @Test
    void withoutResourceNothingChangesAndNothingLeaksIntoTheNextLogin() {
        Set<String> plainAud = aud(clientCredentials("plain-service"));
        for (String uri : List.of(MCP, TOOLS, KC_URL)) {
            assertFalse(plainAud.contains(uri), plainAud.toString());
        }
        Http browser = new Http();
        Pkce p1 = Pkce.create();
        String c1 = flows.codeFor(browser, auth(p1), "alice");
        Http.Response before = flows.redeem(c1, p1);
        Set<String> normal = aud(before);
        assertFalse(normal.contains(MCP), normal.toString());
        // the same browser session: a login with resource, then one without
        Pkce p2 = Pkce.create();
        String c2 = flows.codeFor(browser, auth(p2, MCP), "alice");
        Pkce p3 = Pkce.create();
        String c3 = flows.codeFor(browser, auth(p3), "alice");
        Http.Response after = flows.redeem(c3, p3);
        assertEquals(normal, aud(after), "a login without resource keeps the usual audience");
        assertEquals(Set.of(MCP), aud(flows.redeem(c2, p2)));
        // refresh without resource anywhere: unchanged
        Http.Response refreshed = refresh(after.json().get("refresh_token").asText());
        assertEquals(normal, aud(refreshed));
        assertNotNull(refreshed.json().get("access_token"));
    }

    /**
     * Resource owners are looked up through an index (no scan of every client per request): a URI added, moved or
     * removed, through Keycloak's own admin API or the extension's policy API, takes effect on the very next request.
     */
    @Test
    void resourceUriChangesTakeEffectAtOnce() {
        String admin = oidc.adminToken();
        String uri = "https://moving.example.com/api";
        String agents = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/agents/";
        flows.createClient(admin, Map.of("clientId", "moving-a", "publicClient", false, "secret", "moving-a-secret",
                "standardFlowEnabled", false));
        flows.createClient(admin, Map.of("clientId", "moving-b", "publicClient", false, "secret", "moving-b-secret",
                "standardFlowEnabled", false));
        Http http = new Http();
        try {
            assertInvalidTarget(clientCredentials("plain-service", uri), "not configured yet");
            // the extension's policy API (no client-update event from Keycloak)
            assertEquals(200, http.putJson(agents + "moving-a", admin, Map.of("resourceUris", List.of(uri))).status());
            assertEquals(Set.of(uri), aud(clientCredentials("plain-service", uri)));
            // moved to another client: refused while both claim it, then owned by the new one
            assertEquals(400, http.putJson(agents + "moving-b", admin, Map.of("resourceUris", List.of(uri))).status(), "one owner per URI");
            assertEquals(200, http.putJson(agents + "moving-a", admin, Map.of()).status());
            assertInvalidTarget(clientCredentials("plain-service", uri), "removed from moving-a");
            // Keycloak's own admin API (client-update event): moving-b, allowed for agent-host only
            new Delegations(server).setAttributes("moving-b",
                    Map.of("agent_auth.resource_uris", uri, "agent_auth.resource_clients", "agent-host"));
            assertInvalidTarget(clientCredentials("plain-service", uri), "owned by moving-b, not permitted for plain-service");
            new Delegations(server).setAttributes("moving-b",
                    Map.of("agent_auth.resource_clients", ""));
            assertEquals(Set.of(uri), aud(clientCredentials("plain-service", uri)));
        } finally {
            for (String c : List.of("moving-a", "moving-b")) {
                http.delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + flows.client(admin, c).get("id").asText(), admin);
            }
        }
        assertInvalidTarget(clientCredentials("plain-service", uri), "the owner was deleted");
    }

    /**
     * The owner index is rebuilt single-flight: right after a client change made it forget everything, 24 concurrent
     * token requests naming resources each get exactly what they asked for (a permitted resource as {@code aud}, a
     * refused one {@code invalid_target}), and none fails.
     */
    @Test
    void concurrentRequestsRightAfterAClientChangeGetExactlyTheirResource() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(24);
        try {
            for (int round = 0; round < 3; round++) {
                // Keycloak's own admin API: a client-update event, the index of the realm is forgotten
                new Delegations(server).setAttributes("tools-rs", Map.of("resource_url", KC_URL));
                List<String> asked = List.of(TOOLS, TOOLS_OTHER, KC_URL, MCP);
                List<java.util.concurrent.Future<Http.Response>> calls = new ArrayList<>();
                for (int i = 0; i < 24; i++) {
                    String resource = asked.get(i % asked.size());
                    calls.add(pool.submit(() -> clientCredentials("plain-service", resource)));
                }
                for (int i = 0; i < calls.size(); i++) {
                    Http.Response r = calls.get(i).get(60, java.util.concurrent.TimeUnit.SECONDS);
                    String resource = asked.get(i % asked.size());
                    if (resource.equals(MCP)) {
                        assertInvalidTarget(r, "calendar-agent's resource is not for plain-service");
                    } else {
                        assertEquals(Set.of(resource), aud(r), resource);
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The suite also runs with Keycloak's experimental resource-indicators feature on (failsafe execution
     * kc-resource-indicators-feature): make sure the server really runs the way the execution claims.
     */
    @Test
    void keycloaksOwnResourceIndicatorsFeatureIsAsConfigured() {
        boolean wanted = System.getProperty("keycloak.extraArgs", "").contains("resource-indicators");
        boolean on = server.logText().lines().anyMatch(l -> l.contains("features enabled") && l.contains("resource-indicators"));
        assertEquals(wanted, on, "resource-indicators feature in the server log: " + server.logText().lines()
                .filter(l -> l.contains("features enabled")).toList());
    }
}
