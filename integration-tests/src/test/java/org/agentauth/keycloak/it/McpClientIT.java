package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.Commands;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.NodeProcesses;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * MCP end to end with the official MCP TypeScript SDK: starts {@code examples/mcp-calendar} (the agent
 * calendar-agent as an MCP server on http://localhost:3000/mcp, strict audience) against this Keycloak and runs
 * {@code src/test/mcp/e2e.js}: SDK discovery, PKCE and {@code resource}, alice's login and the agent consent screen
 * in headless Chromium (Playwright), the SDK's token bound to the MCP server with {@code may_act}, the tool's token
 * exchange ({@code act}), 401 for tokens meant for another resource or none, and {@code invalid_target}; then the
 * brokered proxy through the MCP server: the tool {@code upstream_profile} answers a client that declared URL elicitation
 * with the elicitation (MCP error -32042, the connect link) and another with a tool error ({@code ConnectionRequired},
 * the link), alice opens the link in the same Chromium (connect page, upstream-saas login as alice-work, result page),
 * the eliciting client is told the elicitation is complete, and the tool then returns her upstream account,
 * {@code alice-work}; after the grant is revoked both tools report the SDK's {@code GrantRevoked}. The example runs on
 * the TypeScript SDK ({@code sdk/typescript}, {@code npm ci} there first: it builds the package the example installs).
 * Needs Node.js 20+ and npm (installs the pinned packages with {@code npm ci}); output in target/mcp/.
 */
@Order(40)
@ExtendWith(KeycloakServerExtension.class)
class McpClientIT {

    /** The demo realm's resource URI of calendar-agent (realm-exports/agents-demo.json). */
    private static final String DEMO_MCP_URL = "http://localhost:3000/mcp";
    /**
     * The MCP server's port: 3000 as in the demo, or {@code -Dagentauth.mcpPort} when another run already uses it (then
     * the test adds the URL to calendar-agent's resource URIs for its duration).
     */
    private static final int MCP_PORT = Integer.getInteger("agentauth.mcpPort", 3000);
    private static final String MCP_URL = "http://localhost:" + MCP_PORT + "/mcp";
    private static final String RESULT_PREFIX = "MCP-E2E-RESULT ";
    private static final String CONNECTOR = "demo-calendar";
    /** The upstream-saas account alice connects in the browser when the tool asks for one. */
    private static final String UPSTREAM_ACCOUNT = "alice-work";
    private static final Duration E2E_TIMEOUT = Duration.ofMinutes(5);

    private final KeycloakServer server;
    private final Path repo;
    private final Path out;

    McpClientIT(KeycloakServer server) throws IOException {
        this.server = server;
        this.repo = Path.of(required("agentauth.realmExports")).toAbsolutePath().normalize().getParent();
        this.out = Files.createDirectories(Path.of(required("agentauth.targetDir")).resolve("mcp"));
    }

    @Test
    void mcpSdkClientConsentsAndTheServerActsForTheUser() throws Exception {
        Path sdk = repo.resolve("sdk/typescript");
        Path example = repo.resolve("examples/mcp-calendar");
        Path e2e = repo.resolve("integration-tests/src/test/mcp");
        Commands.requireNode("McpClientIT");
        // the example depends on file:../../sdk/typescript, installed as a packed copy whose `prepare` builds it: the
        // SDK's own dependencies (TypeScript) must be there first (its unit tests, the MCP helper's too, run in SdkIT)
        NodeProcesses.npmCi(sdk, out.resolve("npm-ci-sdk-typescript.log"));
        NodeProcesses.npmCi(example, out.resolve("npm-ci-mcp-calendar.log"));
        NodeProcesses.npmCi(e2e, out.resolve("npm-ci-e2e.log"));
        NodeProcesses.assertPortFree(MCP_PORT);

        Path serverLog = out.resolve("mcp-server.log");
        ProcessBuilder spb = new ProcessBuilder("node", "server.js").directory(example.toFile())
                .redirectErrorStream(true).redirectOutput(serverLog.toFile());
        Map<String, String> senv = spb.environment();
        NodeProcesses.clearOverrides(senv);
        senv.put("KEYCLOAK_URL", server.baseUrl());
        senv.put("REALM", "agents-demo");
        senv.put("PORT", String.valueOf(MCP_PORT));
        senv.put("RESOURCE", MCP_URL);
        senv.put("AUDIENCE_MODE", "strict");
        senv.put("CONNECTOR", CONNECTOR);
        System.out.println("[mcp] starting examples/mcp-calendar on " + MCP_URL + " (log: " + serverLog + ")");
        Delegations admin = new Delegations(server);
        Map<String, String> before = MCP_URL.equals(DEMO_MCP_URL) ? null
                : admin.setAttributes("calendar-agent", Map.of("agent_auth.resource_uris", DEMO_MCP_URL + " " + MCP_URL));
        try {
            Process mcp = spb.start();
            try {
                NodeProcesses.waitForHttp(mcp, URI.create("http://localhost:" + MCP_PORT + "/.well-known/oauth-protected-resource/mcp"), serverLog);
                System.out.println("[mcp] examples/mcp-calendar is up");
                JsonNode result = runE2e(e2e);
                assertSummary(result);
            } finally {
                NodeProcesses.stop(mcp);
                System.out.println("[mcp] examples/mcp-calendar stopped");
            }
        } finally {
            if (before != null) {
                admin.setAttributes("calendar-agent", before);
            }
        }
        String log = Files.readString(serverLog, StandardCharsets.UTF_8);
        assertTrue(!Commands.JWT.matcher(log).find(), "a token-shaped string in " + serverLog);
        assertTrue(log.contains("\"msg\":\"delegated_identity ok\""), "the MCP server logged the delegated call: " + serverLog);
        assertTrue(log.contains("\"msg\":\"upstream_profile refused\"") && log.contains("\"msg\":\"upstream_profile ok\""),
                "the MCP server logged the proxy calls: " + serverLog);
        assertTrue(!log.contains(UPSTREAM_ACCOUNT), "the MCP server logs no upstream data: " + serverLog);
    }

    private JsonNode runE2e(Path dir) throws IOException, InterruptedException {
        Path log = out.resolve("e2e.log");
        Map<String, String> env = new HashMap<>();
        NodeProcesses.clearOverrides(env);
        env.put("KEYCLOAK_URL", server.baseUrl());
        env.put("REALM", "agents-demo");
        env.put("MCP_URL", MCP_URL);
        env.put("CONNECTOR", CONNECTOR);
        env.put("UPSTREAM_USERNAME", UPSTREAM_ACCOUNT);
        env.put("SCREENSHOT_DIR", Path.of(required("agentauth.targetDir")).resolve("screenshots").toString());
        env.put("CHROMIUM", System.getProperty("agentauth.chromium", "/usr/bin/chromium"));
        int exit = Commands.exitCode(dir, log, E2E_TIMEOUT, env, "[mcp-e2e]", "node", "e2e.js");
        String resultLine = Files.readAllLines(log, StandardCharsets.UTF_8).stream().filter(l -> l.startsWith(RESULT_PREFIX))
                .map(l -> l.substring(RESULT_PREFIX.length())).reduce((a, b) -> b).orElse(null);
        assertNotNull(resultLine, "e2e.js printed no " + RESULT_PREFIX.trim() + " line (exit " + exit + "); see " + log);
        JsonNode result = new ObjectMapper().readTree(resultLine);
        assertEquals(0, exit, "e2e.js failed in step " + result.path("failedStep").asText() + ": "
                + result.path("failure").asText() + " (see " + log + ")");
        return result;
    }

    private void assertSummary(JsonNode r) {
        assertTrue(r.path("ok").asBoolean(), r.toString());
        // a. discovery, PKCE, resource
        JsonNode authz = r.path("authorizationRequest");
        assertEquals(MCP_URL, authz.path("resource").asText());
        assertEquals("S256", authz.path("code_challenge_method").asText());
        assertTrue(List.of(authz.path("scope").asText().split(" ")).contains("delegation:client:calendar-agent"), authz.toString());
        assertTrue(r.path("discovery").toString().contains("/.well-known/oauth-protected-resource/mcp 200"), r.path("discovery").toString());
        assertEquals(MCP_URL, r.path("tokenRequest").path("resource").path(0).asText());
        // b. the agent consent screen, and the grant it recorded
        assertTrue(r.path("consent").path("title").asText().contains("Calendar Agent"), r.path("consent").toString());
        assertEquals("consent_scope", r.path("grant").path("origin").asText(), r.path("grant").toString());
        // c. the SDK's token and the tool
        JsonNode token = r.path("token");
        assertEquals(List.of(MCP_URL), strings(token.path("aud")), "the SDK's access token is for the MCP server only");
        assertEquals("calendar-agent", token.path("may_act").path("client_id").asText(), token.toString());
        JsonNode delegated = r.path("tool").path("delegated");
        assertEquals("calendar-agent", delegated.path("act").path("client_id").asText(), delegated.toString());
        assertEquals(r.path("tool").path("caller").path("sub").asText(), delegated.path("sub").asText(), "delegated sub = caller");
        // d. other audiences refused by the MCP server
        assertEquals(401, r.path("rejected").path("otherResource").path("status").asInt(), r.path("rejected").toString());
        assertEquals(List.of("http://localhost:3001/mcp"), strings(r.path("rejected").path("otherResource").path("aud")));
        assertEquals(401, r.path("rejected").path("noResource").path("status").asInt(), r.path("rejected").toString());
        // e. invalid_target
        JsonNode it = r.path("invalidTarget");
        assertEquals("invalid_target", it.path("authorize").path("error").asText(), it.toString());
        assertTrue(it.path("authorize").path("state_ok").asBoolean(), it.toString());
        assertEquals(server.realmUrl("agents-demo"), it.path("authorize").path("iss").asText());
        assertEquals(400, it.path("token").path("status").asInt(), it.toString());
        assertEquals("invalid_target", it.path("token").path("error").asText(), it.toString());
        // f. the brokered proxy's tool without a connected account: connection_required with this connector's connect link,
        // as URL elicitation (MCP error -32042) for the client that declared it, else as a tool error
        assertTrue(r.path("grant").path("connectors").toString().contains("\"" + CONNECTOR + "\""), r.path("grant").toString());
        JsonNode cr = r.path("connectionRequired");
        String connectorUri = server.realmUrl("agents-demo") + "/agent-auth/connectors/" + CONNECTOR;
        String connectLink = connectorUri + "/connect?client_id=calendar-agent";
        assertEquals("ConnectionRequired", cr.path("type").asText(), cr.toString());
        assertEquals("connection_required", cr.path("code").asText(), cr.toString());
        assertEquals(403, cr.path("status").asInt(), cr.toString());
        assertEquals(CONNECTOR, cr.path("connector").asText(), cr.toString());
        assertEquals(connectLink, cr.path("connect_uri").asText(), cr.toString());
        assertTrue(cr.path("instructions").asText().contains(connectLink), cr.toString());
        JsonNode el = r.path("urlElicitation");
        assertEquals(-32042, el.path("code").asInt(), el.toString());
        assertEquals("url", el.path("mode").asText(), el.toString());
        assertEquals(connectLink, el.path("url").asText(), el.toString());
        // g. alice connected alice-work through that link in Chromium
        assertEquals(UPSTREAM_ACCOUNT, r.path("connected").path("connection").path("account").asText(), r.path("connected").toString());
        // h. the eliciting client heard that its elicitation is complete; the tool again: alice's upstream account through the proxy
        assertEquals(el.path("elicitationId").asText(), r.path("elicitationCompleted").asText(), r.toString());
        JsonNode up = r.path("upstreamProfile");
        assertEquals(UPSTREAM_ACCOUNT, up.path("account").asText(), up.toString());
        assertEquals(UPSTREAM_ACCOUNT, up.path("profile").path("preferred_username").asText(), up.toString());
        assertEquals(r.path("connected").path("connection").path("id").asText(), up.path("connection_id").asText(), up.toString());
        assertEquals("connection_not_found", r.path("upstreamUnknownConnection").path("code").asText(), r.toString());
        assertEquals(404, r.path("upstreamUnknownConnection").path("status").asInt(), r.toString());
        // i. Keycloak's refusal after revocation reaches the MCP client as a tool error: the SDK's GrantRevoked with the OAuth error
        JsonNode te = r.path("revokedGrantToolError");
        assertEquals("GrantRevoked", te.path("type").asText(), te.toString());
        assertEquals(400, te.path("status").asInt(), te.toString());
        assertTrue(List.of("invalid_request", "invalid_grant").contains(te.path("code").asText()), te.toString());
        JsonNode ute = r.path("revokedGrantUpstreamToolError");
        assertEquals("GrantRevoked", ute.path("type").asText(), ute.toString());
        assertEquals(400, ute.path("status").asInt(), ute.toString());
        System.out.println("[mcp] screenshots: " + r.path("screenshots"));
    }

    // ---- processes

    private static List<String> strings(JsonNode n) {
        List<String> out = new ArrayList<>();
        if (n.isArray()) {
            n.forEach(x -> out.add(x.asText()));
        } else if (n.isTextual()) {
            out.add(n.asText());
        }
        return out;
    }

    private static String required(String name) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("System property " + name + " is not set (run the tests through ./run-tests.sh or mvn verify)");
        }
        return v;
    }
}
