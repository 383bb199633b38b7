package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Agents as a Keycloak concept (DESIGN section 2): the admin REST API behind the agent admin page, the page's own
 * sign-in client in every realm, and the page's HTTP contract (CSP, assets). The browser side is AgentAdminPageIT.
 */
@Order(20)
@ExtendWith(KeycloakServerExtension.class)
class AgentAdminApiIT {

    static final String PAGE_CLIENT = "agent-auth-admin";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final DemoUsers users;
    private final Http http = new Http();

    AgentAdminApiIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.users = new DemoUsers(server);
    }

    private String agents() {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/agents";
    }

    @Test
    void listsEveryClientWithAgentFlagPolicyAndIdentity() {
        Http.Response r = http.get(agents(), oidc.adminToken());
        assertEquals(200, r.status(), r.body());
        JsonNode research = byClientId(r.json(), "research-agent");
        assertTrue(research.path("agent").asBoolean());
        assertTrue(research.path("agentCapable").asBoolean());
        assertEquals("Research Agent", research.path("name").asText());
        assertEquals("https://agents.example.com/research/privacy", research.path("policyUri").asText());
        assertEquals(List.of("openid", "profile"), list(research.path("policy").path("allowedScopes")));
        assertEquals(List.of("agent-host"), list(research.path("policy").path("allowedHosts")));
        assertEquals(3, research.path("policy").path("maxDepth").asInt());
        assertFalse(research.path("policy").path("refreshAllowed").asBoolean());

        JsonNode plain = byClientId(r.json(), "plain-service");
        assertFalse(plain.path("agent").asBoolean());
        assertTrue(plain.path("agentCapable").asBoolean());
        assertFalse(byClientId(r.json(), "mcp-client").path("agentCapable").asBoolean(), "public clients cannot be agents");
        assertFalse(byClientId(r.json(), PAGE_CLIENT).path("agent").asBoolean());
    }

    /** The list is paged the Keycloak way (first, max; default 100, at most 500) and can be searched by client ID. */
    @Test
    void listIsPagedAndSearchable() {
        String admin = oidc.adminToken();
        List<String> all = clientIds(http.get(agents() + "?max=500", admin));
        assertTrue(all.containsAll(List.of("agent-host", "calendar-agent", "research-agent", "plain-service", "mcp-client", PAGE_CLIENT)), all.toString());
        assertEquals(all, clientIds(http.get(agents(), admin)), "default page: up to 100, the demo realm has fewer");

        // pages of 3, read until a short one, give every client once, in the same order
        List<String> paged = new java.util.ArrayList<>();
        for (int first = 0; ; first += 3) {
            List<String> page = clientIds(http.get(agents() + "?first=" + first + "&max=3", admin));
            assertTrue(page.size() <= 3, page.toString());
            paged.addAll(page);
            if (page.size() < 3) {
                break;
            }
        }
        assertEquals(all, paged);
        assertEquals(all.subList(2, 4), clientIds(http.get(agents() + "?first=2&max=2", admin)));
        assertEquals(List.of(), clientIds(http.get(agents() + "?first=100000", admin)));

        // search: a part of the client ID, any case
        List<String> found = clientIds(http.get(agents() + "?search=AGENT", admin));
        assertTrue(found.containsAll(List.of("calendar-agent", "research-agent", "agent-host", PAGE_CLIENT)), found.toString());
        assertTrue(found.stream().allMatch(c -> c.toLowerCase(java.util.Locale.ROOT).contains("agent")), found.toString());
        assertFalse(found.contains("mcp-client"));
        assertEquals(List.of("research-agent"), clientIds(http.get(agents() + "?search=search-ag&max=5", admin)));
        assertEquals(found.subList(1, 2), clientIds(http.get(agents() + "?search=agent&first=1&max=1", admin)));

        // bad parameters: 400 naming the parameter, never everything at once
        for (String q : List.of("max=0", "max=501", "max=-1", "max=lots", "first=-1", "first=x", "max=1.5")) {
            Http.Response r = http.get(agents() + "?" + q, admin);
            assertEquals(400, r.status(), q + " -> " + r.body());
            assertEquals(q.substring(0, q.indexOf('=')), r.json().path("field").asText(), r.body());
        }
    }

    private static List<String> clientIds(Http.Response r) {
        assertEquals(200, r.status(), r.body());
        List<String> ids = new java.util.ArrayList<>();
        r.json().forEach(c -> ids.add(c.path("clientId").asText()));
        return ids;
    }

    @Test
    void getsOneClient() {
        String admin = oidc.adminToken();
        Http.Response r = http.get(agents() + "/calendar-agent", admin);
        assertEquals(200, r.status(), r.body());
        JsonNode p = r.json().path("policy");
        assertEquals("calendar-agent", r.json().path("clientId").asText());
        // calendar-agent is also its own host: it asks for approval over CIBA without a host app (DESIGN section 14)
        assertEquals(List.of("agent-host", "mcp-client", "calendar-agent"), list(p.path("allowedHosts")));
        assertEquals(List.of("demo-calendar"), list(p.path("allowedConnectors")));
        assertEquals(List.of("research-agent"), list(p.path("downstreamAgents")));
        assertEquals(2592000, p.path("grantLifetime").asLong());
        assertTrue(p.path("refreshAllowed").asBoolean());
        assertFalse(p.path("preauthorized").asBoolean());
        assertEquals(404, http.get(agents() + "/no-such-client", admin).status());
    }

    @Test
    void putWritesClientAttributesSeenByTheStandardApiAndRecordsAnAdminEvent() {
        String admin = oidc.adminToken();
        try {
            Map<String, Object> policy = new LinkedHashMap<>();
            policy.put("agent", true);
            policy.put("allowedScopes", List.of("openid", "profile"));
            policy.put("allowedHosts", List.of("agent-host"));
            policy.put("allowedAudiences", List.of("agent-host", "https://mcp.example.com/mcp"));
            policy.put("allowedConnectors", List.of("demo-calendar"));
            policy.put("downstreamAgents", List.of("calendar-agent"));
            policy.put("maxDepth", 2);
            policy.put("grantLifetime", 3600);
            policy.put("refreshAllowed", true);
            policy.put("preauthorized", true);
            policy.put("resourceUris", List.of("https://Plain.Example.com/api"));
            policy.put("resourceClients", List.of("agent-host"));
            Http.Response put = http.putJson(agents() + "/plain-service", admin, policy);
            assertEquals(200, put.status(), put.body());
            assertTrue(put.json().path("agent").asBoolean());
            assertEquals(2, put.json().path("policy").path("maxDepth").asInt());

            // the standard client representation carries the policy as attributes (so export/import does too)
            JsonNode attrs = standardClient(admin, "plain-service").path("attributes");
            assertEquals("true", attrs.path("agent_auth.agent").asText());
            assertEquals("openid profile", attrs.path("agent_auth.allowed_scopes").asText());
            assertEquals("agent-host https://mcp.example.com/mcp", attrs.path("agent_auth.allowed_audiences").asText());
            assertEquals("calendar-agent", attrs.path("agent_auth.downstream_agents").asText());
            assertEquals("2", attrs.path("agent_auth.max_depth").asText());
            assertEquals("3600", attrs.path("agent_auth.grant_lifetime").asText());
            assertEquals("true", attrs.path("agent_auth.preauthorized").asText());
            assertEquals("https://Plain.Example.com/api", attrs.path("agent_auth.resource_uris").asText());
            assertEquals("agent-host", attrs.path("agent_auth.resource_clients").asText());
            assertEquals(List.of("https://Plain.Example.com/api"), list(put.json().path("policy").path("resourceUris")));

            // and the policy takes effect: a grant to the new agent lasts the configured hour
            String aliceId = users.userId(admin, "alice");
            String grantId = users.adminGrant(admin, aliceId, Map.of("agent", "plain-service", "host", "agent-host"));
            JsonNode grant = byId(http.get(users.grantsUrl(aliceId), admin).json(), grantId);
            assertEquals(3_600_000L, grant.path("expiresAt").asLong() - grant.path("createdAt").asLong());
            assertEquals(204, http.delete(users.grantsUrl(aliceId) + "/" + grantId, admin).status());

            Http.Response events = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO
                    + "/admin-events?operationTypes=UPDATE&max=200", admin);
            assertEquals(200, events.status(), events.body());
            JsonNode event = null;
            for (JsonNode e : events.json()) {
                if ("AGENT_AUTH_AGENT_POLICY".equals(e.path("resourceType").asText())
                        && e.path("resourcePath").asText().endsWith("agents/plain-service")) {
                    event = e;
                }
            }
            assertNotNull(event, events.body());
            assertTrue(event.path("representation").asText().contains("\"maxDepth\":2"), event.toString());
        } finally {
            removePolicyAttributes(admin, "plain-service");
        }
    }

    @Test
    void invalidPoliciesAreRefusedWithAClearMessage() {
        String admin = oidc.adminToken();
        String url = agents() + "/research-agent";
        assertBadRequest(http.putJson(url, admin, Map.of("agent", true, "maxDepth", 11)), "maxDepth", "between 1 and 10");
        assertBadRequest(http.putJson(url, admin, Map.of("agent", true, "maxDepth", 0)), "maxDepth", "between 1 and 10");
        assertBadRequest(http.putJson(url, admin, Map.of("agent", true, "grantLifetime", -5)), "grantLifetime", "positive number of seconds");
        assertBadRequest(http.putJson(url, admin, Map.of("agent", true, "allowedHosts", List.of("ghost-app"))), "allowedHosts", "'ghost-app'");
        assertBadRequest(http.putJson(url, admin, Map.of("agent", true, "downstreamAgents", List.of("ghost-agent"))), "downstreamAgents", "'ghost-agent'");
        assertBadRequest(http.putJson(url, admin, Map.of("agent", true, "allowedScopes", List.of("openid", "no-such-scope"))), "allowedScopes", "'no-such-scope'");
        assertBadRequest(http.putJson(url, admin, Map.of("agent", true, "allowedAudiences", List.of("not a client"))), "allowedAudiences", "contains a space");
        assertBadRequest(http.putJson(agents() + "/mcp-client", admin, Map.of("agent", true)), "agent", "confidential client with service accounts enabled");
        assertBadRequest(http.putJson(url, admin, Map.of("agent", true, "resourceUris", List.of("http://LOCALHOST:3000/mcp"))), "resourceUris",
                "already belongs to client 'calendar-agent'");
        assertBadRequest(http.putJson(url, admin, Map.of("agent", true, "resourceUris", List.of("relative/api"))), "resourceUris", "absolute URI");
        assertBadRequest(http.putJson(url, admin, Map.of("agent", true, "resourceClients", List.of("ghost-app"))), "resourceClients", "'ghost-app'");
        // malformed bodies are a 400 too, never a 500
        assertBadRequest(http.putJson(url, admin, "{"), null, "not a valid JSON agent policy");
        assertBadRequest(http.putJson(url, admin, "{\"maxdepth\": 3}"), "maxdepth", "Unknown field 'maxdepth'");
        assertBadRequest(http.putJson(url, admin, "{\"maxDepth\": \"three\"}"), "maxDepth", "Invalid value for 'maxDepth'");
        assertBadRequest(http.putJson(url, admin, "{\"allowedScopes\": \"openid\"}"), "allowedScopes", "Invalid value");
        assertBadRequest(http.putJson(url, admin, ""), null, "A JSON agent policy is required");
        assertBadRequest(http.putJson(url, admin, "[]"), null, "must be a JSON object");
        // list entries: null, empty and non-strings are errors, never skipped
        assertBadRequest(http.putJson(url, admin, "{\"agent\": true, \"allowedHosts\": [\"agent-host\", null]}"), "allowedHosts", "Entry 2 of 'allowedHosts' is null");
        assertBadRequest(http.putJson(url, admin, "{\"agent\": true, \"allowedScopes\": [\"\"]}"), "allowedScopes", "is empty");
        assertBadRequest(http.putJson(url, admin, "{\"agent\": true, \"downstreamAgents\": [null]}"), "downstreamAgents", "is null");
        assertBadRequest(http.putJson(url, admin, "{\"agent\": true, \"resourceUris\": [\" \"]}"), "resourceUris", "is empty");
        assertBadRequest(http.putJson(url, admin, "{\"agent\": true, \"allowedAudiences\": [42]}"), "allowedAudiences", "entry 1 is not a string");
        assertBadRequest(http.putJson(url, admin, "{\"agent\": true, \"allowedConnectors\": [false]}"), "allowedConnectors", "entry 1 is not a string");
        assertBadRequest(http.putJson(url, admin, "{\"maxDepth\": 3.5}"), "maxDepth", "Invalid value for 'maxDepth'");
        assertBadRequest(http.putJson(url, admin, "{\"agent\": \"true\"}"), "agent", "Invalid value for 'agent'");
        assertEquals(404, http.putJson(agents() + "/no-such-client", admin, Map.of("agent", true)).status());

        // nothing was written
        JsonNode p = http.get(url, admin).json().path("policy");
        assertEquals(3, p.path("maxDepth").asInt());
        assertEquals(List.of("agent-host"), list(p.path("allowedHosts")));
    }

    /** A second JSON document or garbage after the policy: refused, and nothing of the first document is stored. */
    @Test
    void trailingJsonIsRefusedAndNothingIsStored() {
        String admin = oidc.adminToken();
        String url = agents() + "/research-agent";
        String policy = "{\"agent\": true, \"allowedScopes\": [\"openid\"], \"allowedHosts\": [\"agent-host\", \"mcp-client\"], \"maxDepth\": 7}";
        for (String body : List.of(policy + " {\"x\":1}", policy + "garbage", policy + "]", policy + policy, policy + " null")) {
            assertBadRequest(http.putJson(url, admin, body), null, "one JSON agent policy with nothing after it");
        }
        // the same key twice is refused as well (which one would win is not for the server to guess)
        assertBadRequest(http.putJson(url, admin, "{\"agent\": true, \"maxDepth\": 7, \"maxDepth\": 2}"), "maxDepth", "appears more than once");

        JsonNode p = http.get(url, admin).json().path("policy");
        assertEquals(3, p.path("maxDepth").asInt(), "nothing stored");
        assertEquals(List.of("openid", "profile"), list(p.path("allowedScopes")));
        assertEquals(List.of("agent-host"), list(p.path("allowedHosts")));
        assertEquals("3", standardClient(admin, "research-agent").path("attributes").path("agent_auth.max_depth").asText());
    }

    @Test
    void usersWithoutRealmManagementRolesAreForbidden() {
        String alice = users.accessToken("alice");
        assertEquals(403, http.get(agents(), alice).status());
        assertEquals(403, http.get(agents() + "/research-agent", alice).status());
        assertEquals(403, http.putJson(agents() + "/research-agent", alice, Map.of("agent", true)).status());
        assertEquals(401, http.get(agents(), "not-a-token").status());

        // the demo realm's own admin (realm-management roles, no master account) may
        String agentAdmin = users.loginToHost("agent-admin", "agent-admin", "openid").get("access_token").asText();
        assertEquals(200, http.get(agents(), agentAdmin).status());
        assertEquals(200, http.get(agents() + "/research-agent", agentAdmin).status());
    }

    @Test
    void everyRealmHasThePageClientIncludingOnesCreatedLater() {
        String admin = oidc.adminToken();
        assertPageClient(admin, Oidc.DEMO);
        assertPageClient(admin, "master");
        String realm = "adminui-created-later";
        Http.Response created = http.postJson(server.baseUrl() + "/admin/realms", admin, Map.of("realm", realm, "enabled", true));
        assertEquals(201, created.status(), created.body());
        try {
            assertPageClient(admin, realm);
        } finally {
            assertEquals(204, http.delete(server.baseUrl() + "/admin/realms/" + realm, admin).status());
        }
    }

    @Test
    void theDemoRealmAdminSignsInThroughThePageClientWithPkceAndNoSecret() {
        String token = pageSignIn(Oidc.DEMO, "agent-admin", "agent-admin");
        assertEquals(200, http.get(agents(), token).status());
        // a master realm admin signs in to the master realm's page and manages another realm (?realm=agents-demo)
        String master = pageSignIn("master", KeycloakServer.ADMIN_USER, KeycloakServer.ADMIN_PASSWORD);
        assertEquals(200, http.get(agents() + "/research-agent", master).status());
        // an ordinary user gets a token too, but no access
        assertEquals(403, http.get(agents(), pageSignIn(Oidc.DEMO, "alice", "alice")).status());
    }

    @Test
    void pageIsServedWithAStrictContentSecurityPolicy() {
        String page = server.realmUrl(Oidc.DEMO) + "/agent-auth/admin/";
        Http.Response r = http.get(page);
        assertEquals(200, r.status(), r.body());
        assertTrue(r.header("Content-Type").startsWith("text/html"), r.header("Content-Type"));
        String csp = r.header("Content-Security-Policy");
        assertNotNull(csp);
        assertTrue(csp.contains("frame-ancestors 'none'"), csp);
        assertTrue(csp.contains("script-src 'self'"), csp);
        assertFalse(csp.contains("unsafe-inline") || csp.contains("unsafe-eval"), csp);
        assertEquals("no-store", r.header("Cache-Control"));
        assertTrue(r.body().contains("<script src=\"app.js\" defer></script>"), r.body());
        assertFalse(r.body().contains("<script>"), "no inline script");
        assertFalse(java.util.regex.Pattern.compile("\\son[a-z]+=").matcher(r.body()).find(), "no inline event handlers");

        Http.Response js = http.get(page + "app.js");
        assertEquals(200, js.status());
        assertTrue(js.header("Content-Type").startsWith("text/javascript"), js.header("Content-Type"));
        assertFalse(js.body().contains("innerHTML"), "data is rendered with textContent only");
        assertEquals(200, http.get(page + "app.css").status());
        assertEquals(404, http.get(page + "nothing-here.js").status());

        Http.Response noSlash = http.get(server.realmUrl(Oidc.DEMO) + "/agent-auth/admin?realm=x");
        assertEquals(302, noSlash.status());
        assertEquals("/realms/agents-demo/agent-auth/admin/?realm=x", noSlash.location());
    }

    // ------------------------------------------------------------------ helpers

    /** The page's sign-in done over HTTP: authorization code with PKCE S256 for the public client, redirect to the page. */
    private String pageSignIn(String realm, String username, String password) {
        String redirect = server.realmUrl(realm) + "/agent-auth/admin/";
        Pkce pkce = Pkce.create();
        Http.Response r = oidc.openAndLogin(new Http(), oidc.authUrl(realm, Form.of("client_id", PAGE_CLIENT,
                "redirect_uri", redirect, "response_type", "code", "scope", "openid", "state", "s1",
                "code_challenge", pkce.challenge(), "code_challenge_method", "S256").list()), username, password);
        assertEquals(302, r.status(), r.body());
        assertTrue(r.location().startsWith(redirect + "?"), r.location());
        String code = Oidc.params(r.location()).get("code");
        Http.Response token = new Http().postForm(oidc.tokenEndpoint(realm), Form.of("grant_type", "authorization_code",
                "code", code, "redirect_uri", redirect, "client_id", PAGE_CLIENT, "code_verifier", pkce.verifier()).list());
        assertEquals(200, token.status(), token.body());
        return token.json().get("access_token").asText();
    }

    private void assertPageClient(String admin, String realm) {
        Http.Response r = http.get(server.baseUrl() + "/admin/realms/" + realm + "/clients?clientId=" + PAGE_CLIENT, admin);
        assertEquals(200, r.status(), r.body());
        assertEquals(1, r.json().size(), PAGE_CLIENT + " missing in " + realm);
        JsonNode c = r.json().get(0);
        assertTrue(c.path("publicClient").asBoolean(), realm);
        assertTrue(c.path("standardFlowEnabled").asBoolean(), realm);
        assertFalse(c.path("implicitFlowEnabled").asBoolean(), realm);
        assertFalse(c.path("directAccessGrantsEnabled").asBoolean(), realm);
        assertFalse(c.path("serviceAccountsEnabled").asBoolean(), realm);
        assertEquals("S256", c.path("attributes").path("pkce.code.challenge.method").asText(), realm);
        assertEquals("${authBaseUrl}", c.path("rootUrl").asText(), realm);
        assertEquals(List.of("/realms/" + realm + "/agent-auth/admin/*"), list(c.path("redirectUris")), realm);
    }

    private JsonNode standardClient(String admin, String clientId) {
        Http.Response r = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients?clientId=" + clientId, admin);
        assertEquals(200, r.status(), r.body());
        return r.json().get(0);
    }

    /**
     * Puts the client back as the demo realm has it, not an agent, through the standard client API (which keeps
     * attributes missing from the representation, so each one is emptied).
     */
    private void removePolicyAttributes(String admin, String clientId) {
        ObjectNode c = (ObjectNode) standardClient(admin, clientId);
        ObjectNode attrs = (ObjectNode) c.path("attributes");
        List<String> names = new java.util.ArrayList<>();
        attrs.fieldNames().forEachRemaining(names::add);
        names.stream().filter(n -> n.startsWith("agent_auth.")).forEach(n -> attrs.put(n, ""));
        Http.Response r = http.putJson(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + c.path("id").asText(), admin, c.toString());
        assertEquals(204, r.status(), r.body());
        assertFalse(http.get(agents() + "/" + clientId, admin).json().path("agent").asBoolean(), "no longer an agent");
    }

    private static void assertBadRequest(Http.Response r, String field, String message) {
        assertEquals(400, r.status(), r.body());
        JsonNode body = r.json();
        assertTrue(body.path("errorMessage").asText().contains(message), body.toString());
        if (field != null) {
            boolean found = false;
            for (JsonNode e : body.path("errors")) {
                found |= field.equals(e.path("field").asText()) && e.path("errorMessage").asText().contains(message);
            }
            assertTrue(found, field + " not reported in " + body);
        }
    }

    static JsonNode byClientId(JsonNode array, String clientId) {
        for (JsonNode n : array) {
            if (clientId.equals(n.path("clientId").asText())) {
                return n;
            }
        }
        throw new AssertionError(clientId + " not in " + array);
    }

    private static JsonNode byId(JsonNode array, String id) {
        for (JsonNode n : array) {
            if (id.equals(n.path("id").asText())) {
                return n;
            }
        }
        throw new AssertionError(id + " not in " + array);
    }

    static List<String> list(JsonNode array) {
        List<String> out = new java.util.ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
