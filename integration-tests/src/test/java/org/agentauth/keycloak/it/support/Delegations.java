package org.agentauth.keycloak.it.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * Test helpers around delegation on top of {@link DemoUsers}: grants by username (admin REST API
 * {@code /admin/realms/{realm}/agent-auth/users/{userId}/delegations}), client attributes, events.
 */
public final class Delegations {

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Http http = new Http();
    private final DemoUsers users;

    public Delegations(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.users = new DemoUsers(server);
    }

    private String admin(String path) {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + path;
    }

    public String userId(String username) {
        return users.userId(oidc.adminToken(), username);
    }

    /** Creates (or replaces) a grant through the admin REST API; returns its id. */
    public String grant(String username, String agent, String host, List<String> scopes, List<String> downstreamAgents) {
        return users.adminGrant(oidc.adminToken(), userId(username),
                Map.of("agent", agent, "host", host, "scopes", scopes, "downstreamAgents", downstreamAgents));
    }

    public void revoke(String username, String grantId) {
        Http.Response r = http.delete(users.grantsUrl(userId(username)) + "/" + grantId, oidc.adminToken());
        if (r.status() != 204 && r.status() != 200) {
            throw new AssertionError("revoking grant failed: " + r);
        }
    }

    /** Removes every grant of a user. */
    public void revokeAll(String username) {
        String uid = userId(username);
        Http.Response r = http.get(users.grantsUrl(uid), oidc.adminToken());
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
        Map<String, String> before = new java.util.HashMap<>();
        updateClient(clientId, c -> {
            ObjectNode a = (ObjectNode) c.get("attributes");
            attrs.forEach((k, v) -> {
                before.put(k, a.has(k) ? a.get(k).asText() : null);
                if (v == null) {
                    // an absent key would leave the attribute as it is: Keycloak removes attributes sent as null
                    a.putNull(k);
                } else {
                    a.put(k, v);
                }
            });
        });
        return before;
    }

    /** Changes a client through the admin REST API: its representation read, changed by {@code change}, written back (204). */
    public void updateClient(String clientId, java.util.function.Consumer<ObjectNode> change) {
        ObjectNode c = (ObjectNode) client(clientId);
        change.accept(c);
        Http.Response r = http.putJson(admin("/clients/" + c.get("id").asText()), oidc.adminToken(), c);
        if (r.status() != 204) {
            throw new AssertionError("updating client failed: " + r);
        }
    }

    /** Events of a type, newest first. */
    public JsonNode events(String type) {
        return http.get(admin("/events?type=" + type + "&max=50"), oidc.adminToken()).json();
    }
}
