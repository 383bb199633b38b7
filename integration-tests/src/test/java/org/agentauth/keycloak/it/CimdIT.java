package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.WaitForSelectorState;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.CimdDocumentServer;
import org.agentauth.keycloak.it.support.CimdDocumentServer.Answer;
import org.agentauth.keycloak.it.support.CimdTestTls;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Commands;
import org.agentauth.keycloak.it.support.NodeProcesses;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.agentauth.keycloak.it.support.TestRealm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Clients without registration: client ID metadata documents (DESIGN section 11) against the real server, with an HTTPS
 * document server on loopback whose certificate comes from a test CA that Keycloak trusts ({@code --truststore-paths})
 * and that counts every fetch. A realm with CIMD on serves a URL client by fetching its document and creating a public
 * client (PKCE S256, consent, exact redirects with loopback on any port), at the authorization endpoint and at PAR; every
 * refusal is an error page or a 400 without a redirect; a bad URL, a host the realm refuses, an internal address
 * (literal or by name) and the cap are refused with no fetch at all; documents are kept for cacheSeconds (less when
 * Cache-Control says so) and errors never; a client an admin registered with a URL id is never fetched; a changed
 * redirect set revokes consents and refresh tokens; a realm with CIMD off behaves as stock Keycloak; discovery
 * advertises CIMD only where it is on.
 */
