package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The extension verifies the {@code actor_token} and the brokered proxy's bearer token directly
 * ({@code token.BearerVerification}: Keycloak's checks without the transient session Keycloak builds for them). This
 * test tries every way a token Keycloak would refuse could slip through that path, on the real server, for both
 * entry points: each token is first shown to work, then the one thing is changed, then it must be refused, with the
 * refusal attributed to that token; then a fresh token works again.
 *
 * <ul>
 *   <li>RFC 7009 revocation of the token itself;</li>
 *   <li>the not-before of the realm, of the token's client ({@code azp}), and of the user (admin "sign out", which
 *       also ends the user's sessions);</li>
 *   <li>the user, or the agent's service-account user, disabled; the agent client disabled;</li>
 *   <li>the user's SSO session ended (the delegated token carries its {@code sid});</li>
 *   <li>expiry (a three-second token lifespan on the agent);</li>
 *   <li>a changed payload under the original signature, and {@code alg: none};</li>
 *   <li>the realm's key that signed the token disabled, then removed (the node remembers signatures it has checked,
 *       {@code token.SignatureCache}: a key change must end that at once).</li>
 * </ul>
 * Each token is used once before the change, so every refusal is also a refusal of a signature the node remembers.
 */
@Order(41)
@ExtendWith(KeycloakServerExtension.class)
class BearerVerificationIT {

    static final String TE = "urn:ietf:params:oauth:grant-type:token-exchange";
    static final String AT = "urn:ietf:params:oauth:token-type:access_token";
    static final String AGENT = "calendar-agent";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Delegations dlg;
    private final DemoUsers users;
    private final AgentFlows flows;
    private final Vault vault;
    private final Http http = new Http();
    private final String connectorUri;

    BearerVerificationIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.dlg = new Delegations(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
        this.vault = new Vault(server);
        this.connectorUri = server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/" + Vault.CONNECTOR;
    }

    @AfterEach
    void restore() {
        String admin = oidc.adminToken();
        putRealm(admin, Map.of("notBefore", 0));
        dlg.updateClient(AGENT, c -> c.put("notBefore", 0).put("enabled", true));
        dlg.setAttributes(AGENT, java.util.Collections.singletonMap("access.token.lifespan", null));
        setUserEnabled(admin, "alice", true);
        setUserEnabled(admin, "service-account-" + AGENT, true);
        dlg.revokeAll("alice");
    }

    // ---------------------------------------------------------------- helpers

    private String adminUrl(String path) {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + path;
    }

