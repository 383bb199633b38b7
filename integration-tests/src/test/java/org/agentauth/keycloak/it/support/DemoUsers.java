package org.agentauth.keycloak.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.Map;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;

/** Tokens and ids of the demo realm's users, obtained the way a real host app would. */
public final class DemoUsers {

    public static final String HOST = "agent-host";
    public static final String HOST_SECRET = "agent-host-secret";
    public static final String REDIRECT = "http://localhost/callback";

    private final KeycloakServer server;
    private final Oidc oidc;

    public DemoUsers(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
    }

    /** Signs {@code username} in to {@code agent-host} (code flow with PKCE) and returns the token response. */
    public com.fasterxml.jackson.databind.JsonNode loginToHost(String username, String password, String scope) {
        Http browser = new Http();
        Pkce pkce = Pkce.create();
        Http.Response r = oidc.openAndLogin(browser, oidc.authUrl(Oidc.DEMO, Form.of(
                "client_id", HOST, "redirect_uri", REDIRECT, "response_type", "code", "scope", scope,
                "state", "s", "code_challenge", pkce.challenge(), "code_challenge_method", "S256").list()),
                username, password);
        assertEquals(302, r.status(), r.body());
        String code = Oidc.params(r.location()).get("code");
        assertNotNull(code, r.location());
        Http.Response token = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of(
                "grant_type", "authorization_code", "code", code, "redirect_uri", REDIRECT,
                "code_verifier", pkce.verifier()).list(), Http.basic(HOST, HOST_SECRET));
        assertEquals(200, token.status(), token.body());
        return token.json();
    }

    /** The user's access token at {@code agent-host} with {@code openid profile email}. */
    public String accessToken(String username) {
        return loginToHost(username, username, "openid profile email").get("access_token").asText();
    }

    /** The internal id of a demo realm user. */
    public String userId(String adminToken, String username) {
        Http.Response r = new Http().get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/users?exact=true&username=" + username, adminToken);
        assertEquals(200, r.status(), r.body());
        return r.json().get(0).get("id").asText();
    }

    /**
     * Creates user {@code username} (password = username) in {@code realm} through the admin REST API, named after the
     * test {@code family} that owns it; an existing one is kept.
     */
    public void create(String adminToken, String realm, String username, String family) {
        Map<String, Object> u = new java.util.LinkedHashMap<>();
        u.put("username", username);
        u.put("enabled", true);
        u.put("email", username + "@" + family.toLowerCase(java.util.Locale.ROOT) + ".example.com");
        u.put("emailVerified", true);
        u.put("firstName", family);
        u.put("lastName", username);
        u.put("credentials", java.util.List.of(Map.of("type", "password", "value", username, "temporary", false)));
        Http.Response r = new Http().postJson(server.baseUrl() + "/admin/realms/" + realm + "/users", adminToken, u);
        org.junit.jupiter.api.Assertions.assertTrue(r.status() == 201 || r.status() == 409, r.toString());
    }

    /** Creates a grant through the admin REST API; returns its id. */
    public String adminGrant(String adminToken, String userId, Map<String, Object> body) {
        Http.Response r = new Http().postJson(grantsUrl(userId), adminToken, body);
        assertEquals(201, r.status(), r.body());
        return r.json().get("id").asText();
    }

    public String grantsUrl(String userId) {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/users/" + userId + "/delegations";
    }
}
