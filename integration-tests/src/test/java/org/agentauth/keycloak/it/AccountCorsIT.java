package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpRequest;
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

/**
 * CORS on the account API ({@code /realms/{realm}/agent-auth/account/delegations}), as Keycloak's Account REST API
 * does it: the real response allows the web origins of the token's client (agent-host's web origins are "+": the
 * origins of its redirect URIs, http://localhost and http://127.0.0.1), and a request from any other origin is refused
 * before anything happens. A preflight (no token) is answered for the web origins of the realm's clients only.
 */
@Order(12)
@ExtendWith(KeycloakServerExtension.class)
class AccountCorsIT {

    static final String ALLOWED = "http://localhost";
    static final String FOREIGN = "https://evil.example";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final DemoUsers users;
    private final Http http = new Http();

    AccountCorsIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.users = new DemoUsers(server);
    }

    private String accountUrl() {
        return server.realmUrl(Oidc.DEMO) + "/agent-auth/account/delegations";
    }

    private Http.Response preflight(String url, String origin, String method) {
        return http.send(HttpRequest.newBuilder(URI.create(url))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", method)
                .header("Access-Control-Request-Headers", "authorization")
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    }

    private Http.Response withOrigin(String method, String url, String bearer, String origin) {
        return http.send(HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + bearer)
                .header("Origin", origin)
                .method(method, HttpRequest.BodyPublishers.noBody()));
    }

    @Test
    void preflightAnswersTheRealmsWebOriginsOnly() {
        for (String url : List.of(accountUrl(), accountUrl() + "/some-grant-id")) {
            Http.Response ok = preflight(url, ALLOWED, "DELETE");
            assertEquals(200, ok.status(), ok.toString());
            assertEquals(ALLOWED, ok.header("Access-Control-Allow-Origin"));
            assertEquals("true", ok.header("Access-Control-Allow-Credentials"));
            assertTrue(ok.header("Access-Control-Allow-Methods").contains("DELETE"), ok.header("Access-Control-Allow-Methods"));
            assertTrue(ok.header("Access-Control-Allow-Headers").contains("Authorization"), ok.header("Access-Control-Allow-Headers"));

            Http.Response foreign = preflight(url, FOREIGN, "DELETE");
            assertNull(foreign.header("Access-Control-Allow-Origin"), "no CORS for a foreign origin: " + foreign.headers());
            assertNull(foreign.header("Access-Control-Allow-Methods"));
            assertNull(foreign.header("Access-Control-Allow-Credentials"));
        }
        assertEquals("http://127.0.0.1", preflight(accountUrl(), "http://127.0.0.1", "GET").header("Access-Control-Allow-Origin"));
        assertNull(preflight(accountUrl(), "http://localhost:9999", "GET").header("Access-Control-Allow-Origin"), "another port is another origin");
        assertNull(preflight(accountUrl(), "null", "GET").header("Access-Control-Allow-Origin"));
    }

    @Test
    void theRealResponseAllowsTheTokensClientsOriginsAndRefusesOthers() {
        String alice = users.accessToken("alice");
        Http.Response ok = withOrigin("GET", accountUrl(), alice, ALLOWED);
        assertEquals(200, ok.status(), ok.toString());
        assertEquals(ALLOWED, ok.header("Access-Control-Allow-Origin"));
        assertEquals("true", ok.header("Access-Control-Allow-Credentials"));

        // a foreign page that holds the token still gets nothing it can read, and no CORS header
        Http.Response foreign = withOrigin("GET", accountUrl(), alice, FOREIGN);
        assertEquals(403, foreign.status(), foreign.toString());
        assertNull(foreign.header("Access-Control-Allow-Origin"), foreign.headers().toString());
        assertTrue(!foreign.body().contains("\"id\""), foreign.body());

        // no Origin (not a browser, or same-origin GET): as before, no CORS headers
        Http.Response plain = http.get(accountUrl(), alice);
        assertEquals(200, plain.status());
        assertNull(plain.header("Access-Control-Allow-Origin"));
        // the server's own origin is always allowed (as Keycloak does)
        assertEquals(200, withOrigin("GET", accountUrl(), alice, server.baseUrl()).status());
    }

    @Test
    void aRevocationFromAForeignOriginIsRefusedBeforeAnythingHappens() {
        String admin = oidc.adminToken();
        String aliceId = users.userId(admin, "alice");
        String grantId = users.adminGrant(admin, aliceId, Map.of("agent", "research-agent", "host", "agent-host"));
        String alice = users.accessToken("alice");
        try {
            Http.Response foreign = withOrigin("DELETE", accountUrl() + "/" + grantId, alice, FOREIGN);
            assertEquals(403, foreign.status(), foreign.toString());
            assertNull(foreign.header("Access-Control-Allow-Origin"));
            assertTrue(http.get(users.grantsUrl(aliceId), admin).body().contains(grantId), "the grant is still there");

            Http.Response notFound = withOrigin("DELETE", accountUrl() + "/no-such-grant", alice, ALLOWED);
            assertEquals(404, notFound.status(), notFound.toString());
            assertEquals(ALLOWED, notFound.header("Access-Control-Allow-Origin"), "the page can read the error");

            Http.Response revoked = withOrigin("DELETE", accountUrl() + "/" + grantId, alice, ALLOWED);
            assertEquals(204, revoked.status(), revoked.toString());
            assertEquals(ALLOWED, revoked.header("Access-Control-Allow-Origin"));
            assertTrue(!http.get(users.grantsUrl(aliceId), admin).body().contains(grantId));
        } finally {
            http.delete(users.grantsUrl(aliceId) + "/" + grantId, admin);
        }
    }

    /** The preflight's origins follow the clients' web origins at once (a client change forgets the cached set). */
    @Test
    void aWebOriginAddedToAClientIsAnsweredAtOnce() {
        String origin = "https://app.example.com";
        assertNull(preflight(accountUrl(), origin, "GET").header("Access-Control-Allow-Origin"));
        String admin = oidc.adminToken();
        ObjectNode client = (ObjectNode) http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients?clientId=mcp-client", admin).json().get(0);
        String url = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + client.get("id").asText();
        JsonNode before = client.get("webOrigins").deepCopy();
        try {
            client.putArray("webOrigins").add("+").add(origin);
            assertEquals(204, http.putJson(url, admin, client.toString()).status());
            assertEquals(origin, preflight(accountUrl(), origin, "GET").header("Access-Control-Allow-Origin"));
        } finally {
            client.set("webOrigins", before);
            assertEquals(204, http.putJson(url, admin, client.toString()).status());
        }
        assertNull(preflight(accountUrl(), origin, "GET").header("Access-Control-Allow-Origin"), "and removed at once");
    }
}