    private void putRealm(String admin, Map<String, Object> fields) {
        ObjectNode realm = (ObjectNode) http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO, admin).json();
        fields.forEach((k, v) -> realm.set(k, Http.JSON.valueToTree(v)));
        Http.Response r = http.putJson(server.baseUrl() + "/admin/realms/" + Oidc.DEMO, admin, realm);
        assertEquals(204, r.status(), r.body());
    }

    private void setClientNotBefore(String clientId, long notBefore) {
        dlg.updateClient(clientId, c -> c.put("notBefore", notBefore));
        assertEquals(notBefore, dlg.client(clientId).path("notBefore").asLong(), "the client's notBefore was stored");
    }

    private void setClientEnabled(String clientId, boolean enabled) {
        dlg.updateClient(clientId, c -> c.put("enabled", enabled));
    }

    private void setUserEnabled(String admin, String username, boolean enabled) {
        String id = users.userId(admin, username);
        ObjectNode u = (ObjectNode) http.get(adminUrl("/users/" + id), admin).json();
        u.put("enabled", enabled);
        assertEquals(204, http.putJson(adminUrl("/users/" + id), admin, u).status());
    }

    /** Waits until the clock has passed the second {@code iat} of tokens issued so far, then returns "now" in seconds. */
    private static long nextSecond() {
        long now = Instant.now().getEpochSecond();
        try {
            Thread.sleep((now + 1) * 1000 - System.currentTimeMillis() + 50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Instant.now().getEpochSecond();
    }

    /** Waits until the clock is a second past {@code exp}. */
    private static void waitPast(long exp) {
        while (Instant.now().getEpochSecond() <= exp) {
            nextSecond();
        }
    }

    private String agentToken() {
        return flows.agentToken(AGENT);
    }

    private Http.Response exchange(String subject, String actor, String... resource) {
        return exchangeBy(AGENT, AGENT + "-secret", subject, actor, resource);
    }

    private Http.Response exchangeBy(String requester, String secret, String subject, String actor, String... resource) {
        Form f = Form.of("grant_type", TE, "subject_token", subject, "subject_token_type", AT, "actor_token", actor, "actor_token_type", AT);
        for (String r : resource) {
            f.add("resource", r);
        }
        return http.postForm(oidc.tokenEndpoint(Oidc.DEMO), f.list(), Http.basic(requester, secret));
    }

    private void assertActorAccepted(String subject, String actor) {
        Http.Response r = exchange(subject, actor);
        assertEquals(200, r.status(), r.body());
    }

    private void assertActorRefused(String subject, String actor, String why) {
        Http.Response r = exchange(subject, actor);
        assertEquals(400, r.status(), why + ": " + r.body());
        assertEquals("invalid_request", r.json().path("error").asText(), why + ": " + r.body());
        assertTrue(r.json().path("error_description").asText().contains("actor_token"), why + ": the refusal names the actor_token: " + r.body());
    }

    private void revoke(String token, String clientId, String secret) {
        Http.Response r = http.postForm(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/revoke",
                Form.of("token", token, "token_type_hint", "access_token").list(), Http.basic(clientId, secret));
        assertEquals(200, r.status(), r.body());
    }

    private Http.Response proxy(String token) {
        return http.get(connectorUri + "/proxy/userinfo", token);
    }

    private void assertProxyRefused(String token, String why) {
        Http.Response r = proxy(token);
        assertEquals(401, r.status(), why + ": " + r.body());
        assertEquals("invalid_token", r.json().path("error").asText(), why + ": " + r.body());
    }

    /** alice's Demo Calendar account linked in Chromium and her grant to the agent with the connector; the admin token. */
    private String connectAliceAndGrantTheConnector() {
        try (Browser b = new Browser()) {
            vault.connect(b, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), "alice", "alice-work", null);
        }
        String admin = oidc.adminToken();
        users.adminGrant(admin, users.userId(admin, "alice"), Map.of("agent", AGENT, "host", DemoUsers.HOST,
                "connectors", List.of(Vault.CONNECTOR)));
        return admin;
    }

    /** A delegated token of alice for the connector (her grant includes it), and the sid of the session it came from. */
    private String[] proxyToken() {
        JsonNode login = users.loginToHost("alice", "alice", "openid profile email");
        String subject = login.get("access_token").asText();
        Http.Response t = exchange(subject, agentToken(), connectorUri);
        assertEquals(200, t.status(), t.body());
        String token = t.json().get("access_token").asText();
        String sid = Oidc.claims(token).path("sid").asText();
        assertEquals(Oidc.claims(subject).path("sid").asText(), sid, "the delegated token names the user's session");
        Http.Response ok = proxy(token);
        assertEquals(200, ok.status(), ok.body());
        assertEquals("alice-work", ok.json().path("preferred_username").asText(), ok.body());
        return new String[] {token, sid};
    }

    // ---------------------------------------------------------------- the actor token

    @Test
    void anActorTokenKeycloakWouldRefuseIsRefused() {
        dlg.grant("alice", AGENT, DemoUsers.HOST, List.of("openid"), List.of());
        String admin = oidc.adminToken();

        // RFC 7009 revocation of the agent's own token
        String revoked = agentToken();
        assertActorAccepted(users.accessToken("alice"), revoked);
        revoke(revoked, AGENT, AGENT + "-secret");
        assertActorRefused(users.accessToken("alice"), revoked, "revoked actor token");

        // the agent client's not-before
        String old = agentToken();
        assertActorAccepted(users.accessToken("alice"), old);
        setClientNotBefore(AGENT, nextSecond());
        assertActorRefused(users.accessToken("alice"), old, "actor token older than the client's not-before");
        assertActorAccepted(users.accessToken("alice"), agentToken());
        setClientNotBefore(AGENT, 0);

        // the realm's not-before (the subject token is fresh, so only the actor token is too old)
        old = agentToken();
        long realmNotBefore = nextSecond();
        putRealm(admin, Map.of("notBefore", realmNotBefore));
        assertActorRefused(users.accessToken("alice"), old, "actor token older than the realm's not-before");
        assertActorAccepted(users.accessToken("alice"), agentToken());
        putRealm(admin, Map.of("notBefore", 0));

        // the service account's not-before (admin "sign out" of that user)
        old = agentToken();
        nextSecond();
        String saId = users.userId(admin, "service-account-" + AGENT);
        assertEquals(204, http.postJson(adminUrl("/users/" + saId + "/logout"), admin, Map.of()).status());
        assertActorRefused(users.accessToken("alice"), old, "actor token older than its user's not-before");
        assertActorAccepted(users.accessToken("alice"), agentToken());

        // the service-account user disabled
        old = agentToken();
        setUserEnabled(admin, "service-account-" + AGENT, false);
        assertActorRefused(users.accessToken("alice"), old, "actor token of a disabled service-account user");
        setUserEnabled(admin, "service-account-" + AGENT, true);
        assertActorAccepted(users.accessToken("alice"), old);

        // the agent client disabled: agent-host (the subject token's azp) asks, as a disabled client cannot
        assertEquals(200, exchangeBy(DemoUsers.HOST, DemoUsers.HOST_SECRET, users.accessToken("alice"), old).status());
        setClientEnabled(AGENT, false);
        Http.Response r = exchangeBy(DemoUsers.HOST, DemoUsers.HOST_SECRET, users.accessToken("alice"), old);
        assertEquals(400, r.status(), r.body());
        assertTrue(r.json().path("error_description").asText().contains("actor_token"), r.body());
        setClientEnabled(AGENT, true);
        assertActorAccepted(users.accessToken("alice"), old);

        // expired
        dlg.setAttributes(AGENT, Map.of("access.token.lifespan", "3"));
        String shortLived = agentToken();
        JsonNode c = Oidc.claims(shortLived);
        assertEquals(3, c.get("exp").asLong() - c.get("iat").asLong(), c.toString());
        assertActorAccepted(users.accessToken("alice"), shortLived);
        waitPast(c.get("exp").asLong());
        assertActorRefused(users.accessToken("alice"), shortLived, "expired actor token");
        dlg.setAttributes(AGENT, java.util.Collections.singletonMap("access.token.lifespan", null));

        // a changed payload under the original signature, and alg none
        String good = agentToken();
        String[] parts = good.split("\\.");
        String payload = new String(java.util.Base64.getUrlDecoder().decode(parts[1]), java.nio.charset.StandardCharsets.UTF_8);
        String changed = payload.replace("\"exp\":", "\"exp\":1" );
        java.util.Base64.Encoder b64 = java.util.Base64.getUrlEncoder().withoutPadding();
        String tampered = parts[0] + "." + b64.encodeToString(changed.getBytes(java.nio.charset.StandardCharsets.UTF_8)) + "." + parts[2];
        assertActorRefused(users.accessToken("alice"), tampered, "payload changed under the signature");
        String none = b64.encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8)) + "." + parts[1] + ".";
        assertActorRefused(users.accessToken("alice"), none, "alg none");
        assertActorAccepted(users.accessToken("alice"), good);
    }

    // ---------------------------------------------------------------- the proxy's bearer token

    @Test
    void aDelegatedTokenKeycloakWouldRefuseIsRefusedAtTheProxy() {
        String admin = connectAliceAndGrantTheConnector();

        // RFC 7009 revocation by the token's client
        String[] t = proxyToken();
        assertEquals(AGENT, Oidc.claims(t[0]).path("azp").asText());
        revoke(t[0], AGENT, AGENT + "-secret");
        assertProxyRefused(t[0], "revoked delegated token");

        // the user's SSO session ended by the admin
        t = proxyToken();
        assertEquals(204, http.delete(adminUrl("/sessions/" + t[1]), admin).status());
        assertProxyRefused(t[0], "delegated token of an ended session");

        // the user disabled
        t = proxyToken();
        setUserEnabled(admin, "alice", false);
        assertProxyRefused(t[0], "delegated token of a disabled user");
        setUserEnabled(admin, "alice", true);

        // the user signed out everywhere by the admin (sessions ended, user not-before)
        t = proxyToken();
        nextSecond();
        assertEquals(204, http.postJson(adminUrl("/users/" + users.userId(admin, "alice") + "/logout"), admin, Map.of()).status());
        assertProxyRefused(t[0], "delegated token older than the user's not-before");

        // the token's client (the agent) not-before, and the realm's
        t = proxyToken();
        setClientNotBefore(AGENT, nextSecond());
        assertProxyRefused(t[0], "delegated token older than the agent's not-before");
        setClientNotBefore(AGENT, 0);
        t = proxyToken();
        putRealm(admin, Map.of("notBefore", nextSecond()));
        assertProxyRefused(t[0], "delegated token older than the realm's not-before");
        putRealm(admin, Map.of("notBefore", 0));

        // the agent client disabled
        t = proxyToken();
        setClientEnabled(AGENT, false);
        assertProxyRefused(t[0], "delegated token of a disabled agent client");
        setClientEnabled(AGENT, true);
        assertEquals(200, proxy(t[0]).status(), "the same token works again once the agent is enabled");

        // expired
        dlg.setAttributes(AGENT, Map.of("access.token.lifespan", "3"));
        t = proxyToken();
        JsonNode c = Oidc.claims(t[0]);
        assertEquals(3, c.get("exp").asLong() - c.get("iat").asLong(), c.toString());
        waitPast(c.get("exp").asLong());
        assertProxyRefused(t[0], "expired delegated token");
    }

    // ---------------------------------------------------------------- the realm's keys

    @Test
    void aTokenSignedWithAKeyTheRealmNoLongerHasIsRefusedAtOnce() {
        String admin = connectAliceAndGrantTheConnector();
        String before = Oidc.header(agentToken()).path("kid").asText();
        String realmId = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO, admin).json().path("id").asText();
        Http.Response created = http.postJson(adminUrl("/components"), admin, Map.of("name", "bearer-verification-it-key",
                "providerId", "rsa-generated", "providerType", "org.keycloak.keys.KeyProvider", "parentId", realmId,
                "config", Map.of("priority", List.of("100000"), "enabled", List.of("true"), "active", List.of("true"),
                        "algorithm", List.of("RS256"))));
        assertEquals(201, created.status(), created.body());
        String location = created.header("Location");
        String componentUrl = adminUrl("/components/" + location.substring(location.lastIndexOf('/') + 1));
        try {
            // tokens signed with the new key, each used once (so the node has checked and remembers its signature)
            String actor = agentToken();
            String kid = Oidc.header(actor).path("kid").asText();
            assertTrue(!kid.isEmpty() && !kid.equals(before), "the new key signs: " + kid + " after " + before);
            assertActorAccepted(users.accessToken("alice"), actor);
            String[] t = proxyToken();
            assertEquals(kid, Oidc.header(t[0]).path("kid").asText(), "the delegated token is signed with the new key");

            // the key disabled: both refused by the next call (the subject token is fresh, signed with the old key again)
            ObjectNode component = (ObjectNode) http.get(componentUrl, admin).json();
            ((ObjectNode) component.get("config")).set("enabled", Http.JSON.valueToTree(List.of("false")));
            assertEquals(204, http.putJson(componentUrl, admin, component).status());
            String subject = users.accessToken("alice");
            assertEquals(before, Oidc.header(subject).path("kid").asText(), "the old key signs again");
            assertActorRefused(subject, actor, "actor token signed with a disabled key");
            assertProxyRefused(t[0], "delegated token signed with a disabled key");

            // enabled again: the same tokens work (the refusals were the key's), then the key removed
            ((ObjectNode) component.get("config")).set("enabled", Http.JSON.valueToTree(List.of("true")));
            assertEquals(204, http.putJson(componentUrl, admin, component).status());
            assertActorAccepted(users.accessToken("alice"), actor);
            assertEquals(200, proxy(t[0]).status(), "the same delegated token works again with its key enabled");
            assertEquals(204, http.delete(componentUrl, admin).status());
            assertActorRefused(users.accessToken("alice"), actor, "actor token signed with a removed key");
            assertProxyRefused(t[0], "delegated token signed with a removed key");
        } finally {
            http.delete(componentUrl, admin);
        }
    }
}
