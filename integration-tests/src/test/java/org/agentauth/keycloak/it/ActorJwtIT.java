package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.TestRealm;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * DESIGN section 3, actor JWTs of an agent that authenticates with {@code private_key_jwt} (issue 12, finding 3): the
 * agent signs its client assertions and its actor JWTs with the same key, so a host that received an actor JWT
 * could post it as the agent's {@code client_assertion}, and the reverse. An actor JWT is typed {@code actor+jwt}
 * with the one audience {@code {issuer}/agent-auth/actor}; neither is accepted as the other; a {@code jti} is used
 * once across both.
 */
@Order(12)
@ExtendWith(KeycloakServerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ActorJwtIT {

    static final String REALM = "actor-jwt-it";
    static final String AGENT = "jwt-agent";
    static final String HOST = "jwt-host";
    static final String HOST_SECRET = "jwt-host-secret";
    static final String USER = "carol";
    static final String ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    private final KeycloakServer server;
    private TestRealm realm;
    private KeyPair key;
    private String kid;

    ActorJwtIT(KeycloakServer server) {
        this.server = server;
    }

    @BeforeAll
    void createRealm() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        key = g.generateKeyPair();
        kid = "agent-" + UUID.randomUUID();
        RSAPublicKey pub = (RSAPublicKey) key.getPublic();
        String jwks = Http.JSON.writeValueAsString(Map.of("keys", List.of(Map.of("kty", "RSA", "kid", kid, "use", "sig", "alg", "RS256",
                "n", DelegationExchangeIT.b64(DelegationExchangeIT.unsigned(pub.getModulus())),
                "e", DelegationExchangeIT.b64(DelegationExchangeIT.unsigned(pub.getPublicExponent()))))));
        realm = TestRealm.create(server, REALM, List.of(USER), List.of(
                TestRealm.host(HOST, HOST_SECRET, Map.of()),
                TestRealm.agent(AGENT, HOST, Map.of("clientAuthenticatorType", "client-jwt"),
                        Map.of("use.jwks.string", "true", "jwks.string", jwks))));
        realm.grant(USER, AGENT, HOST, List.of("openid", "profile", "email"));
    }

    @AfterAll
    void deleteRealm() {
        if (realm != null) {
            realm.close();
        }
    }

    // ---------------------------------------------------------------- tokens the agent signs

    Map<String, Object> claims(Object aud, String jti) {
        long now = System.currentTimeMillis() / 1000;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("iss", AGENT);
        m.put("sub", AGENT);
        m.put("aud", aud);
        m.put("iat", now);
        m.put("exp", now + 60);
        m.put("jti", jti);
        return m;
    }

    String actorAudience() {
        return realm.issuer() + "/agent-auth/actor";
    }

    /** An actor JWT as DESIGN section 3 defines it. */
    String actorJwt(String jti) throws Exception {
        return DelegationExchangeIT.rs256(key, kid, "actor+jwt", claims(actorAudience(), jti));
    }

    /** A private_key_jwt client assertion as Keycloak documents it (typ JWT, aud = the token endpoint). */
    String clientAssertion(String jti) throws Exception {
        return DelegationExchangeIT.rs256(key, kid, "JWT", claims(realm.tokenEndpoint(), jti));
    }

    static String jti() {
        return UUID.randomUUID().toString();
    }

    // ---------------------------------------------------------------- requests

    /** A token request authenticated by {@code assertion} as the client assertion. */
    Http.Response withAssertion(Form form, String assertion) {
        form.add("client_assertion_type", ASSERTION_TYPE).add("client_assertion", assertion);
        return new Http().postForm(realm.tokenEndpoint(), form.list());
    }

    Http.Response clientCredentials(String assertion) {
        return withAssertion(Form.of("grant_type", "client_credentials"), assertion);
    }

    String userToken() {
        Http.Response r = new Http().postForm(realm.tokenEndpoint(), TestRealm.redeem(realm.login(HOST, USER, "openid profile email")).list(),
                Http.basic(HOST, HOST_SECRET));
        assertEquals(200, r.status(), r.body());
        return r.json().get("access_token").asText();
    }

    /** The agent (authenticated by a fresh client assertion) exchanges the user's token with {@code actorJwt}. */
    Http.Response delegatedExchange(String actorJwt) throws Exception {
        return withAssertion(DelegationExchangeIT.delegation(userToken(), actorJwt, DelegationExchangeIT.JWT), clientAssertion(jti()));
    }

    /**
     * Keycloak's own refusal of a client assertion ({@code JWTClientValidator}): HTTP 400 {@code invalid_client} (RFC 6749
     * section 5.2 asks for 401 only when the client authenticated with the Authorization header), with its reason.
     */
    static void assertInvalidClient(Http.Response r, String description) {
        DelegationExchangeIT.assertError(r, 400, "invalid_client");
        assertEquals(description, r.json().path("error_description").asText(), r.body());
    }

    static void assertOkAsAgent(Http.Response r) {
        assertEquals(200, r.status(), r.body());
        assertEquals(AGENT, Oidc.claims(r.json().get("access_token").asText()).path("azp").asText(), r.body());
    }

    static void assertActsAsAgent(Http.Response r) {
        assertOkAsAgent(r);
        JsonNode at = Oidc.claims(r.json().get("access_token").asText());
        assertEquals(AGENT, at.path("act").path("client_id").asText(), at.toString());
    }

    // ---------------------------------------------------------------- tests

    @Test
    void theAgentAuthenticatesWithAClientAssertionAndActsWithAnActorJwt() throws Exception {
        assertOkAsAgent(clientCredentials(clientAssertion(jti())));
        assertActsAsAgent(delegatedExchange(actorJwt(jti())));
    }

    @Test
    void anActorJwtIsNeverAClientAssertion() throws Exception {
        // what the attacker did: a host that received the agent's actor JWT posts it as the agent's client assertion
        String actorJwt = actorJwt(jti());
        assertInvalidClient(clientCredentials(actorJwt), "Invalid token audience");
        assertInvalidClient(withAssertion(DelegationExchangeIT.delegation(userToken(), actorJwt, DelegationExchangeIT.JWT), actorJwt),
                "Invalid token audience");
        assertInvalidClient(withAssertion(Form.of("grant_type", DelegationExchangeIT.TE, "subject_token", userToken(),
                "subject_token_type", DelegationExchangeIT.AT), actorJwt), "Invalid token audience");
        // the refusals did not depend on its jti being spent: the same actor JWT is still good as what it is
        assertActsAsAgent(delegatedExchange(actorJwt));

        // why the audience is what keeps them apart (Keycloak checks no typ): a JWT with the realm issuer as its audience,
        // what an actor JWT carried before, is a client assertion to Keycloak, so it is refused as an actor JWT
        String issuerAudience = DelegationExchangeIT.rs256(key, kid, "actor+jwt", claims(realm.issuer(), jti()));
        DelegationExchangeIT.assertError(delegatedExchange(issuerAudience), 400, "invalid_request");
        assertOkAsAgent(clientCredentials(issuerAudience));
    }

    @Test
    void aClientAssertionIsNeverAnActorJwt() throws Exception {
        String assertion = clientAssertion(jti());
        DelegationExchangeIT.assertError(delegatedExchange(assertion), 400, "invalid_request");
        // typed as an actor JWT, but with an audience a client assertion has
        for (String aud : List.of(realm.issuer(), realm.tokenEndpoint(), realm.tokenEndpoint() + "/introspect",
                realm.issuer() + "/protocol/openid-connect/ext/par/request")) {
            Http.Response r = delegatedExchange(DelegationExchangeIT.rs256(key, kid, "actor+jwt", claims(aud, jti())));
            DelegationExchangeIT.assertError(r, 400, "invalid_request");
            assertTrue(r.json().path("error_description").asText().contains("/agent-auth/actor"), r.body());
        }
        // the refusal did not spend it: it still authenticates the agent
        assertOkAsAgent(clientCredentials(assertion));
    }

    @Test
    void anActorJwtNeedsItsTypAndItsOneAudience() throws Exception {
        for (String typ : Arrays.asList("JWT", "jwt", "at+jwt", "dpop+jwt", "actor", null)) {
            Http.Response r = delegatedExchange(DelegationExchangeIT.rs256(key, kid, typ, claims(actorAudience(), jti())));
            DelegationExchangeIT.assertError(r, 400, "invalid_request");
            assertTrue(r.json().path("error_description").asText().contains("actor+jwt"), r.body());
        }
        // the actor audience next to one Keycloak accepts for client assertions, or an array with one other
        for (Object aud : List.<Object>of(List.of(actorAudience(), realm.issuer()), List.of(realm.tokenEndpoint(), actorAudience()),
                List.of(realm.issuer()), "https://elsewhere.example/agent-auth/actor", realm.issuer() + "/agent-auth/actor/")) {
            DelegationExchangeIT.assertError(delegatedExchange(DelegationExchangeIT.rs256(key, kid, "actor+jwt", claims(aud, jti()))),
                    400, "invalid_request");
        }
        // the actor audience as a one-element array is the same audience
        assertActsAsAgent(delegatedExchange(DelegationExchangeIT.rs256(key, kid, "actor+jwt", claims(List.of(actorAudience()), jti()))));
    }

    @Test
    void aJtiIsUsedOnceAcrossClientAssertionsAndActorJwts() throws Exception {
        // first as a client assertion, then as an actor JWT
        String first = jti();
        assertOkAsAgent(clientCredentials(clientAssertion(first)));
        Http.Response replayed = delegatedExchange(actorJwt(first));
        DelegationExchangeIT.assertError(replayed, 400, "invalid_request");
        assertTrue(replayed.json().path("error_description").asText().contains("jti"), replayed.body());

        // first as an actor JWT, then as a client assertion
        String second = jti();
        assertActsAsAgent(delegatedExchange(actorJwt(second)));
        assertInvalidClient(clientCredentials(clientAssertion(second)), "Token reuse detected");

        // both in one request: the client assertion is checked first and spends the jti
        String third = jti();
        DelegationExchangeIT.assertError(withAssertion(DelegationExchangeIT.delegation(userToken(), actorJwt(third), DelegationExchangeIT.JWT),
                clientAssertion(third)), 400, "invalid_request");

        // and each store still refuses its own replays
        String fourth = jti();
        assertOkAsAgent(clientCredentials(clientAssertion(fourth)));
        assertInvalidClient(clientCredentials(clientAssertion(fourth)), "Token reuse detected");
        String fifth = jti();
        assertActsAsAgent(delegatedExchange(actorJwt(fifth)));
        DelegationExchangeIT.assertError(delegatedExchange(actorJwt(fifth)), 400, "invalid_request");
    }
}