@ExtendWith(KeycloakServerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CimdIT {

    private static final String REALM = "cimd-it";

    private final KeycloakServer server;
    private final Oidc oidc;
    private CimdDocumentServer docs;
    private TestRealm realm;

    CimdIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
    }

    @BeforeAll
    void start() throws Exception {
        docs = new CimdDocumentServer();
        realm = TestRealm.create(server, REALM, List.of("alice", "viewer"), List.of());
        Http.Response r = putSettings(REALM, Map.of("enabled", true, "deniedHosts", List.of("denied.example", "*.blocked.example")));
        assertEquals(200, r.status(), r.toString());
    }

    @AfterAll
    void stop() {
        if (docs != null) {
            docs.close();
        }
        if (realm != null) {
            realm.close();
        }
    }

    // ---- helpers

    private Http.Response putSettings(String realmName, Map<String, Object> settings) {
        return new Http().putJson(server.baseUrl() + "/admin/realms/" + realmName + "/agent-auth/cimd", oidc.adminToken(), settings);
    }

    private String document(String path, String name, List<String> redirects) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("client_id", docs.url(path));
        d.put("client_name", name);
        d.put("redirect_uris", redirects);
        d.put("grant_types", List.of("authorization_code", "refresh_token"));
        d.put("token_endpoint_auth_method", "none");
        d.put("logo_uri", "https://localhost/logo.png");
        d.put("software_id", "an unknown member, ignored");
        try {
            return Http.JSON.writeValueAsString(d);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void serve(String path, List<String> redirects) {
        docs.set(path, Answer.json(document(path, "Example MCP client", redirects)));
    }

    private String authUrl(String realmName, String clientId, String redirect, Pkce pkce) {
        List<Map.Entry<String, String>> p = new ArrayList<>(Form.of("client_id", clientId, "redirect_uri", redirect, "response_type", "code",
                "scope", "openid", "state", "st-1").list());
        if (pkce != null) {
            p.add(Map.entry("code_challenge", pkce.challenge()));
            p.add(Map.entry("code_challenge_method", "S256"));
        }
        return oidc.authUrl(realmName, p);
    }

    /** An error page for a refused request: HTTP 400, no redirect anywhere, the reason on the page. */
    private static void assertRefusedPage(Http.Response r, String reason) {
        assertEquals(400, r.status(), r.toString());
        assertNull(r.header("Location"), "no redirect for a refused client: " + r);
        assertTrue(Oidc.unescapeHtml(r.body()).contains(reason), "page should say '" + reason + "': " + r.body());
    }

    private JsonNode client(String realmName, String clientId) {
        Http.Response r = new Http().get(server.baseUrl() + "/admin/realms/" + realmName + "/clients?clientId=" + Http.urlEncode(clientId),
                oidc.adminToken());
        assertEquals(200, r.status(), r.toString());
        return r.json().size() == 0 ? null : r.json().get(0);
    }

    /** Keycloak's consent page that {@link #loginAndConsent} accepted last (HTML entities decoded). */
    private String lastConsentPage;

    /** Logs alice in, accepts Keycloak's consent page when it comes, returns the redirect with the code. */
    private Http.Response loginAndConsent(Http browser, String authUrl) {
        Http.Response r = followWithinKeycloak(browser, oidc.openAndLogin(browser, authUrl, "alice", "alice"));
        if (r.status() == 200 && r.body().contains("name=\"accept\"")) {
            lastConsentPage = Oidc.unescapeHtml(r.body());
            Matcher form = Pattern.compile("<form[^>]*action=\"([^\"]*login-actions/consent[^\"]*)\"[^>]*>(.*?)</form>", Pattern.DOTALL).matcher(r.body());
            assertTrue(form.find(), "consent form: " + r.body());
            Matcher code = Pattern.compile("name=\"code\" value=\"([^\"]*)\"").matcher(form.group(2));
            assertTrue(code.find());
            String action = Oidc.unescapeHtml(form.group(1));
            r = browser.postForm(action.startsWith("/") ? server.baseUrl() + action : action, List.of(Map.entry("code", Oidc.unescapeHtml(code.group(1))),
                    Map.entry("accept", "Yes")));
        }
        return followWithinKeycloak(browser, r);
    }

    /** Follows redirects as long as they stay on the Keycloak server (required actions); returns the first other answer. */
    private Http.Response followWithinKeycloak(Http browser, Http.Response r) {
        for (int i = 0; i < 5 && r.status() == 302 && r.location() != null && r.location().startsWith(server.baseUrl()); i++) {
            r = browser.get(r.location());
        }
        return r;
    }

    private Http.Response redeem(String realmName, String clientId, String code, String redirect, Pkce pkce) {
        return new Http().postForm(oidc.tokenEndpoint(realmName), Form.of("grant_type", "authorization_code", "code", code,
                "redirect_uri", redirect, "code_verifier", pkce.verifier(), "client_id", clientId).list());
    }

    private JsonNode events(String realmName, String type) {
        Http.Response r = new Http().get(server.baseUrl() + "/admin/realms/" + realmName + "/events?type=" + type + "&max=100", oidc.adminToken());
        assertEquals(200, r.status(), r.toString());
        return r.json();
    }

    private boolean eventWith(String realmName, String type, String clientId, String fetch) {
        for (JsonNode e : events(realmName, type)) {
            if (clientId.equals(e.path("clientId").asText(null)) && fetch.equals(e.path("details").path("cimd_fetch").asText())) {
                return true;
            }
        }
        return false;
    }

    // ---- the hook and the client it makes

    @Test
    void aDocumentBecomesAPublicConsentPkceClientAndTheFlowCompletes() throws Exception {
        String path = "/mcp/good.json";
        serve(path, List.of("http://127.0.0.1:3000/callback", "https://localhost/app/cb"));
        String clientId = docs.url(path);
        String redirect = "http://127.0.0.1:47123/callback"; // another port than the document's: RFC 8252 loopback
        Pkce pkce = Pkce.create();
        Http browser = new Http();

        Http.Response code = loginAndConsent(browser, authUrl(REALM, clientId, redirect, pkce));
        assertEquals(302, code.status(), code.toString());
        assertTrue(code.location().startsWith(redirect + "?"), code.location());
        assertEquals(1, docs.hits(path), "fetched once");
        // Keycloak's consent screen: titled with the host; the self-declared name marked as such, the redirect hosts
        assertTrue(lastConsentPage.contains("localhost"), lastConsentPage);
        assertTrue(lastConsentPage.contains("Calls itself \"Example MCP client\" (self-declared, not verified); sends you back to 127.0.0.1, localhost"),
                lastConsentPage);
        assertFalse(lastConsentPage.contains("Every redirect is on this computer"), "not every redirect is loopback");

        JsonNode c = client(REALM, clientId);
        assertNotNull(c, "the client exists");
        assertTrue(c.path("publicClient").asBoolean());
        assertTrue(c.path("consentRequired").asBoolean());
        assertFalse(c.path("fullScopeAllowed").asBoolean());
        assertFalse(c.path("directAccessGrantsEnabled").asBoolean());
        assertFalse(c.path("implicitFlowEnabled").asBoolean());
        assertFalse(c.path("serviceAccountsEnabled").asBoolean());
        assertEquals("S256", c.path("attributes").path("pkce.code.challenge.method").asText());
        assertEquals("localhost", c.path("name").asText(), "named by its host, not by the self-declared name");
        assertEquals("Example MCP client", c.path("attributes").path("agent-auth.cimd.client-name").asText());
        List<String> stored = new ArrayList<>();
        c.path("redirectUris").forEach(u -> stored.add(u.asText()));
        assertEquals(2, stored.size(), stored.toString());
        assertTrue(stored.contains("http://127.0.0.1/callback") && stored.contains("https://localhost/app/cb"), stored.toString());
        assertTrue(stored.stream().noneMatch(u -> u.contains("*")));

        Http.Response token = redeem(REALM, clientId, Oidc.params(code.location()).get("code"), redirect, pkce);
        assertEquals(200, token.status(), token.toString());
        JsonNode claims = Oidc.claims(token.json().path("access_token").asText());
        assertEquals(clientId, claims.path("azp").asText());
        assertTrue(eventWith(REALM, "CLIENT_REGISTER", clientId, "ok"), "CLIENT_REGISTER event with the fetch result");

        // cached: the next request, on yet another port, fetches nothing
        Http.Response again = new Http().get(authUrl(REALM, clientId, "http://127.0.0.1:5999/callback", Pkce.create()));
        assertEquals(200, again.status(), again.toString());
        assertTrue(again.body().contains("kc-form-login"));
        assertEquals(1, docs.hits(path), "a fresh document is not fetched again");

        // exact redirects only: another path, a query added, a wildcard's would-be match
        for (String bad : List.of("http://127.0.0.1:3000/callback/x", "https://localhost/app/cb/x", "https://localhost/app/cb?x=1", "http://localhost:3000/callback")) {
            Http.Response r = new Http().get(authUrl(REALM, clientId, bad, Pkce.create()));
            assertEquals(400, r.status(), bad + ": " + r);
            assertNull(r.header("Location"), bad);
        }
        // PKCE is required (Keycloak's own check, on the client's attribute): an error back to the validated redirect
        Http.Response noPkce = new Http().get(authUrl(REALM, clientId, redirect, null));
        assertEquals(302, noPkce.status(), noPkce.toString());
        assertEquals("invalid_request", Oidc.params(noPkce.location()).get("error"), noPkce.location());
    }

    @Test
    void parallelFirstRequestsMakeOneClientAndNoError() throws Exception {
        String path = "/mcp/parallel.json";
        serve(path, List.of("http://127.0.0.1/cb"));
        String url = authUrl(REALM, docs.url(path), "http://127.0.0.1:9123/cb", Pkce.create());
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(6);
        try {
            List<java.util.concurrent.Future<Http.Response>> answers = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                answers.add(pool.submit(() -> new Http().get(url)));
            }
            for (java.util.concurrent.Future<Http.Response> f : answers) {
                Http.Response r = f.get(60, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(200, r.status(), r.toString());
                assertTrue(r.body().contains("kc-form-login"));
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, docs.hits(path), "one fetch for six parallel first requests");
        Http.Response list = new Http().get(server.baseUrl() + "/admin/realms/" + REALM + "/clients?clientId=" + Http.urlEncode(docs.url(path)),
                oidc.adminToken());
        assertEquals(1, list.json().size(), list.toString());
    }

    @Test
    void theSameAtPar() {
        String path = "/mcp/par.json";
        serve(path, List.of("http://127.0.0.1/cb"));
        String clientId = docs.url(path);
        Pkce pkce = Pkce.create();
        String par = server.realmUrl(REALM) + "/protocol/openid-connect/ext/par/request";
        Http.Response pushed = new Http().postForm(par, Form.of("client_id", clientId, "response_type", "code", "redirect_uri", "http://127.0.0.1:8765/cb",
                "scope", "openid", "code_challenge", pkce.challenge(), "code_challenge_method", "S256").list());
        assertEquals(201, pushed.status(), pushed.toString());
        assertEquals(1, docs.hits(path));
        String requestUri = pushed.json().path("request_uri").asText();
        Http browser = new Http();
        Http.Response page = followWithinKeycloak(browser, browser.get(oidc.authUrl(REALM, Form.of("client_id", clientId, "request_uri", requestUri).list())));
        assertEquals(200, page.status(), page + " " + page.location());
        assertTrue(page.body().contains("kc-form-login"));
        assertEquals(1, docs.hits(path));

        String bad = "/mcp/par-bad.json";
        docs.set(bad, Answer.json("{\"client_id\":\"" + docs.url(bad) + "\",\"redirect_uris\":[\"http://127.0.0.1/cb\"]}"));
        Http.Response refused = new Http().postForm(par, Form.of("client_id", docs.url(bad), "response_type", "code", "redirect_uri", "http://127.0.0.1/cb",
                "code_challenge", pkce.challenge(), "code_challenge_method", "S256").list());
        assertEquals(400, refused.status(), refused.toString());
        assertEquals("invalid_client", refused.json().path("error").asText());
        assertTrue(refused.json().path("error_description").asText().contains("client_name"), refused.toString());
        assertNull(client(REALM, docs.url(bad)));
    }

    @Test
    void aClientRegisteredWithAUrlIdIsNeverFetched() {
        String path = "/mcp/registered.json";
        String clientId = docs.url(path);
        Map<String, Object> rep = new LinkedHashMap<>();
        rep.put("clientId", clientId);
        rep.put("publicClient", true);
        rep.put("redirectUris", List.of("http://127.0.0.1/registered"));
        rep.put("protocol", "openid-connect");
        Http.Response created = new Http().postJson(server.baseUrl() + "/admin/realms/" + REALM + "/clients", oidc.adminToken(), rep);
        assertEquals(201, created.status(), created.toString());
        Http.Response r = new Http().get(authUrl(REALM, clientId, "http://127.0.0.1/registered", Pkce.create()));
        assertEquals(200, r.status(), r.toString());
        assertTrue(r.body().contains("kc-form-login"));
        assertEquals(0, docs.hits(path), "never fetched");
    }

    // ---- refusals

    @Test
    void badUrlsAndRefusedHostsAreNeverFetched() {
        int before = docs.total();
        String p = "https://localhost:" + docs.port();
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put(p + "/a/../x.json", "dot segments");
        cases.put(p + "/a/%2e%2e/x.json", "dot segments");
        cases.put(p + "/", "must have a path");
        cases.put("https://user@localhost:" + docs.port() + "/x.json", "user name");
        cases.put(p + "/x.json#frag", "fragment");
        cases.put(p + "/" + "a".repeat(300), "longer than 255");
        cases.put("https://denied.example/x.json", "does not accept client metadata documents from denied.example");
        cases.put("https://a.blocked.example/x.json", "does not accept client metadata documents from a.blocked.example");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Http.Response r = new Http().get(authUrl(REALM, c.getKey(), "http://127.0.0.1/cb", Pkce.create()));
            assertRefusedPage(r, c.getValue());
        }
        // not https: not a metadata document client at all, Keycloak's own "client not found"
        Http.Response http = new Http().get(authUrl(REALM, "http://localhost:" + docs.port() + "/x.json", "http://127.0.0.1/cb", Pkce.create()));
        assertEquals(400, http.status(), http.toString());
        assertNull(http.header("Location"));
        assertEquals(before, docs.total(), "nothing fetched for a bad URL or a refused host");
    }

    @Test
    void internalAddressesAreNeverFetchedByLiteralOrByName() {
        int before = docs.total();
        int port = docs.port();
        List<String> urls = new ArrayList<>(List.of("https://127.0.0.1:" + port + "/ssrf.json", "https://[::1]:" + port + "/ssrf.json",
                "https://[::ffff:127.0.0.1]:" + port + "/ssrf.json", "https://[::7f00:1]:" + port + "/ssrf.json",
                "https://[64:ff9b::7f00:1]:" + port + "/ssrf.json", "https://[2002:7f00:1::]:" + port + "/ssrf.json",
                "https://10.0.0.1/ssrf.json", "https://192.168.1.1/ssrf.json", "https://169.254.169.254/latest/meta-data",
                "https://[fe80::1]/ssrf.json", "https://[fd00::1]/ssrf.json", "https://[::]/ssrf.json", "https://0.0.0.0:" + port + "/ssrf.json",
                "https://127.1:" + port + "/ssrf.json"));
        for (String[] n : CimdTestTls.NAMES) {
            urls.add("https://" + n[1] + ":" + port + "/ssrf.json");
        }
        for (String url : urls) {
            Http.Response r = new Http().get(authUrl(REALM, url, "http://127.0.0.1/cb", Pkce.create()));
            assertEquals(400, r.status(), url + ": " + r);
            assertNull(r.header("Location"), url);
            assertNull(client(REALM, url), url);
        }
        assertEquals(before, docs.total(), "zero fetches for internal addresses");
        assertTrue(eventWith(REALM, "CLIENT_REGISTER_ERROR", "https://cimd-loopback.test:" + port + "/ssrf.json", "address_refused"));
        assertTrue(eventWith(REALM, "CLIENT_REGISTER_ERROR", "https://169.254.169.254/latest/meta-data", "address_refused"));
    }

    @Test
    void badDocumentsAreRefusedWithoutRedirect() {
        String cb = "http://127.0.0.1/cb";
        Map<String, Object[]> cases = new LinkedHashMap<>();
        cases.put("/bad/mismatch.json", new Object[] {Answer.json("{\"client_id\":\"https://localhost/other.json\",\"client_name\":\"X\",\"redirect_uris\":[\"" + cb + "\"]}"),
                "client_id must equal the URL"});
        cases.put("/bad/noname.json", new Object[] {null, "client_name"});
        cases.put("/bad/wildcard.json", new Object[] {null, "wildcards are not allowed"});
        cases.put("/bad/secret.json", new Object[] {null, "must not contain a client secret"});
        cases.put("/bad/basic.json", new Object[] {null, "must be none or private_key_jwt"});
        cases.put("/bad/jwt.json", new Object[] {null, "requires exactly one of jwks and jwks_uri"});
        cases.put("/bad/redirect.json", new Object[] {new Answer(302, "text/plain", new byte[0], Map.of("Location", docs.url("/bad/redirect-target.json")), 0),
                "redirects are not followed"});
        cases.put("/bad/missing.json", new Object[] {null, "HTTP 404"});
        cases.put("/bad/html.json", new Object[] {new Answer(200, "text/html", "<html></html>".getBytes(), Map.of(), 0), "not served as JSON"});
        cases.put("/bad/large.json", new Object[] {null, "larger than 5120 bytes"});
        cases.put("/bad/notjson.json", new Object[] {new Answer(200, "application/json", "{not json".getBytes(), Map.of(), 0), "not valid JSON"});
        cases.put("/bad/otherredirect.json", new Object[] {null, "not one of the redirect_uris"});
        serve("/bad/redirect-target.json", List.of(cb));
        docs.set("/bad/noname.json", Answer.json("{\"client_id\":\"" + docs.url("/bad/noname.json") + "\",\"redirect_uris\":[\"" + cb + "\"]}"));
        docs.set("/bad/wildcard.json", Answer.json(document("/bad/wildcard.json", "W", List.of("http://127.0.0.1/*"))));
        docs.set("/bad/secret.json", Answer.json(document("/bad/secret.json", "S", List.of(cb)).replace("{", "{\"client_secret\":\"do-not-log-me\",")));
        docs.set("/bad/basic.json", Answer.json(document("/bad/basic.json", "B", List.of(cb)).replace("\"none\"", "\"client_secret_basic\"")));
        docs.set("/bad/jwt.json", Answer.json(document("/bad/jwt.json", "J", List.of(cb)).replace("\"none\"", "\"private_key_jwt\"")));
        docs.set("/bad/large.json", Answer.json(document("/bad/large.json", "L", List.of(cb)).replace("{", "{\"padding\":\"" + "x".repeat(6000) + "\",")));
        docs.set("/bad/otherredirect.json", Answer.json(document("/bad/otherredirect.json", "O", List.of("https://localhost/elsewhere"))));
        for (Map.Entry<String, Object[]> c : cases.entrySet()) {
            if (c.getValue()[0] != null) {
                docs.set(c.getKey(), (Answer) c.getValue()[0]);
            }
            String url = docs.url(c.getKey());
            Http.Response r = new Http().get(authUrl(REALM, url, cb, Pkce.create()));
            assertRefusedPage(r, (String) c.getValue()[1]);
            assertEquals(1, docs.hits(c.getKey()), c.getKey() + " fetched once");
            assertNull(client(REALM, url), c.getKey() + ": no client");
        }
        assertEquals(0, docs.hits("/bad/redirect-target.json"), "the 302 target was not followed");
        assertTrue(eventWith(REALM, "CLIENT_REGISTER_ERROR", docs.url("/bad/redirect.json"), "http_302"));
        assertTrue(eventWith(REALM, "CLIENT_REGISTER_ERROR", docs.url("/bad/large.json"), "too_large"));
        assertFalse(events(REALM, "CLIENT_REGISTER_ERROR").toString().contains("do-not-log-me"), "no secret in events");
        assertFalse(server.logText().contains("do-not-log-me"), "no secret in the log");
    }

    @Test
    void aSlowServerTimesOutAfterFiveSeconds() {
        String path = "/bad/slow.json";
        docs.set(path, new Answer(200, "application/json", document(path, "Slow", List.of("http://127.0.0.1/cb")).getBytes(), Map.of(), 20_000));
        long t0 = System.nanoTime();
        Http.Response r = new Http().get(authUrl(REALM, docs.url(path), "http://127.0.0.1/cb", Pkce.create()));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertRefusedPage(r, "timed out");
        // the document server would answer after 20 s: the fetch was cut at 5 s (the bound leaves room for a loaded machine)
        assertTrue(seconds >= 4.5 && seconds < 12, "took " + seconds + " s");
    }

    @Test
    void errorsAreNeverCachedAndCacheControlBoundsTheCache() {
        String path = "/mcp/flaky.json";
        docs.set(path, new Answer(500, "text/plain", "oops".getBytes(), Map.of(), 0));
        String cb = "http://127.0.0.1/cb";
        assertRefusedPage(new Http().get(authUrl(REALM, docs.url(path), cb, Pkce.create())), "HTTP 500");
        serve(path, List.of(cb));
        Http.Response ok = new Http().get(authUrl(REALM, docs.url(path), cb, Pkce.create()));
        assertEquals(200, ok.status(), ok.toString());
        assertEquals(2, docs.hits(path), "the error was not remembered");

        String nocache = "/mcp/nocache.json";
        docs.set(nocache, Answer.json(document(nocache, "N", List.of(cb))).withHeader("Cache-Control", "no-store"));
        assertEquals(200, new Http().get(authUrl(REALM, docs.url(nocache), cb, Pkce.create())).status());
        assertEquals(200, new Http().get(authUrl(REALM, docs.url(nocache), cb, Pkce.create())).status());
        assertEquals(2, docs.hits(nocache), "no-store: fetched at every use");
    }

    @Test
    void theCapIsHeldWithoutFetching() {
        String capRealm = "cimd-it-cap";
        try (TestRealm r = TestRealm.create(server, capRealm, List.of("alice"), List.of())) {
            assertEquals(200, putSettings(capRealm, Map.of("enabled", true, "maxClients", 1)).status());
            serve("/cap/one.json", List.of("http://127.0.0.1/cb"));
            serve("/cap/two.json", List.of("http://127.0.0.1/cb"));
            assertEquals(200, new Http().get(authUrl(capRealm, docs.url("/cap/one.json"), "http://127.0.0.1/cb", Pkce.create())).status());
            assertRefusedPage(new Http().get(authUrl(capRealm, docs.url("/cap/two.json"), "http://127.0.0.1/cb", Pkce.create())), "no more clients");
            assertEquals(0, docs.hits("/cap/two.json"));
            assertNull(client(capRealm, docs.url("/cap/two.json")));
        }
    }

    @Test
    void aChangedRedirectSetRevokesConsentsAndRefreshTokens() {
        String realmName = "cimd-it-refetch";
        try (TestRealm r = TestRealm.create(server, realmName, List.of("alice"), List.of())) {
            assertEquals(200, putSettings(realmName, Map.of("enabled", true, "cacheSeconds", 0)).status());
            String path = "/refetch/client.json";
            String clientId = docs.url(path);
            String cb = "http://127.0.0.1:4000/cb";
            serve(path, List.of(cb));
            Pkce pkce = Pkce.create();
            Http browser = new Http();
            Http.Response code = loginAndConsent(browser, authUrl(realmName, clientId, cb, pkce));
            assertEquals(302, code.status(), code.toString());
            Http.Response token = redeem(realmName, clientId, Oidc.params(code.location()).get("code"), cb, pkce);
            assertEquals(200, token.status(), token.toString());
            String refresh = token.json().path("refresh_token").asText();
            String userId = new Http().get(server.baseUrl() + "/admin/realms/" + realmName + "/users?exact=true&username=alice", oidc.adminToken())
                    .json().get(0).path("id").asText();
            String consents = server.baseUrl() + "/admin/realms/" + realmName + "/users/" + userId + "/consents";
            assertEquals(1, new Http().get(consents, oidc.adminToken()).json().size(), "alice consented");

            // same redirect set (another port is the same loopback entry): nothing revoked
            serve(path, List.of("http://127.0.0.1:4001/cb"));
            assertEquals(200, new Http().get(authUrl(realmName, clientId, cb, Pkce.create())).status());
            assertEquals(1, new Http().get(consents, oidc.adminToken()).json().size(), "unchanged set: consent kept");

            serve(path, List.of("http://127.0.0.1/cb", "https://localhost/new-cb"));
            sleepPastSecond();
            Http.Response again = new Http().get(authUrl(realmName, clientId, "https://localhost/new-cb", Pkce.create()));
            assertEquals(200, again.status(), again.toString());
            assertEquals(0, new Http().get(consents, oidc.adminToken()).json().size(), "consents revoked");
            Http.Response refreshed = new Http().postForm(oidc.tokenEndpoint(realmName), Form.of("grant_type", "refresh_token",
                    "refresh_token", refresh, "client_id", clientId).list());
            assertEquals(400, refreshed.status(), refreshed.toString());
            assertEquals("invalid_grant", refreshed.json().path("error").asText());
            assertTrue(docs.hits(path) >= 3);

            // a pushed request (PAR fetches, cacheSeconds 0) is then used at the authorization endpoint without a refetch
            int before = docs.hits(path);
            Pkce pkce2 = Pkce.create();
            Http.Response pushed = new Http().postForm(server.realmUrl(realmName) + "/protocol/openid-connect/ext/par/request",
                    Form.of("client_id", clientId, "response_type", "code", "redirect_uri", "https://localhost/new-cb",
                            "code_challenge", pkce2.challenge(), "code_challenge_method", "S256").list());
            assertEquals(201, pushed.status(), pushed.toString());
            Http b2 = new Http();
            Http.Response page = followWithinKeycloak(b2, b2.get(oidc.authUrl(realmName, Form.of("client_id", clientId,
                    "request_uri", pushed.json().path("request_uri").asText()).list())));
            assertEquals(200, page.status(), page + " " + page.location());
            assertTrue(page.body().contains("kc-form-login"));
            assertEquals(before + 1, docs.hits(path), "fetched at PAR only");
        }
    }

    // ---- private_key_jwt: a confidential client with the document's public keys

    private static java.security.KeyPair rsaKeyPair() throws Exception {
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    /** The public JWK of {@code kp}, with {@code extra} members added (such as a private one, to be refused). */
    private static Map<String, Object> publicJwk(java.security.KeyPair kp, String kid, Map<String, Object> extra) {
        java.security.interfaces.RSAPublicKey pub = (java.security.interfaces.RSAPublicKey) kp.getPublic();
        Map<String, Object> k = new LinkedHashMap<>(Map.of("kty", "RSA", "kid", kid, "use", "sig", "alg", "RS256",
                "n", DelegationExchangeIT.b64(DelegationExchangeIT.unsigned(pub.getModulus())),
                "e", DelegationExchangeIT.b64(DelegationExchangeIT.unsigned(pub.getPublicExponent()))));
        k.putAll(extra);
        return k;
    }

    /** A private_key_jwt document: {@code keys} is the {@code jwks} member, or a String: the {@code jwks_uri}. */
    private String keyedDocument(String path, List<String> redirects, Object keys) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("client_id", docs.url(path));
        d.put("client_name", "Keyed MCP client");
        d.put("redirect_uris", redirects);
        d.put("token_endpoint_auth_method", "private_key_jwt");
        d.put(keys instanceof String ? "jwks_uri" : "jwks", keys);
        try {
            return Http.JSON.writeValueAsString(d);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private String clientAssertion(String realmName, String clientId, java.security.KeyPair kp, String kid) throws Exception {
        long now = System.currentTimeMillis() / 1000;
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", clientId);
        claims.put("sub", clientId);
        claims.put("aud", oidc.tokenEndpoint(realmName));
        claims.put("iat", now);
        claims.put("exp", now + 60);
        claims.put("jti", java.util.UUID.randomUUID().toString());
        return DelegationExchangeIT.rs256(kp, kid, "JWT", claims);
    }

    private List<Map.Entry<String, String>> withAssertion(List<Map.Entry<String, String>> form, String assertion) {
        List<Map.Entry<String, String>> f = new ArrayList<>(form);
        f.add(Map.entry("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
        f.add(Map.entry("client_assertion", assertion));
        return f;
    }

    @Test
    void aPrivateKeyJwtDocumentBecomesAConfidentialClientThatSignsItsTokenRequests() throws Exception {
        java.security.KeyPair kp = rsaKeyPair();
        String cb = "http://127.0.0.1:4100/cb";
        // inline jwks, and jwks_uri (fetched by us with the document's rules: Keycloak never fetches it)
        String keysPath = "/keys/jwks.json";
        docs.set(keysPath, Answer.json(Http.JSON.writeValueAsString(Map.of("keys", List.of(publicJwk(kp, "k-uri", Map.of()))))));
        for (Object[] c : new Object[][] {{"/keyed/inline.json", Map.of("keys", List.of(publicJwk(kp, "k-inline", Map.of()))), "k-inline"},
                {"/keyed/by-uri.json", docs.url(keysPath), "k-uri"}}) {
            String path = (String) c[0];
            String clientId = docs.url(path);
            docs.set(path, Answer.json(keyedDocument(path, List.of("http://127.0.0.1/cb"), c[1])));
            Pkce pkce = Pkce.create();
            Http.Response code = loginAndConsent(new Http(), authUrl(REALM, clientId, cb, pkce));
            assertEquals(302, code.status(), path + ": " + code);
            JsonNode client = client(REALM, clientId);
            assertFalse(client.path("publicClient").asBoolean(), path);
            assertEquals("client-jwt", client.path("clientAuthenticatorType").asText(), path);
            assertEquals("true", client.path("attributes").path("use.jwks.string").asText(), path);
            assertFalse(client.path("attributes").path("use.jwks.url").asBoolean(), path + ": Keycloak never fetches a key set itself");
            assertEquals("S256", client.path("attributes").path("pkce.code.challenge.method").asText());
            String authCode = Oidc.params(code.location()).get("code");
            List<Map.Entry<String, String>> redeem = Form.of("grant_type", "authorization_code", "code", authCode, "redirect_uri", cb,
                    "code_verifier", pkce.verifier(), "client_id", clientId).list();
            // without the signed assertion the client is not authenticated
            Http.Response unsigned = new Http().postForm(oidc.tokenEndpoint(REALM), redeem);
            assertEquals("invalid_client", unsigned.json().path("error").asText(), unsigned.toString());
            Http.Response token = new Http().postForm(oidc.tokenEndpoint(REALM), withAssertion(redeem, clientAssertion(REALM, clientId, kp, (String) c[2])));
            assertEquals(200, token.status(), path + ": " + token);
            assertEquals(clientId, Oidc.claims(token.json().path("access_token").asText()).path("azp").asText());
            assertTrue(eventWith(REALM, "CLIENT_REGISTER", clientId, "ok"));
        }
        assertEquals(1, docs.hits(keysPath), "the key set was fetched once, by the document's rules, and never by Keycloak");

        // PKCE is still required of a confidential CIMD client
        Http.Response noPkce = new Http().get(authUrl(REALM, docs.url("/keyed/inline.json"), cb, null));
        assertEquals(302, noPkce.status(), noPkce.toString());
        assertEquals("invalid_request", Oidc.params(noPkce.location()).get("error"), noPkce.location());
    }

    @Test
    void privateKeysSymmetricKeysAndBadKeySetsAreRefusedWithoutAClient() throws Exception {
        java.security.KeyPair kp = rsaKeyPair();
        String cb = "http://127.0.0.1/cb";
        Map<String, Object[]> cases = new LinkedHashMap<>();
        cases.put("/keyed/private.json", new Object[] {Map.of("keys", List.of(publicJwk(kp, "p", Map.of("d", "do-not-log-this-private-key")))),
                "must not contain private key members"});
        cases.put("/keyed/oct.json", new Object[] {Map.of("keys", List.of(Map.of("kty", "oct", "k", "c3ltbWV0cmlj"))), "symmetric (oct)"});
        cases.put("/keyed/none.json", new Object[] {null, "requires exactly one of jwks and jwks_uri"});
        cases.put("/keyed/internal-uri.json", new Object[] {"https://127.0.0.1:" + docs.port() + "/keys/jwks.json", "jwks_uri: the host of the key set"});
        cases.put("/keyed/missing-uri.json", new Object[] {docs.url("/keys/missing.json"), "jwks_uri: fetching the key set answered HTTP 404"});
        cases.put("/keyed/denied-uri.json", new Object[] {"https://denied.example/jwks.json", "does not accept key sets (jwks_uri) from denied.example"});
        cases.put("/keyed/private-uri.json", new Object[] {docs.url("/keys/private.json"), "must not contain private key members"});
        docs.set("/keys/private.json", Answer.json(Http.JSON.writeValueAsString(Map.of("keys", List.of(publicJwk(kp, "p",
                Map.of("p", "do-not-log-this-private-key")))))));
        int internalBefore = docs.hits("/keys/jwks.json");
        for (Map.Entry<String, Object[]> c : cases.entrySet()) {
            String path = c.getKey();
            Object keys = c.getValue()[0];
            String doc = keys == null ? keyedDocument(path, List.of(cb), "x").replace(",\"jwks_uri\":\"x\"", "") : keyedDocument(path, List.of(cb), keys);
            docs.set(path, Answer.json(doc));
            String url = docs.url(path);
            assertRefusedPage(new Http().get(authUrl(REALM, url, cb, Pkce.create())), (String) c.getValue()[1]);
            assertNull(client(REALM, url), path + ": no client");
        }
        assertEquals(internalBefore, docs.hits("/keys/jwks.json"), "a jwks_uri on an internal address is never fetched");
        assertEquals(1, docs.hits("/keys/private.json"));
        assertTrue(eventWith(REALM, "CLIENT_REGISTER_ERROR", docs.url("/keyed/internal-uri.json"), "jwks_address_refused"));
        assertFalse(events(REALM, "CLIENT_REGISTER_ERROR").toString().contains("do-not-log-this-private-key"), "no private key in events");
        assertFalse(server.logText().contains("do-not-log-this-private-key"), "no private key in the log");
    }

    @Test
    void aChangedKeySetRevokesConsentsAndRefreshTokens() throws Exception {
        String realmName = "cimd-it-keys";
        try (TestRealm r = TestRealm.create(server, realmName, List.of("alice"), List.of())) {
            assertEquals(200, putSettings(realmName, Map.of("enabled", true, "cacheSeconds", 0)).status());
            java.security.KeyPair old = rsaKeyPair();
            java.security.KeyPair rotated = rsaKeyPair();
            String path = "/keyed/rotating.json";
            String clientId = docs.url(path);
            String cb = "http://127.0.0.1:4200/cb";
            docs.set(path, Answer.json(keyedDocument(path, List.of(cb), Map.of("keys", List.of(publicJwk(old, "old", Map.of()))))));
            Pkce pkce = Pkce.create();
            Http.Response code = loginAndConsent(new Http(), authUrl(realmName, clientId, cb, pkce));
            assertEquals(302, code.status(), code.toString());
            Http.Response token = new Http().postForm(oidc.tokenEndpoint(realmName), withAssertion(Form.of("grant_type", "authorization_code",
                    "code", Oidc.params(code.location()).get("code"), "redirect_uri", cb, "code_verifier", pkce.verifier(), "client_id", clientId).list(),
                    clientAssertion(realmName, clientId, old, "old")));
            assertEquals(200, token.status(), token.toString());
            String refresh = token.json().path("refresh_token").asText();
            List<Map.Entry<String, String>> refreshForm = Form.of("grant_type", "refresh_token", "refresh_token", refresh, "client_id", clientId).list();
            Http.Response refreshed = new Http().postForm(oidc.tokenEndpoint(realmName), withAssertion(refreshForm, clientAssertion(realmName, clientId, old, "old")));
            assertEquals(200, refreshed.status(), "the same key set: the refresh token works " + refreshed);
            String userId = new Http().get(server.baseUrl() + "/admin/realms/" + realmName + "/users?exact=true&username=alice", oidc.adminToken())
                    .json().get(0).path("id").asText();
            String consents = server.baseUrl() + "/admin/realms/" + realmName + "/users/" + userId + "/consents";
            assertEquals(1, new Http().get(consents, oidc.adminToken()).json().size(), "alice consented");

            // the document now lists another key (same redirects): consents and refresh tokens revoked, the old key refused
            docs.set(path, Answer.json(keyedDocument(path, List.of(cb), Map.of("keys", List.of(publicJwk(rotated, "new", Map.of()))))));
            sleepPastSecond();
            assertEquals(200, new Http().get(authUrl(realmName, clientId, cb, Pkce.create())).status());
            assertEquals(0, new Http().get(consents, oidc.adminToken()).json().size(), "consents revoked");
            Http.Response withNewKey = new Http().postForm(oidc.tokenEndpoint(realmName), withAssertion(refreshForm,
                    clientAssertion(realmName, clientId, rotated, "new")));
            assertEquals(400, withNewKey.status(), withNewKey.toString());
            assertEquals("invalid_grant", withNewKey.json().path("error").asText(), "the old refresh token is revoked: " + withNewKey);
            Http.Response withOldKey = new Http().postForm(oidc.tokenEndpoint(realmName), withAssertion(refreshForm,
                    clientAssertion(realmName, clientId, old, "old")));
            assertEquals("invalid_client", withOldKey.json().path("error").asText(), "the old key no longer authenticates: " + withOldKey);
            boolean keysChanged = false;
            for (JsonNode e : events(realmName, "CLIENT_UPDATE")) {
                keysChanged |= "true".equals(e.path("details").path("keys_changed").asText());
            }
            assertTrue(keysChanged, "a CLIENT_UPDATE event says the key set changed");
        }
    }

    // ---- the agent consent screen for a CIMD client (requested_actor), in Chromium

    @Test
    void theAgentConsentScreenShowsWhatIsKnownOfACimdClient() throws Exception {
        String realmName = "cimd-it-agent";
        String path = "/agent/loopback-client.json";
        String clientId = docs.url(path);
        String cb = "http://127.0.0.1:4300/cb";
        String byScopePath = "/agent/by-scope-client.json";
        String byScopeId = docs.url(byScopePath);
        try (TestRealm r = TestRealm.create(server, realmName, List.of("alice"), List.of(TestRealm.agent("cimd-agent", clientId + " " + byScopeId,
                Map.of("clientAuthenticatorType", "client-secret", "secret", "cimd-agent-secret"), Map.of())))) {
            assertEquals(200, putSettings(realmName, Map.of("enabled", true)).status());
            docs.set(path, Answer.json(document(path, "Totally Official <Bank> App", List.of("http://127.0.0.1/cb", "http://localhost/cb"))));
            Pkce pkce = Pkce.create();
            List<Map.Entry<String, String>> p = new ArrayList<>(Form.of("client_id", clientId, "redirect_uri", cb, "response_type", "code",
                    "scope", "openid", "state", "st-agent", "requested_actor", "cimd-agent", "code_challenge", pkce.challenge(),
                    "code_challenge_method", "S256").list());
            try (Browser browser = new Browser()) {
                Page d = browser.page();
                d.navigate(oidc.authUrl(realmName, p));
                d.locator("#username").waitFor();
                d.locator("#username").fill("alice");
                d.locator("#password").fill("alice");
                d.locator("#kc-login").click();
                d.locator("#agent-consent-cimd").waitFor();
                assertEquals("localhost", d.locator("#agent-consent-cimd-host").innerText().strip(), "the document's host, prominently");
                assertEquals("localhost", d.locator("#agent-consent-cimd-host").getAttribute("title"));
                assertTrue(d.locator("#agent-consent-cimd-name").innerText().contains("Totally Official <Bank> App")
                        && d.locator("#agent-consent-cimd-name").innerText().contains("(self-declared, not verified)"),
                        d.locator("#agent-consent-cimd-name").innerText());
                assertEquals(0, d.locator("#agent-consent-cimd-name b, #agent-consent-cimd-name bank").count(), "the name is text, never markup");
                assertTrue(d.locator("#agent-consent-cimd-redirect").innerText().contains("127.0.0.1, localhost"), d.locator("#agent-consent-cimd-redirect").innerText());
                assertTrue(d.locator("#agent-consent-cimd-loopback").innerText().contains("Every redirect is on this computer"));
                assertTrue(d.locator("#agent-consent-request").innerText().contains("localhost"), d.locator("#agent-consent-request").innerText());
                Path shot = browser.screenshot("cimd-agent-consent");
                System.out.println("[browser] screenshot " + shot);

                // Allow, then Keycloak's own consent for the client (consent required), then the code at the redirect
                d.locator("#kc-agent-allow").click();
                Locator accept = d.locator("[name=accept]");
                accept.first().waitFor();
                assertTrue(d.content().contains("self-declared, not verified"), "Keycloak's consent says the same");
                browser.screenshot("cimd-keycloak-consent");
                String callback = d.waitForRequest(q -> q.url().startsWith(cb), () -> accept.first().click()).url();
                assertNotNull(Oidc.params(callback).get("code"), callback);
            }
            assertTrue(eventWith(realmName, "CLIENT_REGISTER", clientId, "ok"));

            // consent by scope: a new CIMD client that the agent names as a host gets its delegation:client scope when it
            // is created, and asking for it brings the same agent consent screen
            docs.set(byScopePath, Answer.json(document(byScopePath, "Scoped MCP client", List.of("https://localhost/scoped/cb"))));
            List<Map.Entry<String, String>> q = new ArrayList<>(Form.of("client_id", byScopeId, "redirect_uri", "https://localhost/scoped/cb",
                    "response_type", "code", "scope", "openid delegation:client:cimd-agent", "state", "st-scope",
                    "code_challenge", Pkce.create().challenge(), "code_challenge_method", "S256").list());
            Http http = new Http();
            Http.Response page = followWithinKeycloak(http, oidc.openAndLogin(http, oidc.authUrl(realmName, q), "alice", "alice"));
            assertEquals(200, page.status(), page + " " + page.location());
            String html = Oidc.unescapeHtml(page.body());
            assertTrue(html.contains("id=\"agent-consent-cimd\""), html);
            assertTrue(html.contains("Scoped MCP client") && html.contains("(self-declared, not verified)"), html);
            assertFalse(html.contains("id=\"agent-consent-cimd-loopback\""), "a redirect off this computer: no loopback warning");
            JsonNode scoped = client(realmName, byScopeId);
            assertTrue(scoped.path("optionalClientScopes").toString().contains("delegation:client:cimd-agent"), scoped.toString());
        }
    }

    // ---- resource servers that restrict their clients name the CIMD hosts they admit

    @Test
    void aRestrictedResourceServerAdmitsOnlyTheCimdHostsItNames() {
        String realmName = "cimd-it-rs";
        String rsUri = "https://rs.example.com/mcp";
        Map<String, Object> open = new LinkedHashMap<>(Map.of("clientId", "rs-open", "enabled", true, "protocol", "openid-connect",
                "publicClient", false, "secret", "rs-open-secret", "standardFlowEnabled", false,
                "attributes", Map.of("agent_auth.resource_uris", "https://open.example.com/mcp")));
        Map<String, Object> restricted = new LinkedHashMap<>(Map.of("clientId", "rs-restricted", "enabled", true, "protocol", "openid-connect",
                "publicClient", false, "secret", "rs-restricted-secret", "standardFlowEnabled", false,
                "attributes", Map.of("agent_auth.resource_uris", rsUri, "agent_auth.resource_clients", "some-client cimd:other.example")));
        try (TestRealm r = TestRealm.create(server, realmName, List.of("alice"), List.of(open, restricted))) {
            assertEquals(200, putSettings(realmName, Map.of("enabled", true)).status());
            String path = "/rs/client.json";
            String clientId = docs.url(path);
            String cb = "http://127.0.0.1:4400/cb";
            serve(path, List.of("http://127.0.0.1/cb"));
            java.util.function.Function<String, Http.Response> ask = resource -> {
                List<Map.Entry<String, String>> p = new ArrayList<>(Form.of("client_id", clientId, "redirect_uri", cb, "response_type", "code",
                        "scope", "openid", "state", "st-rs", "code_challenge", Pkce.create().challenge(), "code_challenge_method", "S256",
                        "resource", resource).list());
                return new Http().get(oidc.authUrl(realmName, p));
            };
            // a resource server that names no clients admits CIMD clients as any other
            Http.Response openRs = ask.apply("https://open.example.com/mcp");
            assertEquals(200, openRs.status(), openRs.toString());
            assertTrue(openRs.body().contains("kc-form-login"));
            // restricted, naming another CIMD host: refused (RFC 8707 invalid_target, to the document's validated redirect)
            Http.Response refused = ask.apply(rsUri);
            assertEquals(302, refused.status(), refused.toString());
            assertTrue(refused.location().startsWith(cb), refused.location());
            assertEquals("invalid_target", Oidc.params(refused.location()).get("error"), refused.location());

            // the admin API: a bad cimd: entry is refused with the syntax; then the policy names this document's host
            String admin = oidc.adminToken();
            String policyUrl = server.baseUrl() + "/admin/realms/" + realmName + "/agent-auth/agents/rs-restricted";
            Map<String, Object> policy = new LinkedHashMap<>();
            policy.put("agent", false);
            policy.put("resourceUris", List.of(rsUri));
            policy.put("resourceClients", List.of("cimd:https://localhost"));
            Http.Response bad = new Http().putJson(policyUrl, admin, policy);
            assertEquals(400, bad.status(), bad.toString());
            assertTrue(bad.body().contains("cimd:<host>"), bad.body());
            policy.put("resourceClients", List.of("cimd:*.localhost"));
            assertEquals(200, new Http().putJson(policyUrl, admin, policy).status());
            assertEquals("invalid_target", Oidc.params(ask.apply(rsUri).location()).get("error"), "*.localhost is below localhost, not localhost");
            policy.put("resourceClients", List.of("CIMD:LocalHost"));
            Http.Response named = new Http().putJson(policyUrl, admin, policy);
            assertEquals(200, named.status(), named.toString());
            assertEquals("cimd:localhost", client(realmName, "rs-restricted").path("attributes").path("agent_auth.resource_clients").asText(),
                    "normalized");
            Http.Response admitted = ask.apply(rsUri);
            assertEquals(200, admitted.status(), admitted + " " + admitted.location());
            assertTrue(admitted.body().contains("kc-form-login"));

            // the admin page shows the named hosts in their own field, keeps them on save, and adds one
            try (Browser browser = new Browser()) {
                Page d = browser.page();
                d.navigate(server.realmUrl("master") + "/agent-auth/admin/?realm=" + realmName);
                d.locator("#kc-form-login").waitFor();
                d.locator("#username").fill(KeycloakServer.ADMIN_USER);
                d.locator("#password").fill(KeycloakServer.ADMIN_PASSWORD);
                d.locator("#kc-login").click();
                d.locator("#clients tr[data-client-id='rs-restricted'] a:text-is('rs-restricted')").click();
                d.locator("#policy-form").waitFor();
                assertEquals("localhost", d.locator("#f-resourceCimdHosts").inputValue());
                d.locator("#f-resourceCimdHosts").fill("localhost\n*.Apps.Example");
                d.locator("#save").click();
                d.waitForCondition(() -> d.locator("#save-status").innerText().contains("Saved"));
                browser.screenshot("cimd-resource-server-hosts");
            }
            assertEquals("cimd:localhost cimd:*.apps.example",
                    client(realmName, "rs-restricted").path("attributes").path("agent_auth.resource_clients").asText());
            assertEquals(200, ask.apply(rsUri).status(), "still admitted after the page's save");
        }
    }

    // ---- Keycloak's own cimd executor configured in a realm (kc-cimd-feature runs this with --features=cimd)

    /** Whether this server runs Keycloak's experimental cimd feature, as its server info says. */
    private boolean stockCimdFeatureOn() {
        Http.Response info = new Http().get(server.baseUrl() + "/admin/serverinfo", oidc.adminToken());
        assertEquals(200, info.status(), info.toString());
        JsonNode features = info.json().path("features");
        assertTrue(features.isArray() && features.size() > 0, "server info lists its features");
        for (JsonNode f : features) {
            if ("cimd".equalsIgnoreCase(f.path("name").asText())) {
                return f.path("enabled").asBoolean();
            }
        }
        return false;
    }

    @Test
    void oursNeverRunsBesideKeycloaksOwnCimdExecutor() {
        String realmName = "cimd-it-stock";
        try (TestRealm r = TestRealm.create(server, realmName, List.of("alice"), List.of())) {
            String admin = oidc.adminToken();
            String policies = server.baseUrl() + "/admin/realms/" + realmName + "/client-policies";
            Map<String, Object> profile = Map.of("profiles", List.of(Map.of("name", "stock-cimd",
                    "executors", List.of(Map.of("executor", "client-id-metadata-document", "configuration", Map.of())))));
            Http.Response profiles = new Http().putJson(policies + "/profiles", admin, profile);
            boolean feature = stockCimdFeatureOn();
            System.out.println("[cimd] Keycloak's cimd feature " + (feature ? "on" : "off") + "; stock executor profile: HTTP " + profiles.status());
            if (!feature) {
                // without the feature Keycloak has no such executor: it refuses the profile, and ours turns on
                assertEquals(400, profiles.status(), "no stock executor without the feature: " + profiles);
                assertEquals(200, putSettings(realmName, Map.of("enabled", true)).status());
                return;
            }
            assertEquals(204, profiles.status(), profiles.toString());
            Map<String, Object> policy = new LinkedHashMap<>();
            policy.put("name", "stock-cimd-policy");
            policy.put("enabled", true);
            policy.put("conditions", List.of(Map.of("condition", "client-id-uri", "configuration",
                    Map.of("client-id-uri-scheme", List.of("https"), "client-id-uri-allow-permitted-domains", List.of("localhost")))));
            policy.put("profiles", List.of("stock-cimd"));
            Http.Response put = new Http().putJson(policies + "/policies", admin, Map.of("policies", List.of(policy)));
            assertEquals(204, put.status(), put.toString());

            // turning ours on is refused while the stock executor's policy is active, with the reason
            Http.Response refused = putSettings(realmName, Map.of("enabled", true));
            assertEquals(400, refused.status(), refused.toString());
            assertTrue(refused.body().contains("stock-cimd-policy") && refused.body().contains("client-id-metadata-document"), refused.body());
            assertFalse(new Http().get(server.baseUrl() + "/admin/realms/" + realmName + "/agent-auth/cimd", admin).json().path("enabled").asBoolean());

            // with that policy disabled ours turns on; the policy enabled again afterwards: a request is refused, nothing fetched
            policy.put("enabled", false);
            assertEquals(204, new Http().putJson(policies + "/policies", admin, Map.of("policies", List.of(policy))).status());
            assertEquals(200, putSettings(realmName, Map.of("enabled", true)).status());
            policy.put("enabled", true);
            assertEquals(204, new Http().putJson(policies + "/policies", admin, Map.of("policies", List.of(policy))).status());
            String path = "/stock/client.json";
            serve(path, List.of("http://127.0.0.1/cb"));
            Http.Response page = new Http().get(authUrl(realmName, docs.url(path), "http://127.0.0.1/cb", Pkce.create()));
            assertRefusedPage(page, "uses Keycloak's own client-id-metadata-document executor");
            assertEquals(0, docs.hits(path), "neither ours nor the stock executor fetched");
            assertNull(client(realmName, docs.url(path)));
            assertTrue(eventWith(realmName, "CLIENT_REGISTER_ERROR", docs.url(path), "stock_cimd_configured"), "the event names why");
        }
    }

    private static void sleepPastSecond() {
        try {
            Thread.sleep(1100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the MCP TypeScript SDK with only a clientMetadataUrl, in Chromium, against the example MCP server

    @Test
    void mcpSdkWithOnlyAClientMetadataUrlGetsATokenTheMcpServerAccepts() throws Exception {
        int mcpPort = Integer.getInteger("agentauth.cimdMcpPort", Integer.getInteger("agentauth.mcpPort", 3000) + 1);
        String mcpUrl = "http://localhost:" + mcpPort + "/mcp";
        String realmName = "cimd-mcp";
        Path repo = Path.of(System.getProperty("agentauth.realmExports")).toAbsolutePath().normalize().getParent();
        Path out = Files.createDirectories(Path.of(System.getProperty("agentauth.targetDir")).resolve("mcp-cimd"));
        Commands.requireNode("CimdIT");
        NodeProcesses.npmCi(repo.resolve("sdk/typescript"), out.resolve("npm-ci-sdk-typescript.log"));
        NodeProcesses.npmCi(repo.resolve("examples/mcp-calendar"), out.resolve("npm-ci-mcp-calendar.log"));
        NodeProcesses.npmCi(repo.resolve("integration-tests/src/test/mcp"), out.resolve("npm-ci-e2e.log"));
        NodeProcesses.assertPortFree(mcpPort);

        // the resource server: any client of the realm may ask for it (no agent_auth.resource_clients)
        Map<String, Object> resourceServer = new LinkedHashMap<>();
        resourceServer.put("clientId", "calendar-agent");
        resourceServer.put("enabled", true);
        resourceServer.put("protocol", "openid-connect");
        resourceServer.put("publicClient", false);
        resourceServer.put("secret", "calendar-agent-secret");
        resourceServer.put("standardFlowEnabled", false);
        resourceServer.put("serviceAccountsEnabled", true);
        resourceServer.put("attributes", Map.of("agent_auth.resource_uris", mcpUrl));
        try (TestRealm r = TestRealm.create(server, realmName, List.of("alice"), List.of(resourceServer))) {
            assertEquals(200, putSettings(realmName, Map.of("enabled", true)).status());
            int clientsBefore = new Http().get(server.baseUrl() + "/admin/realms/" + realmName + "/clients", oidc.adminToken()).json().size();
            String path = "/mcp-sdk/client-metadata.json";
            String clientId = docs.url(path);
            docs.set(path, Answer.json(document(path, "Agent Auth MCP CIMD E2E", List.of("http://127.0.0.1/callback"))));

            Path serverLog = out.resolve("mcp-server.log");
            ProcessBuilder spb = new ProcessBuilder("node", "server.js").directory(repo.resolve("examples/mcp-calendar").toFile())
                    .redirectErrorStream(true).redirectOutput(serverLog.toFile());
            NodeProcesses.clearOverrides(spb.environment());
            spb.environment().putAll(Map.of("KEYCLOAK_URL", server.baseUrl(), "REALM", realmName, "PORT", String.valueOf(mcpPort),
                    "RESOURCE", mcpUrl, "AUDIENCE_MODE", "strict", "SCOPES_SUPPORTED", "openid profile"));
            Process mcp = spb.start();
            JsonNode result;
            try {
                NodeProcesses.waitForHttp(mcp, URI.create("http://localhost:" + mcpPort + "/.well-known/oauth-protected-resource/mcp"), serverLog);
                result = runCimdE2e(repo.resolve("integration-tests/src/test/mcp"), out, realmName, mcpUrl, clientId);
            } finally {
                NodeProcesses.stop(mcp);
            }
            assertTrue(result.path("ok").asBoolean(), result.toString());
            assertEquals(clientId, result.path("authorizationRequest").path("client_id").asText());
            assertEquals("S256", result.path("authorizationRequest").path("code_challenge_method").asText());
            assertEquals(clientId, result.path("token").path("azp").asText());
            assertTrue(result.path("token").path("aud").toString().contains(mcpUrl), result.toString());
            assertTrue(result.path("tools").size() > 0, result.toString());
            String consent = result.path("consent").path("text").asText();
            assertTrue(consent.contains("(self-declared, not verified)") && consent.contains("Every redirect is on this computer"), consent);
            assertFalse(result.path("tokenRequest").path("has_client_secret").asBoolean());
            assertEquals(1, docs.hits(path), "the document was fetched once");
            JsonNode clients = new Http().get(server.baseUrl() + "/admin/realms/" + realmName + "/clients", oidc.adminToken()).json();
            assertEquals(clientsBefore + 1, clients.size(), "exactly one new client: the document's, nothing registered");
            JsonNode c = client(realmName, clientId);
            assertEquals("true", c.path("attributes").path("agent-auth.cimd").asText());
            assertTrue(eventWith(realmName, "CLIENT_REGISTER", clientId, "ok"));
            String log = Files.readString(serverLog, StandardCharsets.UTF_8);
            assertFalse(Pattern.compile("eyJ[A-Za-z0-9_-]{8,}\\.eyJ").matcher(log).find(), "a token in " + serverLog);
        }
    }

    private JsonNode runCimdE2e(Path dir, Path out, String realmName, String mcpUrl, String clientId) throws Exception {
        Path log = out.resolve("cimd-e2e.log");
        ProcessBuilder pb = new ProcessBuilder("node", "cimd-e2e.js").directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        NodeProcesses.clearOverrides(pb.environment());
        pb.environment().putAll(Map.of("KEYCLOAK_URL", server.baseUrl(), "REALM", realmName, "MCP_URL", mcpUrl, "CLIENT_METADATA_URL", clientId,
                "CHROMIUM", System.getProperty("agentauth.chromium", "/usr/bin/chromium"),
                "SCREENSHOT_DIR", Path.of(System.getProperty("agentauth.targetDir")).resolve("screenshots").toString()));
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(3, java.util.concurrent.TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        System.out.printf("[mcp-cimd] cimd-e2e.js exited %s after %.1f s (log: %s)%n", p.isAlive() ? "-" : String.valueOf(p.exitValue()),
                (System.nanoTime() - t0) / 1e9, log);
        String line = Files.readAllLines(log, StandardCharsets.UTF_8).stream().filter(l -> l.startsWith("MCP-CIMD-E2E-RESULT ")).findFirst()
                .orElseThrow(() -> new AssertionError("no result line from cimd-e2e.js:\n" + Commands.tail(log, 30)));
        JsonNode result = Http.JSON.readTree(line.substring("MCP-CIMD-E2E-RESULT ".length()));
        assertEquals(0, p.exitValue(), "cimd-e2e.js failed in " + result.path("failedStep").asText() + ": " + result.path("failure").asText()
                + "\n" + Commands.tail(log, 30));
        return result;
    }

    // ---- realms with CIMD off, discovery, the admin API

    @Test
    void aRealmWithCimdOffBehavesAsStockKeycloak() {
        String path = "/off/client.json";
        serve(path, List.of("http://127.0.0.1/cb"));
        Http.Response r = new Http().get(authUrl(Oidc.DEMO, docs.url(path), "http://127.0.0.1/cb", Pkce.create()));
        assertEquals(400, r.status(), r.toString());
        assertNull(r.header("Location"));
        assertTrue(r.body().contains("Client not found"), r.body());
        assertEquals(0, docs.hits(path));
        JsonNode oidcConfig = new Http().get(server.realmUrl(Oidc.DEMO) + "/.well-known/openid-configuration").json();
        assertTrue(oidcConfig.path("client_id_metadata_document_supported").isMissingNode(), oidcConfig.toString());
        JsonNode as = new Http().get(server.baseUrl() + "/.well-known/oauth-authorization-server/realms/" + Oidc.DEMO).json();
        assertTrue(as.path("client_id_metadata_document_supported").isMissingNode(), as.toString());
        assertFalse(as.path("token_endpoint_auth_methods_supported").toString().contains("\"none\""), as.toString());
    }

    @Test
    void discoveryAdvertisesCimdWhereItIsOn() {
        for (String url : List.of(server.realmUrl(REALM) + "/.well-known/openid-configuration",
                server.realmUrl(REALM) + "/.well-known/oauth-authorization-server",
                server.baseUrl() + "/.well-known/oauth-authorization-server/realms/" + REALM)) {
            Http.Response r = new Http().get(url);
            assertEquals(200, r.status(), url + ": " + r);
            JsonNode c = r.json();
            assertTrue(c.path("client_id_metadata_document_supported").asBoolean(), url + ": " + c);
            assertTrue(c.path("token_endpoint_auth_methods_supported").toString().contains("\"none\""), url);
            assertEquals(server.realmUrl(REALM), c.path("issuer").asText(), url);
            // the same list object is not changed under other members
            assertFalse(c.path("introspection_endpoint_auth_methods_supported").toString().contains("\"none\""), url);
        }
    }

    @Test
    void adminApiValidatesAndIsOffByDefault() {
        String base = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/cimd";
        Http.Response get = new Http().get(base, oidc.adminToken());
        assertEquals(200, get.status(), get.toString());
        assertFalse(get.json().path("enabled").asBoolean());
        assertEquals(100, get.json().path("maxClients").asInt());
        assertEquals(3600, get.json().path("cacheSeconds").asInt());
        assertEquals(401, new Http().get(base).status());

        String admin = oidc.adminToken();
        for (Object[] c : new Object[][] {
                {Map.of("enabled", true, "allowedHosts", List.of("https://x.example")), "allowedHosts"},
                {Map.of("enabled", true, "deniedHosts", List.of("a..b")), "deniedHosts"},
                {Map.of("enabled", true, "maxClients", -1), "maxClients"},
                {Map.of("enabled", true, "cacheSeconds", 99_999_999), "cacheSeconds"},
                {Map.of("enabled", true, "scopes", List.of("no-such-scope")), "scopes"},
                {Map.of("enabled", "yes"), "enabled"},
                {Map.of("enabled", true, "unknown", 1), "unknown"}}) {
            Http.Response r = new Http().putJson(base, admin, c[0]);
            assertEquals(400, r.status(), c[0] + ": " + r);
            assertTrue(r.body().contains((String) c[1]), r.body());
        }
        assertFalse(new Http().get(base, admin).json().path("enabled").asBoolean(), "a refused body changes nothing");

        String sub = server.baseUrl() + "/admin/realms/" + REALM + "/agent-auth/cimd";
        Http.Response put = new Http().putJson(sub, admin, Map.of("enabled", true, "deniedHosts", List.of("denied.example", "*.Blocked.example"),
                "allowedHosts", List.of(), "scopes", List.of("profile", "email")));
        assertEquals(200, put.status(), put.toString());
        assertEquals("*.blocked.example", put.json().path("deniedHosts").get(1).asText(), "normalized");
        JsonNode realmRep = new Http().get(server.baseUrl() + "/admin/realms/" + REALM, admin).json();
        assertTrue(realmRep.path("attributes").path("agent-auth.cimd").asText().contains("\"enabled\":true"), "kept as a realm attribute");
        // back to the class's settings
        assertEquals(200, putSettings(REALM, Map.of("enabled", true, "deniedHosts", List.of("denied.example", "*.blocked.example"))).status());
    }

    @Test
    void adminListsRefetchesBlocksAndDeletesCimdClients() {
        String path = "/admin/listed.json";
        serve(path, List.of("http://127.0.0.1/cb"));
        String clientId = docs.url(path);
        assertEquals(200, new Http().get(authUrl(REALM, clientId, "http://127.0.0.1:7001/cb", Pkce.create())).status());
        String admin = oidc.adminToken();
        String base = server.baseUrl() + "/admin/realms/" + REALM + "/agent-auth/cimd/clients";
        JsonNode listed = null;
        for (JsonNode c : new Http().get(base, admin).json().path("clients")) {
            if (clientId.equals(c.path("clientId").asText())) {
                listed = c;
            }
        }
        assertNotNull(listed, "listed");
        assertEquals("localhost", listed.path("host").asText());
        assertEquals("Example MCP client", listed.path("selfDeclaredName").asText());
        assertEquals("[\"http://127.0.0.1/cb\"]", listed.path("redirectUris").toString());
        assertTrue(listed.path("allLoopback").asBoolean());
        String id = listed.path("id").asText();
        assertEquals(404, new Http().postJson(base + "/" + client(REALM, "admin-cli").path("id").asText() + "/refetch", admin, Map.of()).status(),
                "not a CIMD client");

        // refetch now: a new redirect set
        serve(path, List.of("http://127.0.0.1/cb", "https://localhost/other"));
        Http.Response refetched = new Http().postJson(base + "/" + id + "/refetch", admin, Map.of());
        assertEquals(200, refetched.status(), refetched.toString());
        assertTrue(refetched.json().path("redirectsChanged").asBoolean());
        assertEquals(2, docs.hits(path));
        assertEquals(2, client(REALM, clientId).path("redirectUris").size());
        docs.set(path, new Answer(404, "text/plain", "gone".getBytes(), Map.of(), 0));
        Http.Response failed = new Http().postJson(base + "/" + id + "/refetch", admin, Map.of());
        assertEquals(502, failed.status(), failed.toString());
        assertTrue(failed.json().path("error_description").asText().contains("HTTP 404"), failed.toString());
        assertEquals(2, client(REALM, clientId).path("redirectUris").size(), "a refused refetch leaves the client as it was");
        serve(path, List.of("http://127.0.0.1/cb"));

        // block: disabled; deleted, it is not created again; unblocked, it is
        assertEquals(204, new Http().postJson(base + "/" + id + "/block", admin, Map.of()).status());
        assertFalse(client(REALM, clientId).path("enabled").asBoolean());
        assertEquals(204, new Http().delete(base + "/" + id, admin).status());
        assertNull(client(REALM, clientId));
        int hits = docs.hits(path);
        assertRefusedPage(new Http().get(authUrl(REALM, clientId, "http://127.0.0.1:7001/cb", Pkce.create())), "blocked in this realm");
        assertEquals(hits, docs.hits(path), "a blocked client is not fetched");
        JsonNode after = new Http().get(base, admin).json();
        assertTrue(after.path("blockedWithoutClient").toString().contains(clientId), after.toString());
        assertEquals(204, new Http().delete(server.baseUrl() + "/admin/realms/" + REALM + "/agent-auth/cimd/blocked?clientId="
                + Http.urlEncode(clientId), admin).status());
        assertEquals(200, new Http().get(authUrl(REALM, clientId, "http://127.0.0.1:7001/cb", Pkce.create())).status());
        assertEquals(hits + 1, docs.hits(path));
        assertTrue(client(REALM, clientId).path("enabled").asBoolean());
    }

    @Test
    void theAdminPageTurnsItOnListsBlocksAndDeletes() {
        String settingsUrl = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/cimd";
        String path = "/page/client.json";
        serve(path, List.of("http://127.0.0.1/cb"));
        String clientId = docs.url(path);
        try (Browser browser = new Browser()) {
            Page d = browser.page();
            d.navigate(server.realmUrl(Oidc.DEMO) + "/agent-auth/admin/");
            d.locator("#kc-form-login").waitFor();
            d.locator("#username").fill("agent-admin");
            d.locator("#password").fill("agent-admin");
            d.locator("#kc-login").click();
            d.locator("#clients").waitFor();
            d.locator("#tab-cimd").click();
            d.locator("#cimd-form").waitFor();
            assertEquals("page", d.locator("#tab-cimd").getAttribute("aria-current"));
            assertFalse(d.locator("#f-cimd-enabled").isChecked(), "off by default");

            // a refused value shows the server's reason and changes nothing
            d.locator("#f-cimd-enabled").check();
            d.locator("#f-cimd-allowedHosts").fill("https://localhost");
            d.locator("#cimd-save").click();
            d.waitForCondition(() -> !d.locator("#cimd-error").innerText().isEmpty());
            assertTrue(d.locator("#cimd-error").innerText().contains("allowedHosts"), d.locator("#cimd-error").innerText());
            assertFalse(new Http().get(settingsUrl, oidc.adminToken()).json().path("enabled").asBoolean());

            d.locator("#f-cimd-allowedHosts").fill("localhost");
            d.locator("#f-cimd-maxClients").fill("5");
            d.locator("#cimd-save").click();
            d.locator(".alert-success").waitFor();
            JsonNode stored = new Http().get(settingsUrl, oidc.adminToken()).json();
            assertTrue(stored.path("enabled").asBoolean(), stored.toString());
            assertEquals("[\"localhost\"]", stored.path("allowedHosts").toString());
            assertEquals(5, stored.path("maxClients").asInt());

            // a client appears once someone signs in through it
            assertEquals(200, new Http().get(authUrl(Oidc.DEMO, clientId, "http://127.0.0.1:7002/cb", Pkce.create())).status());
            d.reload();
            Locator row = d.locator("#cimd-clients tr[data-client-id='" + clientId + "']");
            row.waitFor();
            assertTrue(row.innerText().contains("Example MCP client") && row.innerText().contains("self-declared"), row.innerText());
            assertTrue(row.innerText().contains("Active"), row.innerText());
            browser.screenshot("cimd-admin-page");

            row.locator(".block-cimd").click();
            row = d.locator("#cimd-clients tr[data-client-id='" + clientId + "']");
            row.locator(".unblock-cimd").waitFor();
            assertTrue(row.innerText().contains("Blocked"), row.innerText());
            assertFalse(client(Oidc.DEMO, clientId).path("enabled").asBoolean());
            row.locator(".delete-cimd").click();
            row.locator(".confirm-delete-cimd").click();
            d.locator("#cimd-blocked").waitFor();
            assertTrue(d.locator("#cimd-blocked").innerText().contains(clientId));
            assertEquals(0, d.locator("#cimd-clients tr[data-client-id='" + clientId + "']").count());
            assertNull(client(Oidc.DEMO, clientId));
            d.locator("#cimd-blocked .unblock-deleted").click();
            d.locator("#cimd-blocked").waitFor(new Locator.WaitForOptions().setState(WaitForSelectorState.DETACHED));
            assertTrue(d.locator(".alert-success").innerText().contains("Unblocked"), d.locator(".alert-success").innerText());
            assertTrue(new Http().get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/cimd/clients", oidc.adminToken())
                    .json().path("blockedWithoutClient").isEmpty());
        } finally {
            assertEquals(200, putSettings(Oidc.DEMO, Map.of("enabled", false)).status());
        }
    }

    @Test
    void viewRealmReadsManageRealmWrites() {
        String admin = oidc.adminToken();
        String users = server.baseUrl() + "/admin/realms/" + REALM + "/users";
        String viewerId = new Http().get(users + "?exact=true&username=viewer", admin).json().get(0).path("id").asText();
        String rm = new Http().get(server.baseUrl() + "/admin/realms/" + REALM + "/clients?clientId=realm-management", admin).json().get(0).path("id").asText();
        JsonNode viewRealm = new Http().get(server.baseUrl() + "/admin/realms/" + REALM + "/clients/" + rm + "/roles/view-realm", admin).json();
        Http.Response mapped = new Http().postJson(users + "/" + viewerId + "/role-mappings/clients/" + rm, admin, List.of(Map.of("id",
                viewRealm.path("id").asText(), "name", "view-realm")));
        assertEquals(204, mapped.status(), mapped.toString());
        Http.Response t = new Http().postForm(oidc.tokenEndpoint(REALM), Form.of("grant_type", "password", "client_id", "admin-cli",
                "username", "viewer", "password", "viewer").list());
        assertEquals(200, t.status(), t.toString());
        String viewer = t.json().path("access_token").asText();
        String url = server.baseUrl() + "/admin/realms/" + REALM + "/agent-auth/cimd";
        Http.Response get = new Http().get(url, viewer);
        assertEquals(200, get.status(), get.toString());
        assertTrue(get.json().path("enabled").asBoolean());
        Http.Response put = new Http().putJson(url, viewer, Map.of("enabled", false));
        assertEquals(403, put.status(), put.toString());
        assertTrue(new Http().get(url, admin).json().path("enabled").asBoolean(), "a view-realm admin changed nothing");
        assertEquals(403, new Http().get(url + "/clients", viewer).status(), "listing the clients needs view-clients");
    }
}
