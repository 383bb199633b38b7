package org.agentauth.keycloak.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;

/**
 * A realm a test creates through the admin REST API (and deletes when closed), for settings the demo realm must not
 * carry (an agent with {@code private_key_jwt}, a DPoP host). Users get the password = their username.
 */
public final class TestRealm implements AutoCloseable {

    public static final String REDIRECT = "http://localhost/callback";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final String name;

    private TestRealm(KeycloakServer server, String name) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.name = name;
    }

    /** Creates the realm {@code name} (replacing a leftover one) with these users and clients (representations). */
    public static TestRealm create(KeycloakServer server, String name, List<String> users, List<Map<String, Object>> clients) {
        TestRealm realm = new TestRealm(server, name);
        String admin = realm.oidc.adminToken();
        new Http().delete(server.baseUrl() + "/admin/realms/" + name, admin);
        List<Map<String, Object>> userReps = new ArrayList<>();
        for (String u : users) {
            userReps.add(Map.of("username", u, "enabled", true, "email", u + "@example.com", "emailVerified", true,
                    "firstName", u, "lastName", "Test",
                    "credentials", List.of(Map.of("type", "password", "value", u, "temporary", false))));
        }
        Map<String, Object> rep = new LinkedHashMap<>();
        rep.put("realm", name);
        rep.put("enabled", true);
        rep.put("sslRequired", "external");
        rep.put("eventsEnabled", true);
        rep.put("users", userReps);
        rep.put("clients", clients);
        Http.Response r = new Http().postJson(server.baseUrl() + "/admin/realms", admin, rep);
        assertEquals(201, r.status(), "creating realm " + name + ": " + r);
        return realm;
    }

    /** A confidential client with a secret, standard flow to {@link #REDIRECT} and standard token exchange. */
    public static Map<String, Object> host(String clientId, String secret, Map<String, String> attributes) {
        Map<String, String> attrs = new LinkedHashMap<>(Map.of("standard.token.exchange.enabled", "true"));
        attrs.putAll(attributes);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("clientId", clientId);
        c.put("enabled", true);
        c.put("protocol", "openid-connect");
        c.put("publicClient", false);
        c.put("clientAuthenticatorType", "client-secret");
        c.put("secret", secret);
        c.put("standardFlowEnabled", true);
        c.put("redirectUris", List.of("http://localhost/*"));
        c.put("attributes", attrs);
        return c;
    }

    /**
     * An agent (service account, standard token exchange) for the given hosts, scopes {@code openid profile email};
     * {@code authentication} holds the client authenticator ({@code clientAuthenticatorType}, {@code secret}) and
     * any further attributes go into {@code attributes}.
     */
    public static Map<String, Object> agent(String clientId, String hosts, Map<String, Object> authentication, Map<String, String> attributes) {
        Map<String, String> attrs = new LinkedHashMap<>(Map.of("standard.token.exchange.enabled", "true",
                "agent_auth.agent", "true", "agent_auth.allowed_scopes", "openid profile email", "agent_auth.allowed_hosts", hosts));
        attrs.putAll(attributes);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("clientId", clientId);
        c.put("enabled", true);
        c.put("protocol", "openid-connect");
        c.put("publicClient", false);
        c.put("standardFlowEnabled", false);
        c.put("serviceAccountsEnabled", true);
        c.putAll(authentication);
        c.put("attributes", attrs);
        return c;
    }

    public String name() {
        return name;
    }

    public String issuer() {
        return server.realmUrl(name);
    }

    public String tokenEndpoint() {
        return oidc.tokenEndpoint(name);
    }

    /** Records a delegation grant through the extension's admin REST API. */
    public void grant(String username, String agent, String host, List<String> scopes) {
        String admin = oidc.adminToken();
        Http.Response u = new Http().get(server.baseUrl() + "/admin/realms/" + name + "/users?exact=true&username=" + username, admin);
        assertEquals(200, u.status(), u.toString());
        String userId = u.json().get(0).get("id").asText();
        Http.Response r = new Http().postJson(server.baseUrl() + "/admin/realms/" + name + "/agent-auth/users/" + userId + "/delegations",
                admin, Map.of("agent", agent, "host", host, "scopes", scopes, "downstreamAgents", List.of()));
        assertEquals(201, r.status(), r.toString());
    }

    /** An authorization code and its PKCE verifier. */
    public record Code(String code, Pkce pkce) {
    }

    /** Signs {@code username} in to {@code clientId} (code flow with PKCE) and returns the code, not yet redeemed. */
    public Code login(String clientId, String username, String scope) {
        Pkce pkce = Pkce.create();
        Http.Response r = oidc.openAndLogin(new Http(), oidc.authUrl(name, Form.of("client_id", clientId, "redirect_uri", REDIRECT,
                "response_type", "code", "scope", scope, "state", "s", "code_challenge", pkce.challenge(),
                "code_challenge_method", "S256").list()), username, username);
        assertEquals(302, r.status(), r.body());
        String code = Oidc.params(r.location()).get("code");
        assertNotNull(code, r.location());
        return new Code(code, pkce);
    }

    /** The token-request form that redeems {@code code}. */
    public static Form redeem(Code code) {
        return Form.of("grant_type", "authorization_code", "code", code.code(), "redirect_uri", REDIRECT,
                "code_verifier", code.pkce().verifier());
    }

    /** Stored events of a type in this realm, newest first. */
    public JsonNode events(String type) {
        return new Http().get(server.baseUrl() + "/admin/realms/" + name + "/events?type=" + type + "&max=50", oidc.adminToken()).json();
    }

    @Override
    public void close() {
        Http.Response r = new Http().delete(server.baseUrl() + "/admin/realms/" + name, oidc.adminToken());
        assertEquals(204, r.status(), "deleting realm " + name + ": " + r);
    }
}
