package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/** DESIGN section 3: agent delegation by token exchange with actor_token, rules 1 to 9, and its events (section 7). */
@Order(10)
@ExtendWith(KeycloakServerExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DelegationExchangeIT {

    static final String TE = "urn:ietf:params:oauth:grant-type:token-exchange";
    static final String AT = "urn:ietf:params:oauth:token-type:access_token";
    static final String RT = "urn:ietf:params:oauth:token-type:refresh_token";
    static final String JWT = "urn:ietf:params:oauth:token-type:jwt";
    static final String HOST = "agent-host";
    static final String HOST_SECRET = "agent-host-secret";
    static final Map<String, String> SECRETS = Map.of("calendar-agent", "calendar-agent-secret",
            "research-agent", "research-agent-secret", "plain-service", "plain-service-secret", HOST, HOST_SECRET);

    /** Every token the tests handed to the server: none may show up in its log. */
    static final List<String> USED_TOKENS = new ArrayList<>();

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Delegations dlg;
    private final DemoUsers users;

    DelegationExchangeIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.dlg = new Delegations(server);
        this.users = new DemoUsers(server);
    }

    @AfterEach
    void cleanUp() {
        dlg.revokeAll("alice");
        dlg.revokeAll("bob");
    }

    // ---------------------------------------------------------------- helpers

    String aliceToken() {
        return userToken("alice");
    }

    String userToken(String user) {
        String t = users.accessToken(user);
        USED_TOKENS.add(t);
        return t;
    }

    String agentToken(String agent) {
        Http.Response r = oidc.clientCredentials(Oidc.DEMO, agent, SECRETS.get(agent));
        assertEquals(200, r.status(), r.body());
        String t = r.json().get("access_token").asText();
        USED_TOKENS.add(t);
        return t;
    }

    Http.Response exchange(String requester, Form form) {
        Http.Response r = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), form.list(), Http.basic(requester, SECRETS.get(requester)));
        if (r.status() == 200) {
            USED_TOKENS.add(r.json().path("access_token").asText());
            if (r.json().has("refresh_token")) {
                USED_TOKENS.add(r.json().get("refresh_token").asText());
            }
        }
        return r;
    }

    static Form delegation(String subject, String actor, String actorType) {
        Form f = Form.of("grant_type", TE, "subject_token", subject, "subject_token_type", AT);
        if (actor != null) {
            f.add("actor_token", actor);
        }
        if (actorType != null) {
            f.add("actor_token_type", actorType);
        }
        return f;
    }

    static void assertError(Http.Response r, int status, String error) {
        assertEquals(status, r.status(), r.body());
        assertEquals(error, r.json().path("error").asText(), r.body());
        assertFalse(r.json().path("error_description").asText().isBlank(), "error_description present: " + r.body());
    }

    String saId(String agent) {
        return dlg.userId("service-account-" + agent);
    }

    Http.Response introspect(String token, String client) {
        return new Http().postForm(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/token/introspect",
                Form.of("token", token).list(), Http.basic(client, SECRETS.get(client)));
    }

    /** A delegated token of alice for calendar-agent (grant via agent-host). */
    JsonNode calendarDelegation(List<String> downstream, Form extra) {
        dlg.grant("alice", "calendar-agent", HOST, List.of("openid", "profile", "email"), downstream);
        Form f = delegation(aliceToken(), agentToken("calendar-agent"), AT);
        extra.list().forEach(e -> f.add(e.getKey(), e.getValue()));
        Http.Response r = exchange("calendar-agent", f);
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    // ---------------------------------------------------------------- rules 1, 2, 3, 5, 7

    @Test
    @Order(1)
    void agentGetsADelegatedTokenWithActAndNarrowing() {
        JsonNode res = calendarDelegation(List.of(), Form.of("audience", "plain-service", "scope", "openid profile"));
        assertEquals(AT, res.path("issued_token_type").asText());
        assertFalse(res.has("refresh_token"), "access token only by default");
        // RFC 8693: only the requested token type; an ID token (scope has openid) would carry the user without act
        assertFalse(res.has("id_token"), "no id_token from a delegated exchange");
        JsonNode c = Oidc.claims(res.get("access_token").asText());
        assertEquals(dlg.userId("alice"), c.path("sub").asText(), "keeps the user's sub");
        assertEquals("calendar-agent", c.path("azp").asText());
        JsonNode act = c.path("act");
        assertEquals(saId("calendar-agent"), act.path("sub").asText());
        assertEquals("calendar-agent", act.path("client_id").asText());
        assertEquals(server.realmUrl(Oidc.DEMO), act.path("iss").asText());
        assertFalse(act.has("act"));
        assertEquals(Set.of("openid", "profile"), Set.of(c.path("scope").asText().split(" ")));
        assertEquals("plain-service", c.path("aud").isArray() ? c.path("aud").get(0).asText() : c.path("aud").asText());
        assertFalse(c.toString().contains("\"account\""), "no account audience or roles: " + c);
        assertFalse(c.toString().contains("realm-management"));
        assertFalse(c.has("may_act"));
        assertEquals(HOST, c.path("delegation_host").asText());

        // Introspection (rule 7) by the audience shows act.
        Http.Response in = introspect(res.get("access_token").asText(), "plain-service");
        assertEquals(200, in.status(), in.body());
        assertTrue(in.json().path("active").asBoolean(), in.body());
        assertEquals("calendar-agent", in.json().path("act").path("client_id").asText(), in.body());

        // Section 7: the event names the agent, the chain and the scope, and carries no token.
        JsonNode ev = firstEvent("TOKEN_EXCHANGE", "calendar-agent");
        assertEquals("calendar-agent", ev.path("details").path("agent").asText(), ev.toString());
        assertEquals("calendar-agent", ev.path("details").path("act_chain").asText());
        assertEquals(Set.of("openid", "profile"), Set.of(ev.path("details").path("scope").asText().split(" ")));
        assertFalse(ev.toString().contains(res.get("access_token").asText()));
    }

    @Test
    @Order(2)
    void withoutScopeTheAgentGetsAllItMayHaveAndTheHostMayAskToo() {
        // the admin API only grants within the agent's ceiling; the ceiling is lowered after the grant
        dlg.grant("alice", "calendar-agent", HOST, List.of("openid", "profile", "email"), List.of());
        Map<String, String> before = dlg.setAttributes("calendar-agent", Map.of("agent_auth.allowed_scopes", "openid profile"));
        try {
            Http.Response r = exchange(HOST, delegation(aliceToken(), agentToken("calendar-agent"), AT));
            assertEquals(200, r.status(), r.body());
            JsonNode c = Oidc.claims(r.json().get("access_token").asText());
            assertEquals(HOST, c.path("azp").asText(), "azp = requesting client");
            assertEquals("calendar-agent", c.path("act").path("client_id").asText());
            // email is granted and in the subject token but above calendar-agent's (now lowered) ceiling
            assertEquals(Set.of("openid", "profile"), Set.of(c.path("scope").asText().split(" ")));
            assertFalse(c.has("email"));
        } finally {
            dlg.setAttributes("calendar-agent", before);
        }
    }

    // ---------------------------------------------------------------- rule 9 error codes

    @Test
    @Order(3)
    void actorTokenAndTypeMustComeTogether() {
        String alice = aliceToken();
        dlg.grant("alice", "calendar-agent", HOST, List.of("openid"), List.of());
        assertError(exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), null)), 400, "invalid_request");
        assertError(exchange("calendar-agent", delegation(alice, null, AT)), 400, "invalid_request");
        assertError(exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), "urn:ietf:params:oauth:token-type:id_token")), 400, "invalid_request");
    }

    @Test
    @Order(4)
    void invalidOrForeignTokensAreInvalidRequest() {
        dlg.grant("alice", "calendar-agent", HOST, List.of("openid"), List.of());
        String alice = aliceToken();
        String agent = agentToken("calendar-agent");
        assertError(exchange("calendar-agent", delegation(alice, "not-a-token", AT)), 400, "invalid_request");
        assertError(exchange("calendar-agent", delegation("not-a-token", agent, AT)), 400, "invalid_request");
        // a token of another realm (foreign issuer)
        String foreign = oidc.adminToken();
        USED_TOKENS.add(foreign);
        assertError(exchange("calendar-agent", delegation(alice, foreign, AT)), 400, "invalid_request");
        assertError(exchange("calendar-agent", delegation(foreign, agent, AT)), 400, "invalid_request");
        // tampered signature
        String tampered = agent.substring(0, agent.lastIndexOf('.') + 1) + "AAAA" + agent.substring(agent.lastIndexOf('.') + 5);
        assertError(exchange("calendar-agent", delegation(alice, tampered, AT)), 400, "invalid_request");
        // an actor that is not an agent
        assertError(exchange("calendar-agent", delegation(alice, agentToken("plain-service"), AT)), 400, "invalid_request");
        // actor == subject
        assertError(exchange("calendar-agent", delegation(agent, agentToken("calendar-agent"), AT)), 400, "invalid_request");
        // the user's token is no actor token
        assertError(exchange("calendar-agent", delegation(alice, aliceToken(), AT)), 400, "invalid_request");
        JsonNode err = firstEvent("TOKEN_EXCHANGE_ERROR", "calendar-agent");
        assertFalse(err.toString().contains(agent), "no token in error events");
    }

    @Test
    @Order(5)
    void noGrantNoToken() {
        // bob never delegated; alice delegated only through another host
        assertError(exchange("calendar-agent", delegation(userToken("bob"), agentToken("calendar-agent"), AT)), 400, "invalid_request");
        dlg.grant("alice", "calendar-agent", "mcp-client", List.of("openid", "profile"), List.of());
        Http.Response r = exchange("calendar-agent", delegation(aliceToken(), agentToken("calendar-agent"), AT));
        assertError(r, 400, "invalid_request");
        assertTrue(r.json().path("error_description").asText().contains("grant"), r.body());
    }

    @Test
    @Order(6)
    void scopeOutsideWhatTheUserGrantedIsInvalidScope() {
        dlg.grant("alice", "calendar-agent", HOST, List.of("openid", "profile"), List.of());
        String alice = aliceToken();
        assertError(exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), AT).add("scope", "openid email")), 400, "invalid_scope");
        assertError(exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), AT).add("scope", "address")), 400, "invalid_scope");
        // nothing left: granted only a scope the subject token does not have
        // (profile and email are default scopes of agent-host, always in its tokens; openid only when asked for)
        dlg.grant("alice", "calendar-agent", HOST, List.of("openid"), List.of());
        String narrowAlice = users.loginToHost("alice", "alice", "profile").get("access_token").asText();
        assertFalse(Oidc.claims(narrowAlice).path("scope").asText().contains("openid"));
        USED_TOKENS.add(narrowAlice);
        assertError(exchange("calendar-agent", delegation(narrowAlice, agentToken("calendar-agent"), AT)), 400, "invalid_scope");
    }

    @Test
    @Order(7)
    void audienceAndResourceOutsideThePolicyAreInvalidTarget() {
        dlg.grant("alice", "calendar-agent", HOST, List.of("openid", "profile"), List.of());
        String alice = aliceToken();
        assertError(exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), AT).add("audience", "account")), 400, "invalid_target");
        assertError(exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), AT).add("audience", "research-agent")), 400, "invalid_target");
        assertError(exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), AT).add("resource", "https://evil.example/api")), 400, "invalid_target");
        assertError(exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), AT)
                .add("audience", "plain-service").add("audience", "realm-management")), 400, "invalid_target");
    }

    @Test
    @Order(8)
    void requestingClientMustBeTheActorOrTheAzpAndTheHostAllowed() {
        dlg.grant("alice", "calendar-agent", HOST, List.of("openid", "profile"), List.of());
        assertError(exchange("plain-service", delegation(aliceToken(), agentToken("calendar-agent"), AT)), 400, "unauthorized_client");
        assertError(exchange("research-agent", delegation(aliceToken(), agentToken("calendar-agent"), AT)), 400, "unauthorized_client");
        // the host is not among the agent's allowed hosts
        Map<String, String> before = dlg.setAttributes("calendar-agent", Map.of("agent_auth.allowed_hosts", "mcp-client"));
        try {
            assertError(exchange("calendar-agent", delegation(aliceToken(), agentToken("calendar-agent"), AT)), 400, "unauthorized_client");
        } finally {
            dlg.setAttributes("calendar-agent", before);
        }
    }

    @Test
    @Order(9)
    void delegatedSubjectWithoutActorNeverFallsThrough() {
        String delegated = calendarDelegation(List.of(), Form.of()).get("access_token").asText();
        Http.Response r = exchange("calendar-agent", delegation(delegated, null, null));
        assertError(r, 400, "invalid_request");
        assertTrue(r.json().path("error_description").asText().contains("actor_token"), r.body());
        // the actor already in the chain
        assertError(exchange("calendar-agent", delegation(delegated, agentToken("calendar-agent"), AT)), 400, "invalid_request");
    }

    @Test
    @Order(16)
    void garbageAndWrongTypesAreNeverA500() throws Exception {
        dlg.grant("alice", "calendar-agent", HOST, List.of("openid", "profile"), List.of());
        String alice = aliceToken();
        String agent = agentToken("calendar-agent");
        String b64junk = b64("{\"alg\":\"RS256\"}".getBytes(StandardCharsets.UTF_8)) + "." + b64("[1,2".getBytes(StandardCharsets.UTF_8)) + ".xx";
        String none = b64("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64(Http.JSON.writeValueAsBytes(claims("calendar-agent", System.currentTimeMillis() / 1000, System.currentTimeMillis() / 1000 + 60))) + ".";
        String wrongTypes = b64("{\"alg\":\"RS256\",\"kid\":7}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64("{\"iss\":[1],\"sub\":{},\"exp\":\"soon\",\"act\":\"x\"}".getBytes(StandardCharsets.UTF_8)) + ".c2ln";
        for (String junk : List.of("not-a-token", "a.b.c", "...", b64junk, none, wrongTypes, "\u00e9\u00e9.\u00e9", "x".repeat(5000))) {
            for (String type : List.of(AT, JWT)) {
                assertError(exchange("calendar-agent", delegation(alice, junk, type)), 400, "invalid_request");
                assertError(exchange("calendar-agent", delegation(junk, agent, type)), 400, "invalid_request");
            }
        }
        // a JWT actor from an agent that registered no key
        long now = System.currentTimeMillis() / 1000;
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        assertError(exchange("calendar-agent", delegation(alice, rs256(g.generateKeyPair(), "nokey", claims("calendar-agent", now, now + 60)), JWT)), 400, "invalid_request");
        // missing or wrong parameters
        assertError(exchange("calendar-agent", Form.of("grant_type", TE, "actor_token", agent, "actor_token_type", AT)), 400, "invalid_request");
        assertError(exchange("calendar-agent", Form.of("grant_type", TE, "subject_token", alice, "actor_token", agent, "actor_token_type", AT)), 400, "invalid_request");
        assertError(exchange("calendar-agent", delegation(alice, agent, AT).add("subject_token_type", JWT)), 400, "invalid_request");
        assertError(exchange("calendar-agent", Form.of("grant_type", TE, "subject_token", alice, "subject_token_type", JWT,
                "actor_token", agent, "actor_token_type", AT)), 400, "invalid_request");
        assertError(exchange("calendar-agent", delegation(alice, agent, AT).add("requested_token_type", "urn:ietf:params:oauth:token-type:id_token")), 400, "invalid_request");
        assertError(exchange("calendar-agent", delegation(alice, agent, AT).add("requested_token_type", "bogus")), 400, "invalid_request");
        assertError(exchange("calendar-agent", delegation(alice, agent, "")), 400, "invalid_request");
        assertError(exchange("calendar-agent", delegation(alice, agent, AT).add("requested_issuer", "demo-calendar")), 400, "invalid_request");
    }

    // ---------------------------------------------------------------- rule 6 chains

    @Test
    @Order(10)
    void chainNestsActAndOnlyNarrows() {
        String first = calendarDelegation(List.of("research-agent"), Form.of("scope", "openid profile email")).get("access_token").asText();
        Http.Response r = exchange("research-agent", delegation(first, agentToken("research-agent"), AT));
        assertEquals(200, r.status(), r.body());
        JsonNode c = Oidc.claims(r.json().get("access_token").asText());
        assertEquals(dlg.userId("alice"), c.path("sub").asText());
        assertEquals("research-agent", c.path("act").path("client_id").asText());
        assertEquals(saId("research-agent"), c.path("act").path("sub").asText());
        assertEquals("calendar-agent", c.path("act").path("act").path("client_id").asText());
        assertEquals(Set.of("openid", "profile"), Set.of(c.path("scope").asText().split(" ")));
        assertEquals(HOST, c.path("delegation_host").asText(), "the chain's first host");
        JsonNode ev = firstEvent("TOKEN_EXCHANGE", "research-agent");
        assertEquals("research-agent<calendar-agent", ev.path("details").path("act_chain").asText(), ev.toString());

        // a third hop back to calendar-agent: already in the chain
        String second = r.json().get("access_token").asText();
        assertError(exchange("calendar-agent", delegation(second, agentToken("calendar-agent"), AT)), 400, "invalid_request");
        // a scope wider than the subject's: refused
        assertError(exchange("research-agent", delegation(first, agentToken("research-agent"), AT).add("scope", "openid email")), 400, "invalid_scope");
    }

    @Test
    @Order(11)
    void chainNeedsPolicyConsentAndDepth() {
        // calendar-agent's grant does not list research-agent, and research-agent has no grant of its own
        String first = calendarDelegation(List.of(), Form.of()).get("access_token").asText();
        assertError(exchange("research-agent", delegation(first, agentToken("research-agent"), AT)), 400, "invalid_request");
        // with the user's own grant to research-agent it works
        dlg.grant("alice", "research-agent", HOST, List.of("openid", "profile"), List.of());
        assertEquals(200, exchange("research-agent", delegation(first, agentToken("research-agent"), AT)).status());
        // depth: calendar-agent caps chains naming it at 1 level
        Map<String, String> before = dlg.setAttributes("calendar-agent", Map.of("agent_auth.max_depth", "1"));
        try {
            Http.Response r = exchange("research-agent", delegation(first, agentToken("research-agent"), AT));
            assertError(r, 400, "invalid_request");
            assertTrue(r.json().path("error_description").asText().contains("depth"), r.body());
        } finally {
            dlg.setAttributes("calendar-agent", before);
        }
        // policy: calendar-agent may no longer hand over to research-agent
        before = dlg.setAttributes("calendar-agent", Map.of("agent_auth.downstream_agents", ""));
        try {
            assertError(exchange("research-agent", delegation(first, agentToken("research-agent"), AT)), 400, "invalid_request");
        } finally {
            dlg.setAttributes("calendar-agent", before);
        }
    }

    // ---------------------------------------------------------------- may_act

    @Test
    @Order(12)
    void mayActMustMatchTheActorButNeverReplacesTheGrant() {
        String mapperUrl = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + dlg.client(HOST).get("id").asText() + "/protocol-mappers/models";
        Map<String, Object> mapper = Map.of("name", "test-may-act", "protocol", "openid-connect", "protocolMapper", "oidc-hardcoded-claim-mapper",
                "config", Map.of("claim.name", "may_act", "claim.value", "{\"client_id\":\"research-agent\"}", "jsonType.label", "JSON",
                        "access.token.claim", "true", "id.token.claim", "false", "userinfo.token.claim", "false"));
        Http.Response created = new Http().postJson(mapperUrl, oidc.adminToken(), mapper);
        assertEquals(201, created.status(), created.body());
        String mapperId = created.location().substring(created.location().lastIndexOf('/') + 1);
        try {
            String alice = aliceToken();
            assertEquals("research-agent", Oidc.claims(alice).path("may_act").path("client_id").asText());
            dlg.grant("alice", "calendar-agent", HOST, List.of("openid", "profile"), List.of());
            Http.Response mismatch = exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), AT));
            assertError(mismatch, 400, "invalid_request");
            assertTrue(mismatch.json().path("error_description").asText().contains("may_act"), mismatch.body());
            // may_act names research-agent, but without a grant there is no token
            assertError(exchange("research-agent", delegation(alice, agentToken("research-agent"), AT)), 400, "invalid_request");
            // without an actor at all: invalid_request, never the standard provider
            assertError(exchange(HOST, delegation(alice, null, null)), 400, "invalid_request");
            dlg.grant("alice", "research-agent", HOST, List.of("openid", "profile"), List.of());
            Http.Response ok = exchange("research-agent", delegation(alice, agentToken("research-agent"), AT));
            assertEquals(200, ok.status(), ok.body());
            JsonNode c = Oidc.claims(ok.json().get("access_token").asText());
            assertFalse(c.has("may_act"), "issued token never carries may_act");
            assertEquals("research-agent", c.path("act").path("client_id").asText());
        } finally {
            new Http().delete(mapperUrl + "/" + mapperId, oidc.adminToken());
        }
    }

    // ---------------------------------------------------------------- revocation, rule 7 and 8

    @Test
    @Order(13)
    void revokingTheGrantStopsIntrospectionAndTheNextExchange() {
        String grant = dlg.grant("alice", "calendar-agent", HOST, List.of("openid", "profile"), List.of());
        String alice = aliceToken();
        Http.Response r = exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), AT).add("audience", "plain-service"));
        assertEquals(200, r.status(), r.body());
        String delegated = r.json().get("access_token").asText();
        assertTrue(introspect(delegated, "plain-service").json().path("active").asBoolean());
        dlg.revoke("alice", grant);
        JsonNode in = introspect(delegated, "plain-service").json();
        assertFalse(in.path("active").asBoolean(), in.toString());
        assertFalse(in.has("act"));
        assertError(exchange("calendar-agent", delegation(alice, agentToken("calendar-agent"), AT)), 400, "invalid_request");
    }

    @Test
    @Order(14)
    void refreshOnlyWherePolicyAllowsAndItRechecksTheGrant() {
        // research-agent: refresh_allowed=false
        dlg.grant("alice", "research-agent", HOST, List.of("openid", "profile"), List.of());
        assertError(exchange("research-agent", delegation(aliceToken(), agentToken("research-agent"), AT)
                .add("requested_token_type", RT)), 400, "invalid_request");

        String grant = dlg.grant("alice", "calendar-agent", HOST, List.of("openid", "profile"), List.of());
        Http.Response r = exchange("calendar-agent", delegation(aliceToken(), agentToken("calendar-agent"), AT)
                .add("requested_token_type", RT).add("scope", "openid profile"));
        assertEquals(200, r.status(), r.body());
        String refresh = r.json().path("refresh_token").asText();
        assertFalse(refresh.isEmpty(), "refresh token issued: " + r.body());

        Http.Response refreshed = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO),
                Form.of("grant_type", "refresh_token", "refresh_token", refresh).list(), Http.basic("calendar-agent", "calendar-agent-secret"));
        assertEquals(200, refreshed.status(), refreshed.body());
        USED_TOKENS.add(refreshed.json().get("access_token").asText());
        String refresh2 = refreshed.json().get("refresh_token").asText();
        USED_TOKENS.add(refresh2);
        JsonNode c = Oidc.claims(refreshed.json().get("access_token").asText());
        assertEquals("calendar-agent", c.path("act").path("client_id").asText(), "refresh keeps act: " + c);
        assertEquals(Set.of("openid", "profile"), Set.of(c.path("scope").asText().split(" ")));
        assertFalse(c.toString().contains("\"account\""));

        Http.Response rtIn = new Http().postForm(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/token/introspect",
                Form.of("token", refresh2, "token_type_hint", "refresh_token").list(), Http.basic("calendar-agent", "calendar-agent-secret"));
        assertTrue(rtIn.json().path("active").asBoolean(), rtIn.body());

        dlg.revoke("alice", grant);
        rtIn = new Http().postForm(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/token/introspect",
                Form.of("token", refresh2, "token_type_hint", "refresh_token").list(), Http.basic("calendar-agent", "calendar-agent-secret"));
        assertFalse(rtIn.json().path("active").asBoolean(), "revoking the grant revokes its refresh tokens: " + rtIn.body());
        Http.Response refused = new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO),
                Form.of("grant_type", "refresh_token", "refresh_token", refresh2).list(), Http.basic("calendar-agent", "calendar-agent-secret"));
        assertError(refused, 400, "invalid_grant");
        // the refusal is an event (REFRESH_TOKEN_ERROR is not stored by default, the logging listener shows it)
        assertTrue(server.logText().contains("type=\"REFRESH_TOKEN_ERROR\""), "refused delegated refresh logged as event");
    }

    // ---------------------------------------------------------------- JWT actor tokens

    @Test
    @Order(15)
    void agentSignedJwtIsASingleUseActorToken() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair kp = g.generateKeyPair();
        RSAPublicKey pub = (RSAPublicKey) kp.getPublic();
        String kid = "test-" + UUID.randomUUID();
        String jwks = Http.JSON.writeValueAsString(Map.of("keys", List.of(Map.of("kty", "RSA", "kid", kid, "use", "sig", "alg", "RS256",
                "n", b64(unsigned(pub.getModulus())), "e", b64(unsigned(pub.getPublicExponent()))))));
        Map<String, String> before = dlg.setAttributes("calendar-agent", Map.of("use.jwks.string", "true", "jwks.string", jwks));
        try {
            dlg.grant("alice", "calendar-agent", HOST, List.of("openid", "profile"), List.of());
            String alice = aliceToken();
            long now = System.currentTimeMillis() / 1000;
            String jwt = rs256(kp, kid, claims("calendar-agent", now, now + 60));
            USED_TOKENS.add(jwt);
            Http.Response ok = exchange("calendar-agent", delegation(alice, jwt, JWT));
            assertEquals(200, ok.status(), ok.body());
            assertEquals("calendar-agent", Oidc.claims(ok.json().get("access_token").asText()).path("act").path("client_id").asText());
            // replayed
            assertError(exchange("calendar-agent", delegation(alice, jwt, JWT)), 400, "invalid_request");
            // lives longer than 5 minutes
            String longLived = rs256(kp, kid, claims("calendar-agent", now, now + 600));
            USED_TOKENS.add(longLived);
            assertError(exchange("calendar-agent", delegation(alice, longLived, JWT)), 400, "invalid_request");
            // wrong audience: elsewhere, or one a client assertion has (the realm issuer, the token endpoint), or a second one
            for (Object aud : List.<Object>of("https://elsewhere.example", server.realmUrl(Oidc.DEMO), oidc.tokenEndpoint(Oidc.DEMO),
                    List.of(actorAudience(), server.realmUrl(Oidc.DEMO)))) {
                Map<String, Object> wrongAud = claims("calendar-agent", now, now + 60);
                wrongAud.put("aud", aud);
                assertError(exchange("calendar-agent", delegation(alice, rs256(kp, kid, wrongAud), JWT)), 400, "invalid_request");
            }
            // not explicitly typed as an actor JWT (RFC 8725 section 3.11)
            for (String typ : java.util.Arrays.asList("JWT", "at+jwt", "dpop+jwt", null)) {
                assertError(exchange("calendar-agent", delegation(alice, rs256(kp, kid, typ, claims("calendar-agent", now, now + 60)), JWT)),
                        400, "invalid_request");
            }
            // the full media type is the same type (RFC 7515 section 4.1.9)
            Http.Response mediaType = exchange("calendar-agent", delegation(alice, rs256(kp, kid, "application/actor+jwt",
                    claims("calendar-agent", now, now + 60)), JWT));
            assertEquals(200, mediaType.status(), mediaType.body());
            // HS256 with the client secret
            String hs = hs256("calendar-agent-secret", claims("calendar-agent", now, now + 60));
            USED_TOKENS.add(hs);
            assertError(exchange("calendar-agent", delegation(alice, hs, JWT)), 400, "invalid_request");
            // signed by another key
            KeyPair other = g.generateKeyPair();
            assertError(exchange("calendar-agent", delegation(alice, rs256(other, kid, claims("calendar-agent", now, now + 60)), JWT)), 400, "invalid_request");
        } finally {
            Map<String, String> restore = new LinkedHashMap<>(before);
            dlg.setAttributes("calendar-agent", restore);
        }
    }

    // ---------------------------------------------------------------- logs

    @Test
    @Order(100)
    void noTokenEverAppearsInTheServerLog() {
        assertFalse(USED_TOKENS.isEmpty());
        String log = server.logText();
        for (String t : USED_TOKENS) {
            String sig = t.substring(t.lastIndexOf('.') + 1);
            assertFalse(log.contains(t) || (sig.length() > 20 && log.contains(sig)), "a token appears in " + server.logFile());
        }
        assertFalse(log.contains(" ERROR ") && log.contains("org.agentauth"), "no ERROR from the extension");
    }

    // ---------------------------------------------------------------- utilities

    JsonNode firstEvent(String type, String clientId) {
        for (JsonNode e : dlg.events(type)) {
            if (clientId.equals(e.path("clientId").asText())) {
                return e;
            }
        }
        throw new AssertionError("no " + type + " event for " + clientId + ": " + dlg.events(type));
    }

    Map<String, Object> claims(String agent, long iat, long exp) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("iss", agent);
        m.put("sub", agent);
        m.put("aud", actorAudience());
        m.put("iat", iat);
        m.put("exp", exp);
        m.put("jti", UUID.randomUUID().toString());
        return m;
    }

    /** The one audience of an actor JWT (DESIGN section 3). */
    String actorAudience() {
        return server.realmUrl(Oidc.DEMO) + "/agent-auth/actor";
    }

    /** An actor JWT: header {@code typ} = {@code actor+jwt}. */
    static String rs256(KeyPair kp, String kid, Map<String, Object> claims) throws Exception {
        return rs256(kp, kid, "actor+jwt", claims);
    }

    /** A JWT signed with RS256, with the given header {@code typ} (none when null). */
    static String rs256(KeyPair kp, String kid, String typ, Map<String, Object> claims) throws Exception {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("alg", "RS256");
        if (typ != null) {
            header.put("typ", typ);
        }
        header.put("kid", kid);
        String input = b64(Http.JSON.writeValueAsBytes(header)) + "." + b64(Http.JSON.writeValueAsBytes(claims));
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(kp.getPrivate());
        s.update(input.getBytes(StandardCharsets.US_ASCII));
        return input + "." + b64(s.sign());
    }

    static String hs256(String secret, Map<String, Object> claims) throws Exception {
        String input = b64(Http.JSON.writeValueAsBytes(Map.of("alg", "HS256", "typ", "actor+jwt"))) + "." + b64(Http.JSON.writeValueAsBytes(claims));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return input + "." + b64(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    }

    static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static byte[] unsigned(BigInteger i) {
        byte[] b = i.toByteArray();
        return b[0] == 0 ? java.util.Arrays.copyOfRange(b, 1, b.length) : b;
    }
}
