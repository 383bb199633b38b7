package org.agentauth.keycloak.it.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * Test helpers around delegation: grants through the admin REST API
 * ({@code /admin/realms/{realm}/agent-auth/users/{userId}/delegations}), client attributes, user logins.
 */
public final class Delegations {

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Http http = new Http();

    public Delegations(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
    }

    private String admin(String path) {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + path;
    }

    public String userId(String username) {
        Http.Response r = http.get(admin("/users?exact=true&username=" + username), oidc.adminToken());
        if (r.status() != 200 || r.json().size() != 1) {
            throw new AssertionError("user " + username + ": " + r);
        }
        return r.json().get(0).get("id").asText();
    }

    /** Creates (or replaces) a grant; returns its id. */
    public String grant(String username, String agent, String host, List<String> scopes, List<String> downstreamAgents) {
        Http.Response r = http.postJson(admin("/agent-auth/users/" + userId(username) + "/delegations"), oidc.adminToken(),
                Map.of("agent", agent, "host", host, "scopes", scopes, "downstreamAgents", downstreamAgents));
        if (r.status() != 201) {
            throw new AssertionError("creating grant failed: " + r);
        }
        return r.json().get("id").asText();
    }

    public void revoke(String username, String grantId) {
        Http.Response r = http.delete(admin("/agent-auth/users/" + userId(username) + "/delegations/" + grantId), oidc.adminToken());
        if (r.status() != 204 && r.status() != 200) {
            throw new AssertionError("revoking grant failed: " + r);
        }
    }

    /** Removes every grant of a user. */
    public void revokeAll(String username) {
        String uid = userId(username);
        Http.Response r = http.get(admin("/agent-auth/users/" + uid + "/delegations"), oidc.adminToken());
        if (r.status() != 200) {
            throw new AssertionError("listing grants failed: " + r);
        }
        for (JsonNode g : r.json()) {
            revoke(username, g.get("id").asText());
        }
    }

    public JsonNode client(String clientId) {
        Http.Response r = http.get(admin("/clients?clientId=" + clientId), oidc.adminToken());
        return r.json().get(0);
    }

    /** Sets (or, with null, removes) client attributes; returns the previous values. */
    public Map<String, String> setAttributes(String clientId, Map<String, String> attrs) {
        ObjectNode c = (ObjectNode) client(clientId);
        ObjectNode a = (ObjectNode) c.get("attributes");
        Map<String, String> before = new java.util.HashMap<>();
        attrs.forEach((k, v) -> {
            before.put(k, a.has(k) ? a.get(k).asText() : null);
            if (v == null) {
                a.remove(k);
            } else {
                a.put(k, v);
            }
        });
        Http.Response r = http.putJson(admin("/clients/" + c.get("id").asText()), oidc.adminToken(), c);
        if (r.status() != 204) {
            throw new AssertionError("updating client failed: " + r);
        }
        return before;
    }

    /** Events of a type, newest first. */
    public JsonNode events(String type) {
        return http.get(admin("/events?type=" + type + "&max=50"), oidc.adminToken()).json();
    }

    /** alice (or another user) signs in to {@code host} with the code flow and gets its tokens. */
    public JsonNode login(String username, String host, String hostSecret, String scope) {
        Http browser = new Http();
        Oidc.Pkce pkce = Oidc.Pkce.create();
        String url = oidc.authUrl(Oidc.DEMO, Oidc.Form.of("client_id", host, "redirect_uri", "http://localhost/callback",
                "response_type", "code", "scope", scope, "state", "s", "code_challenge", pkce.challenge(),
                "code_challenge_method", "S256").list());
        Http.Response r = oidc.openAndLogin(browser, url, username, username);
        if (r.status() != 302) {
            throw new AssertionError("login failed: " + r.status());
        }
        String code = Oidc.params(r.location()).get("code");
        Http.Response t = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Oidc.Form.of("grant_type", "authorization_code",
                "code", code, "redirect_uri", "http://localhost/callback", "code_verifier", pkce.verifier()).list(),
                Http.basic(host, hostSecret));
        if (t.status() != 200) {
            throw new AssertionError("code redemption failed: " + t);
        }
        return t.json();
    }
}
