package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import javax.xml.parsers.DocumentBuilderFactory;
import org.agentauth.keycloak.it.support.Commands;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The agent's half (issue 22): each SDK's own suites against this Keycloak, as an agent developer would run them.
 * <ul>
 * <li>TypeScript ({@code sdk/typescript}): {@code npm ci} (which builds the package), the unit tests ({@code npm test}),
 * then {@code npm run e2e}: the whole story on the demo realm with fresh users, the browser steps in headless Chromium,
 * the README's quick start as written, headless approval (CIBA: Allow and Deny on the self-service page while
 * waitForApproval polls, the timeout, the expiry, a fresh actor JWT per poll), and the MCP-server helper with the
 * official MCP SDK client (tool error with the
 * link, URL elicitation, connect, completion notice, retry), and the framework adapters (LangGraph.js interrupt, the
 * Vercel AI SDK's tool approval, each through connect and resume); each program's summary line is checked here.</li>
 * <li>Python ({@code sdk/python}): a virtual environment this test creates under target/ from PyPI with the pinned
 * {@code constraints.txt}, the package installed from the checkout with its extras (MCP, LangGraph, OpenAI Agents SDK,
 * tests), then pytest over the unit and end-to-end tests (the core, headless approval, the MCP-server helper, the adapters and the example
 * agent); its JUnit report must show every test run and passed, none skipped.</li>
 * </ul>
 * No log of either may hold a token-shaped string. Output in target/sdk/.
 */
@Order(44)
@ExtendWith(KeycloakServerExtension.class)
class SdkIT {

    /** The demo realm's resource URI of calendar-agent, and the one the MCP helper's story serves (see McpClientIT). */
    private static final String DEMO_MCP_URL = "http://localhost:3000/mcp";
    private static final String MCP_URL = "http://localhost:" + Integer.getInteger("agentauth.mcpPort", 3000) + "/mcp";
    private static final Duration INSTALL_LIMIT = Duration.ofMinutes(Long.getLong("agentauth.npmTimeoutMinutes", 10));
    private static final Duration SUITE_LIMIT = Duration.ofMinutes(10);

    private final KeycloakServer server;
    private final Path repo;
    private final Path out;

    SdkIT(KeycloakServer server) throws IOException {
        this.server = server;
        this.repo = Path.of(required("agentauth.realmExports")).toAbsolutePath().normalize().getParent();
        this.out = Files.createDirectories(Path.of(required("agentauth.targetDir")).resolve("sdk"));
    }

    /** What the suites need to find this server and the browser; nothing left over from the shell. */
    private Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        env.put("KEYCLOAK_URL", server.baseUrl());
        env.put("REALM", "agents-demo");
        env.put("CHROMIUM", System.getProperty("agentauth.chromium", "/usr/bin/chromium"));
        env.put("SCREENSHOT_DIR", Path.of(required("agentauth.targetDir")).resolve("screenshots").resolve("sdk").toString());
        env.put("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        env.put("PIP_DISABLE_PIP_VERSION_CHECK", "1");
        for (String k : List.of("KEYCLOAK_ADMIN", "KEYCLOAK_ADMIN_PASSWORD", "CLIENT_ID", "CLIENT_SECRET", "CONNECTOR", "NODE_OPTIONS",
                "PYTHONPATH", "VIRTUAL_ENV")) {
            env.put(k, null);
        }
        return env;
    }

    @Test
    void theTypeScriptSdkRunsTheWholeStory() throws Exception {
        Path sdk = repo.resolve("sdk/typescript");
        Commands.requireNode("SdkIT");
        Map<String, String> env = env();
        Commands.run(sdk, out.resolve("ts-npm-ci.log"), INSTALL_LIMIT, env, "[sdk-ts]", "npm", "ci", "--no-audit", "--no-fund");
        Path unit = out.resolve("ts-unit.log");
        String unitOut = Commands.run(sdk, unit, SUITE_LIMIT, env, "[sdk-ts]", "npm", "test");
        assertNodeTestSummary(unitOut, unit);
        Path e2e = out.resolve("ts-e2e.log");
        // the MCP helper's story serves an MCP server on the demo's resource URI (or, when another run holds port 3000,
        // on -Dagentauth.mcpPort, added to calendar-agent's resource URIs for the test's duration)
        env.put("MCP_RESOURCE", MCP_URL);
        Delegations admin = new Delegations(server);
        Map<String, String> before = MCP_URL.equals(DEMO_MCP_URL) ? null
                : admin.setAttributes("calendar-agent", Map.of("agent_auth.resource_uris", DEMO_MCP_URL + " " + MCP_URL));
        String e2eOut;
        try {
            e2eOut = Commands.run(sdk, e2e, SUITE_LIMIT, env, "[sdk-ts]", "npm", "run", "e2e");
        } finally {
            if (before != null) {
                admin.setAttributes("calendar-agent", before);
            }
        }
        // five programs, one summary line each: the core story, the README's quick start as written, headless approval
        // (CIBA), the MCP helper, the framework adapters (LangGraph.js interrupt, AI SDK tool approval)
        for (String name : List.of("SDK-E2E-RESULT", "SDK-QUICKSTART-RESULT", "SDK-CIBA-E2E-RESULT", "SDK-MCP-E2E-RESULT",
                "SDK-ADAPTERS-E2E-RESULT")) {
            String line = e2eOut.lines().filter(l -> l.startsWith(name + " ")).reduce((a, b) -> b).orElse(null);
            assertNotNull(line, "npm run e2e printed no " + name + " line; see " + e2e);
            JsonNode result = new ObjectMapper().readTree(line.substring(name.length() + 1));
            assertTrue(result.path("ok").asBoolean(), name + ": " + result);
            System.out.println("[sdk-ts] " + name + ": " + result);
        }
        for (Path log : List.of(unit, e2e)) {
            Commands.assertNoToken(log);
        }
    }

    @Test
    void thePythonSdkRunsTheWholeStory() throws Exception {
        Path sdk = repo.resolve("sdk/python");
        String python = System.getProperty("agentauth.python", "python3");
        Map<String, String> env = env();
        Path venv = out.resolve("python-venv");
        if (!Files.isExecutable(venv.resolve("bin/python"))) {
            Commands.run(out, out.resolve("py-venv.log"), INSTALL_LIMIT, env, "[sdk-py]", python, "-m", "venv", venv.toString());
        }
        String py = venv.resolve("bin/python").toString();
        Commands.run(sdk, out.resolve("py-pip-install.log"), INSTALL_LIMIT, env, "[sdk-py]", py, "-m", "pip", "install", "-q",
                "-c", "constraints.txt", "-e", ".[test,mcp,langgraph,openai-agents]");
        Path report = out.resolve("pytest.xml");
        Files.deleteIfExists(report);
        Path log = out.resolve("py-pytest.log");
        Commands.run(sdk, log, SUITE_LIMIT, env, "[sdk-py]", py, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                "--junitxml=" + report, "tests", "../../examples/python-calendar-agent");
        assertJunitReport(report);
        Commands.assertNoToken(log);
    }

    /**
     * The README's quick starts are the SDK guides' ones, which the suites above run as written (the TypeScript block
     * between the quickstart markers, the first Python block under "Quick start"): a change to one that is not made to
     * the other fails here.
     */
    @Test
    void theReadmeShowsTheQuickStartsTheSuitesRun() throws IOException {
        String readme = Files.readString(repo.resolve("README.md"));
        String ts = Files.readString(repo.resolve("sdk/typescript/README.md"));
        String tsBlock = ts.split("<!-- quickstart:begin -->", 2)[1].split("<!-- quickstart:end -->", 2)[0].strip();
        assertTrue(readme.contains(tsBlock), "README.md's TypeScript quick start differs from sdk/typescript/README.md's");
        String py = Files.readString(repo.resolve("sdk/python/README.md")).split("## Quick start", 2)[1];
        int start = py.indexOf("```python\n");
        String pyBlock = py.substring(start, py.indexOf("```\n", start + 10) + 3);
        assertTrue(readme.contains(pyBlock), "README.md's Python quick start differs from sdk/python/README.md's");
        for (String block : List.of(tsBlock, pyBlock)) {
            long code = block.lines().filter(l -> !l.isBlank() && !l.startsWith("```")).count();
            assertTrue(code <= 20, "a quick start of at most 20 lines, found " + code + ":\n" + block);
        }
    }

    /** node --test's closing lines: tests run, none failed, skipped, cancelled or left as todo. */
    private static void assertNodeTestSummary(String output, Path log) {
        Map<String, Integer> counts = new HashMap<>();
        output.lines().map(String::trim).filter(l -> l.matches("^(#|ℹ) (tests|pass|fail|cancelled|skipped|todo) \\d+$"))
                .forEach(l -> {
                    String[] p = l.split(" ");
                    counts.put(p[1], Integer.parseInt(p[2]));
                });
        assertTrue(counts.getOrDefault("tests", 0) > 0, "no node --test summary in " + log + ": " + counts);
        assertEquals(counts.get("tests"), counts.get("pass"), "every test passed: " + counts + " (see " + log + ")");
        for (String k : List.of("fail", "cancelled", "skipped", "todo")) {
            assertEquals(0, counts.getOrDefault(k, 0), k + ": " + counts + " (see " + log + ")");
        }
        System.out.println("[sdk-ts] unit tests: " + counts);
    }

    /** pytest's JUnit report: every test passed, none skipped; the end-to-end tests were among them. */
    private static void assertJunitReport(Path report) throws Exception {
        assertTrue(Files.exists(report), "pytest wrote no " + report);
        var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(report.toFile());
        NodeList cases = doc.getElementsByTagName("testcase");
        int total = cases.getLength();
        TreeSet<String> problems = new TreeSet<>();
        TreeSet<String> modules = new TreeSet<>();
        for (int i = 0; i < total; i++) {
            Element c = (Element) cases.item(i);
            String name = c.getAttribute("classname") + "." + c.getAttribute("name");
            modules.add(c.getAttribute("classname").replaceFirst("\\.[A-Z][A-Za-z0-9_]*$", ""));
            for (String bad : List.of("failure", "error", "skipped")) {
                if (c.getElementsByTagName(bad).getLength() > 0) {
                    problems.add(bad + ": " + name);
                }
            }
        }
        System.out.println("[sdk-py] pytest: " + total + " tests in " + modules);
        assertTrue(total > 0, "pytest ran no test");
        if (!problems.isEmpty()) {
            fail("pytest: " + problems.size() + " of " + total + " not passed: " + problems);
        }
        assertTrue(modules.stream().anyMatch(m -> m.contains("e2e")), "the end-to-end tests ran: " + modules);
    }

    private static String required(String name) {
        String v = System.getProperty(name);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException("System property " + name + " is not set (run the tests through ./run-tests.sh or mvn verify)");
        }
        return v;
    }
}
