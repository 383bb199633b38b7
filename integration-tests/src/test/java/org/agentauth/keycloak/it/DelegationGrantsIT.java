package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Delegation grants through the admin REST API and the user's own account API (DESIGN sections 2 and 5). */
@Order(10)
@ExtendWith(KeycloakServerExtension.class)
class DelegationGrantsIT {

    private final KeycloakServer server;
    private final Oidc oidc;
    private final DemoUsers users;
    private final Http http = new Http();

    DelegationGrantsIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.users = new DemoUsers(server);
    }

    private String accountUrl() {
        return server.realmUrl(Oidc.DEMO) + "/agent-auth/account/delegations";
    }

    @Test
    void adminCreatesListsAndRevokesGrantsAndUsersSeeOnlyTheirOwn() {
        String admin = oidc.adminToken();
        String bobId = users.userId(admin, "bob");
        String grantId = users.adminGrant(admin, bobId, Map.of("agent", "research-agent", "host", "agent-host",
                "scopes", List.of("openid", "profile")));

        Http.Response list = http.get(users.grantsUrl(bobId), admin);
        assertEquals(200, list.status(), list.body());
        JsonNode g = find(list.json(), grantId);
        assertEquals("research-agent", g.path("agent").asText());
        assertEquals("Research Agent", g.path("agentName").asText());
        assertEquals("agent-host", g.path("host").asText());
        assertEquals("admin", g.path("origin").asText());
        assertTrue(g.path("active").asBoolean());
        assertTrue(g.path("expiresAt").asLong() > g.path("createdAt").asLong(), "grant lifetime from the agent policy");

        String bobToken = users.accessToken("bob");
        Http.Response own = http.get(accountUrl(), bobToken);
        assertEquals(200, own.status(), own.body());
        assertEquals(grantId, find(own.json(), grantId).path("id").asText());

        // alice sees none of bob's grants and cannot delete them (same 404 as an unknown id)
        String aliceToken = users.accessToken("alice");
        Http.Response alices = http.get(accountUrl(), aliceToken);
        assertEquals(200, alices.status());
        for (JsonNode x : alices.json()) {
            assertFalse(grantId.equals(x.path("id").asText()), "alice sees bob's grant");
        }
        assertEquals(404, http.delete(accountUrl() + "/" + grantId, aliceToken).status());
        assertEquals(404, http.delete(accountUrl() + "/no-such-grant", aliceToken).status());

        // bob revokes it himself; it is gone for the admin too
        assertEquals(204, http.delete(accountUrl() + "/" + grantId, bobToken).status());
        assertTrue(find(http.get(users.grantsUrl(bobId), admin).json(), grantId).isMissingNode());
        assertEquals(404, http.delete(accountUrl() + "/" + grantId, bobToken).status());

        // the revocation is an event, without any token in it
        Http.Response events = http.get(server.baseUrl() + "/admin/realms/agents-demo/events?type=REVOKE_GRANT&user=" + bobId, admin);
        assertEquals(200, events.status(), events.body());
        assertTrue(events.body().contains(grantId), events.body());
        assertTrue(events.body().contains("research-agent"), events.body());
        assertFalse(events.body().contains(bobToken));
    }

    @Test
    void adminRevokesAndAdminEventIsRecorded() {
        String admin = oidc.adminToken();
        String aliceId = users.userId(admin, "alice");
        String grantId = users.adminGrant(admin, aliceId, Map.of("agent", "calendar-agent", "host", "mcp-client"));
        JsonNode g = find(http.get(users.grantsUrl(aliceId), admin).json(), grantId);
        assertEquals(List.of("openid", "profile", "email"),
                Http.JSON.convertValue(g.path("scopes"), List.class), "defaults to the agent's allowed scopes");
        assertEquals(204, http.delete(users.grantsUrl(aliceId) + "/" + grantId, admin).status());
        assertEquals(404, http.delete(users.grantsUrl(aliceId) + "/" + grantId, admin).status());
        Http.Response adminEvents = http.get(server.baseUrl() + "/admin/realms/agents-demo/admin-events?operationTypes=DELETE&max=50", admin);
        assertEquals(200, adminEvents.status(), adminEvents.body());
        // (Keycloak's admin-events query cannot filter on a free-form resource type: it answers 500, so we don't.)
        assertTrue(adminEvents.body().contains("AGENT_AUTH_DELEGATION_GRANT"), adminEvents.body());
        assertTrue(adminEvents.body().contains(grantId), adminEvents.body());
    }

    @Test
    void adminRefusesGrantsOutsideThePolicy() {
        String admin = oidc.adminToken();
        String aliceId = users.userId(admin, "alice");
        assertEquals(400, http.postJson(users.grantsUrl(aliceId), admin, Map.of("agent", "plain-service", "host", "agent-host")).status());
        assertEquals(400, http.postJson(users.grantsUrl(aliceId), admin, Map.of("agent", "research-agent", "host", "mcp-client")).status());
        assertEquals(400, http.postJson(users.grantsUrl(aliceId), admin, Map.of("agent", "research-agent", "host", "agent-host",
                "scopes", List.of("email"))).status());
        assertEquals(400, http.postJson(users.grantsUrl(aliceId), admin, Map.of("host", "agent-host")).status());
        assertEquals(404, http.get(users.grantsUrl("00000000-0000-0000-0000-000000000000"), admin).status());
    }

    /** A grant body followed by a second document or garbage is refused with a clear message, and no grant is stored. */
    @Test
    void adminRefusesTrailingJsonAndStoresNothing() {
        String admin = oidc.adminToken();
        String bobId = users.userId(admin, "bob");
        int before = http.get(users.grantsUrl(bobId), admin).json().size();
        String grant = "{\"agent\": \"research-agent\", \"host\": \"agent-host\", \"scopes\": [\"openid\"]}";
        for (String body : List.of(grant + " {\"scopes\": []}", grant + "garbage", grant + "}", grant + grant)) {
            Http.Response r = http.postJson(users.grantsUrl(bobId), admin, body);
            assertEquals(400, r.status(), body + " -> " + r.body());
            assertTrue(r.json().path("errorMessage").asText().contains("one JSON grant with nothing after it"), r.body());
        }
        Http.Response dup = http.postJson(users.grantsUrl(bobId), admin,
                "{\"agent\": \"research-agent\", \"host\": \"agent-host\", \"scopes\": [\"openid\"], \"scopes\": []}");
        assertEquals(400, dup.status(), dup.body());
        assertEquals("scopes", dup.json().path("field").asText(), dup.body());
        Http.Response unknown = http.postJson(users.grantsUrl(bobId), admin,
                "{\"agent\": \"research-agent\", \"host\": \"agent-host\", \"scope\": [\"openid\"]}");
        assertEquals(400, unknown.status(), unknown.body());
        assertEquals("scope", unknown.json().path("field").asText(), "a misspelt field never falls back to all scopes");
        assertEquals(before, http.get(users.grantsUrl(bobId), admin).json().size(), "no grant stored");
    }

    /**
     * {@code "scopes":[null]} once meant "all of the agent's scopes": a null, empty or non-string entry, or an empty
     * list, is a 400 naming the field, and no grant is stored. Same for connectors and downstream agents.
     */
    @Test
    void adminRefusesNullEmptyOrNonStringListEntriesAndNeverWidens() {
        String admin = oidc.adminToken();
        String aliceId = users.userId(admin, "alice");
        int before = http.get(users.grantsUrl(aliceId), admin).json().size();
        String prefix = "{\"agent\": \"calendar-agent\", \"host\": \"agent-host\", ";
        Map<String, String> bodies = new java.util.LinkedHashMap<>();
        bodies.put(prefix + "\"scopes\": [null]}", "scopes");
        bodies.put(prefix + "\"scopes\": [\"openid\", null]}", "scopes");
        bodies.put(prefix + "\"scopes\": [\"\"]}", "scopes");
        bodies.put(prefix + "\"scopes\": [\"  \"]}", "scopes");
        bodies.put(prefix + "\"scopes\": []}", "scopes");
        bodies.put(prefix + "\"scopes\": [1]}", "scopes");
        bodies.put(prefix + "\"scopes\": [true]}", "scopes");
        bodies.put(prefix + "\"scopes\": [{}]}", "scopes");
        bodies.put(prefix + "\"scopes\": [[\"openid\"]]}", "scopes");
        bodies.put(prefix + "\"scopes\": [\"openid\"], \"connectors\": [null]}", "connectors");
        bodies.put(prefix + "\"scopes\": [\"openid\"], \"connectors\": [\"\"]}", "connectors");
        bodies.put(prefix + "\"scopes\": [\"openid\"], \"downstreamAgents\": [null]}", "downstreamAgents");
        bodies.put(prefix + "\"scopes\": [\"openid\"], \"downstreamAgents\": [7]}", "downstreamAgents");
        bodies.put(prefix + "\"scopes\": [\"openid\", \"offline_access\"]}", "scopes");
        bodies.put(prefix + "\"scopes\": [\"openid\"], \"connectors\": [\"other-connector\"]}", "connectors");
        bodies.forEach((body, field) -> {
            Http.Response r = http.postJson(users.grantsUrl(aliceId), admin, body);
            assertEquals(400, r.status(), body + " -> " + r.body());
            assertEquals(field, r.json().path("field").asText(), body + " -> " + r.body());
            assertFalse(r.json().path("errorMessage").asText().isBlank(), r.body());
        });
        assertEquals(before, http.get(users.grantsUrl(aliceId), admin).json().size(), "no grant stored");

        // a missing list still takes the documented default, and an explicit one is kept as it is
        String id = users.adminGrant(admin, aliceId, Map.of("agent", "calendar-agent", "host", "agent-host", "scopes", List.of(" email ")));
        assertEquals(List.of("email"), Http.JSON.convertValue(find(http.get(users.grantsUrl(aliceId), admin).json(), id).path("scopes"), List.class));
        assertEquals(204, http.delete(users.grantsUrl(aliceId) + "/" + id, admin).status());
    }

    @Test
    void accountApiNeedsAUserTokenWithoutDelegationMarkers() {
        assertEquals(401, http.get(accountUrl(), "not-a-token").status());
        assertEquals(401, http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(accountUrl())).GET()).status());
        // a service account token (no account audience) is refused
        String agent = oidc.clientCredentials(Oidc.DEMO, "calendar-agent", "calendar-agent-secret").json().get("access_token").asText();
        int status = http.get(accountUrl(), agent).status();
        assertTrue(status == 401 || status == 403, "service account refused, got " + status);
        // a user's token cannot reach the admin API
        assertEquals(403, http.get(users.grantsUrl(users.userId(oidc.adminToken(), "alice")), users.accessToken("alice")).status());
    }

    @Test
    void grantsAreRemovedWithTheirUser() {
        String admin = oidc.adminToken();
        Http.Response created = http.postJson(server.baseUrl() + "/admin/realms/agents-demo/users", admin,
                Map.of("username", "carol", "enabled", true));
        assertEquals(201, created.status(), created.body());
        String carolId = users.userId(admin, "carol");
        users.adminGrant(admin, carolId, Map.of("agent", "research-agent", "host", "agent-host"));
        assertEquals(1, http.get(users.grantsUrl(carolId), admin).json().size());
        String byAgent = server.baseUrl() + "/admin/realms/agents-demo/agent-auth/delegations?agent=research-agent";
        assertTrue(http.get(byAgent, admin).body().contains(carolId));
        assertEquals(204, http.delete(server.baseUrl() + "/admin/realms/agents-demo/users/" + carolId, admin).status());
        Http.Response after = http.get(byAgent, admin);
        assertEquals(200, after.status(), after.body());
        assertFalse(after.body().contains(carolId), "grant rows deleted with the user");
        assertEquals(404, http.get(users.grantsUrl(carolId), admin).status());
    }

    private static JsonNode find(JsonNode array, String id) {
        for (JsonNode n : array) {
            if (id.equals(n.path("id").asText())) {
                return n;
            }
        }
        return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }
}
