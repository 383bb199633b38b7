package org.agentauth.keycloak.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;

/** The delegated authorization code flow ({@code requested_actor}, DESIGN section 4) step by step. */
public final class AgentFlows {

    public static final String CONSENT_FORM = "kc-agent-consent-form";

    private final KeycloakServer server;
    private final Oidc oidc;

    public AgentFlows(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
    }

    public Oidc oidc() {
        return oidc;
    }

    /** Authorization request parameters for agent-host with PKCE; more pairs may follow. */
    public Form authParams(String actor, Pkce pkce, String... extra) {
        Form f = Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT, "response_type", "code",
                "scope", "openid profile email", "state", "st-1", "code_challenge", pkce.challenge(),
                "code_challenge_method", "S256");
        if (actor != null) {
            f.add("requested_actor", actor);
        }
        for (int i = 0; i < extra.length; i += 2) {
            f.add(extra[i], extra[i + 1]);
        }
        return f;
    }

    /**
     * Opens {@code url}, logs in if asked, and follows the server's own redirects (to its required-action pages);
     * returns the first response that is a page or a redirect to the client.
     */
    public Http.Response open(Http browser, String url, String user) {
        Http.Response r = oidc.openAndLogin(browser, url, user, user);
        for (int i = 0; i < 6; i++) {
            if (r.status() == 302 && r.location() != null && r.location().startsWith(server.baseUrl())) {
                r = browser.get(r.location());
            } else if (r.status() == 200 && r.body().contains("id=\"kc-form-login\"")) {
                r = browser.postForm(Oidc.formAction(r.body(), "kc-form-login"), List.of(Map.entry("username", user),
                        Map.entry("password", user), Map.entry("credentialId", "")));
            } else {
                break;
            }
        }
        return r;
    }

    public static boolean isConsentPage(Http.Response r) {
        return r.status() == 200 && r.body().contains("id=\"" + CONSENT_FORM + "\"");
    }

    /**
     * Answers the agent consent page the way a browser submits its form (its hidden fields, the given field pairs such
     * as an account choice, and the button pressed); returns the response (a redirect to the client).
     */
    public Http.Response decide(Http browser, Http.Response consentPage, String decision, String... fields) {
        assertTrue(isConsentPage(consentPage), "expected the agent consent page, got " + consentPage);
        List<Map.Entry<String, String>> form = new ArrayList<>(hiddenFields(consentPage.body(), CONSENT_FORM));
        for (int i = 0; i < fields.length; i += 2) {
            form.add(Map.entry(fields[i], fields[i + 1]));
        }
        form.add(Map.entry("decision", decision));
        return browser.postForm(Oidc.formAction(consentPage.body(), CONSENT_FORM), form);
    }

    /** The hidden inputs (name, value; HTML entities decoded) of the form with the given id. */
    public static List<Map.Entry<String, String>> hiddenFields(String html, String formId) {
        Matcher f = Pattern.compile("<form[^>]*id=\"" + Pattern.quote(formId) + "\".*?</form>", Pattern.DOTALL).matcher(html);
        assertTrue(f.find(), "no form " + formId);
        List<Map.Entry<String, String>> out = new ArrayList<>();
        Matcher in = Pattern.compile("<input[^>]*type=\"hidden\"[^>]*>").matcher(f.group());
        while (in.find()) {
            Matcher name = Pattern.compile("name=\"([^\"]*)\"").matcher(in.group());
            Matcher value = Pattern.compile("value=\"([^\"]*)\"").matcher(in.group());
            if (name.find()) {
                out.add(Map.entry(Oidc.unescapeHtml(name.group(1)), value.find() ? Oidc.unescapeHtml(value.group(1)) : ""));
            }
        }
        return out;
    }

    /** Logs in (if needed), allows (if asked), returns the code from the redirect. */
    public String codeFor(Http browser, Form params, String user) {
        Http.Response r = open(browser, oidc.authUrl(Oidc.DEMO, params.list()), user);
        if (isConsentPage(r)) {
            r = decide(browser, r, "allow");
        }
        assertEquals(302, r.status(), r.toString());
        String code = Oidc.params(r.location()).get("code");
        assertNotNull(code, r.location());
        return code;
    }

    /** Redeems a code at agent-host's token endpoint; {@code extra} are further form pairs (e.g. actor_token). */
    public Http.Response redeem(String code, Pkce pkce, String... extra) {
        Form f = Form.of("grant_type", "authorization_code", "code", code, "redirect_uri", DemoUsers.REDIRECT,
                "code_verifier", pkce.verifier());
        for (int i = 0; i < extra.length; i += 2) {
            f.add(extra[i], extra[i + 1]);
        }
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), f.list(), Http.basic(DemoUsers.HOST, DemoUsers.HOST_SECRET));
    }

    public Http.Response refresh(String refreshToken) {
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                "refresh_token", refreshToken).list(), Http.basic(DemoUsers.HOST, DemoUsers.HOST_SECRET));
    }

    /** The agent's own client-credentials access token. */
    public String agentToken(String agent) {
        Http.Response r = oidc.clientCredentials(Oidc.DEMO, agent, agent + "-secret");
        assertEquals(200, r.status(), r.body());
        return r.json().get("access_token").asText();
    }

    /**
     * {@code calendar-agent}'s delegated token for a connector's proxy: the exchange of {@code userToken} with the agent's
     * own token as {@code actor_token} and {@code resource} = the connector's URI; the access token.
     */
    public String connectorToken(String userToken, String connectorUri) {
        Http.Response t = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of(
                "grant_type", "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token", userToken,
                "subject_token_type", "urn:ietf:params:oauth:token-type:access_token",
                "actor_token", agentToken("calendar-agent"), "actor_token_type", "urn:ietf:params:oauth:token-type:access_token",
                "resource", connectorUri).list(), Http.basic("calendar-agent", "calendar-agent-secret"));
        assertEquals(200, t.status(), t.toString());
        return t.json().get("access_token").asText();
    }

    /** The full delegated flow for {@code user} and {@code agent}: token response JSON. */
    public JsonNode delegatedTokens(String user, String agent) {
        Pkce pkce = Pkce.create();
        String code = codeFor(new Http(), authParams(agent, pkce), user);
        Http.Response t = redeem(code, pkce, "actor_token", agentToken(agent));
        assertEquals(200, t.status(), t.body());
        return t.json();
    }

    /** Admin REST: the representation of a client by client_id. */
    public JsonNode client(String admin, String clientId) {
        Http.Response r = new Http().get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients?clientId=" + Http.urlEncode(clientId), admin);
        assertEquals(200, r.status(), r.body());
        return r.json().get(0);
    }

    /** Admin REST: creates a client from a representation (ignores 409 if it exists); returns its representation. */
    public JsonNode createClient(String admin, Map<String, Object> rep) {
        Http.Response r = new Http().postJson(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients", admin, rep);
        assertTrue(r.status() == 201 || r.status() == 409, r.toString());
        return client(admin, (String) rep.get("clientId"));
    }

    public String events(String admin, String query) {
        Http.Response r = new Http().get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/events?max=200&" + query, admin);
        assertEquals(200, r.status(), r.body());
        return r.body();
    }
}
