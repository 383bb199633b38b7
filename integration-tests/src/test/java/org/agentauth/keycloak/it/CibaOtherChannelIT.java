package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the README says of a server that names another CIBA channel (issue 24): restarted with
 * {@code --spi-ciba-auth-channel--provider-default=ciba-http-auth-channel} and Keycloak's HTTP channel pointed at an
 * "authentication device" service on loopback (a JDK HTTP server in this JVM), a plain CIBA request goes to that service
 * exactly as in stock Keycloak, and a request for an agent is refused with 400 {@code invalid_request} before anything is
 * sent there. The server is restarted as it was afterwards. Runs in the PostgreSQL execution only (excluded from the main
 * run): its two restarts are the slow part.
 */
@Order(96)
@ExtendWith(KeycloakServerExtension.class)
class CibaOtherChannelIT {

    private final KeycloakServer server;
    private final Oidc oidc;
    private final DemoUsers users;

    CibaOtherChannelIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.users = new DemoUsers(server);
    }

    @Test
    void anotherNamedChannelKeepsPlainCibaAndRefusesAgents() throws Exception {
        List<String> device = new CopyOnWriteArrayList<>();
        HttpServer stub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        stub.createContext("/device", exchange -> {
            device.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(201, -1);
            exchange.close();
        });
        stub.start();
        String user = "ciba-channel-" + UUID.randomUUID().toString().substring(0, 6);
        String admin = oidc.adminToken();
        users.create(admin, Oidc.DEMO, user, "CibaChannel");
        String userId = users.userId(admin, user);
        try {
            server.restart(List.of(), List.of("--spi-ciba-auth-channel--provider-default=ciba-http-auth-channel",
                    "--spi-ciba-auth-channel--ciba-http-auth-channel--http-authentication-channel-uri=http://127.0.0.1:"
                            + stub.getAddress().getPort() + "/device"));
            Http http = new Http();
            String endpoint = server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/ext/ciba/auth";
            Http.Response agent = http.postForm(endpoint, Oidc.Form.of("login_hint", user, "scope", "openid",
                    "requested_actor", "calendar-agent", "binding_message", "O-1").list(), Http.basic("calendar-agent", "calendar-agent-secret"));
            assertEquals(400, agent.status(), agent.toString());
            assertEquals("invalid_request", agent.json().get("error").asText(), agent.body());
            assertTrue(agent.json().get("error_description").asText().contains("channel"), agent.body());
            assertTrue(device.isEmpty(), "nothing sent to the device service for a refused request");

            Http.Response plain = http.postForm(endpoint, Oidc.Form.of("login_hint", user, "scope", "openid", "binding_message", "O-2").list(),
                    Http.basic("calendar-agent", "calendar-agent-secret"));
            assertEquals(200, plain.status(), plain.toString());
            assertTrue(plain.json().hasNonNull("auth_req_id"), plain.body());
            assertEquals(1, device.size(), device.toString());
            assertTrue(device.get(0).contains("O-2") && device.get(0).contains(user), device.get(0));
        } finally {
            server.restart(List.of("--spi-ciba-auth-channel"), List.of());
            stub.stop(0);
            new Http().delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/users/" + userId, oidc.adminToken());
        }
        // our channel again: an agent's request is accepted
        String u2 = user + "-after";
        users.create(oidc.adminToken(), Oidc.DEMO, u2, "CibaChannel");
        try {
            Http.Response again = new Http().postForm(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/ext/ciba/auth",
                    Oidc.Form.of("login_hint", u2, "scope", "openid", "requested_actor", "calendar-agent", "binding_message", "O-3").list(),
                    Http.basic("calendar-agent", "calendar-agent-secret"));
            assertEquals(200, again.status(), again.toString());
        } finally {
            new Http().delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/users/" + users.userId(oidc.adminToken(), u2), oidc.adminToken());
        }
    }
}
