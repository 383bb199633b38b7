package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
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
 * DESIGN section 3 rule 10 (issue 12, finding 10): a DPoP-bound subject token ({@code cnf.jkt}, RFC 9449) needs its
 * DPoP proof in the delegated exchange exactly as in Keycloak's standard token exchange. Each refusal is compared with
 * the standard exchange's answer to the same request without {@code actor_token}.
 *
 * <p>Two hosts: {@code dpop-host} requires DPoP ({@code dpop.bound.access.tokens}), so Keycloak's token endpoint
 * already refuses its requests without a proof, and a proof of another key reaches the exchange; {@code free-host}
 * does not require it but used DPoP for its user's token, so its exchange without a proof reaches the exchange too.
 * (mTLS-bound tokens go through Keycloak's same code path, untested here: the harness has no TLS.)
 */
@Order(13)
@ExtendWith(KeycloakServerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SenderConstrainedExchangeIT {

    static final String REALM = "dpop-exchange-it";
    static final String DPOP_HOST = "dpop-host";
    static final String FREE_HOST = "free-host";
    static final String AGENT = "dpop-agent";
    static final Map<String, String> SECRETS = Map.of(DPOP_HOST, "dpop-host-secret", FREE_HOST, "free-host-secret", AGENT, "dpop-agent-secret");
    static final String USER = "dave";

    private final KeycloakServer server;
    private TestRealm realm;

    SenderConstrainedExchangeIT(KeycloakServer server) {
        this.server = server;
    }

    @BeforeAll
    void createRealm() {
        realm = TestRealm.create(server, REALM, List.of(USER), List.of(
                TestRealm.host(DPOP_HOST, SECRETS.get(DPOP_HOST), Map.of("dpop.bound.access.tokens", "true")),
                TestRealm.host(FREE_HOST, SECRETS.get(FREE_HOST), Map.of()),
                TestRealm.agent(AGENT, DPOP_HOST + " " + FREE_HOST,
                        Map.of("clientAuthenticatorType", "client-secret", "secret", SECRETS.get(AGENT)), Map.of())));
        realm.grant(USER, AGENT, DPOP_HOST, List.of("openid", "profile", "email"));
        realm.grant(USER, AGENT, FREE_HOST, List.of("openid", "profile", "email"));
    }

    @AfterAll
    void deleteRealm() {
        if (realm != null) {
            realm.close();
        }
    }

    // ---------------------------------------------------------------- DPoP (RFC 9449) with plain JCA

    static KeyPair ecKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    /** The public JWK, members in lexicographic order (that order is also the RFC 7638 thumbprint input). */
    static Map<String, Object> jwk(KeyPair key) {
        ECPublicKey pub = (ECPublicKey) key.getPublic();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("crv", "P-256");
        m.put("kty", "EC");
        m.put("x", DelegationExchangeIT.b64(coordinate(pub.getW().getAffineX())));
        m.put("y", DelegationExchangeIT.b64(coordinate(pub.getW().getAffineY())));
        return m;
    }

    static byte[] coordinate(java.math.BigInteger v) {
        byte[] b = DelegationExchangeIT.unsigned(v);
        byte[] out = new byte[32];
        System.arraycopy(b, 0, out, 32 - b.length, b.length);
        return out;
    }

    /** RFC 7638 JWK thumbprint, what Keycloak puts into {@code cnf.jkt}. */
    static String thumbprint(KeyPair key) throws Exception {
        return DelegationExchangeIT.b64(MessageDigest.getInstance("SHA-256").digest(Http.JSON.writeValueAsBytes(jwk(key))));
    }

    /** A DPoP proof for a POST to {@code url}, signed with ES256 by {@code key}. */
    static String proof(KeyPair key, String url) throws Exception {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("typ", "dpop+jwt");
        header.put("alg", "ES256");
        header.put("jwk", jwk(key));
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("jti", UUID.randomUUID().toString());
        claims.put("htm", "POST");
        claims.put("htu", url);
        claims.put("iat", System.currentTimeMillis() / 1000);
        String input = DelegationExchangeIT.b64(Http.JSON.writeValueAsBytes(header)) + "." + DelegationExchangeIT.b64(Http.JSON.writeValueAsBytes(claims));
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(key.getPrivate());
        s.update(input.getBytes(StandardCharsets.US_ASCII));
        return input + "." + DelegationExchangeIT.b64(derToJose(s.sign()));
    }

    /** An ASN.1 DER ECDSA signature as JWS wants it: R and S, 32 bytes each (RFC 7518 section 3.4). */
    static byte[] derToJose(byte[] der) {
        int offset = der[1] == (byte) 0x81 ? 3 : 2;
        byte[] out = new byte[64];
        for (int i = 0; i < 2; i++) {
            int len = der[offset + 1];
            byte[] v = Arrays.copyOfRange(der, offset + 2, offset + 2 + len);
            int start = Math.max(0, v.length - 32);
            System.arraycopy(v, start, out, i * 32 + 32 - (v.length - start), v.length - start);
            offset += 2 + len;
        }
        return out;
    }

    // ---------------------------------------------------------------- requests

    /** A token request by {@code client} (client secret), with a DPoP proof of {@code dpopKey} unless it is null. */
    Http.Response post(String client, Form form, KeyPair dpopKey) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(realm.tokenEndpoint()))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Authorization", "Basic " + Http.basic(client, SECRETS.get(client)))
                .POST(HttpRequest.BodyPublishers.ofString(Http.encode(form.list())));
        if (dpopKey != null) {
            b.header("DPoP", proof(dpopKey, realm.tokenEndpoint()));
        }
        return new Http().send(b);
    }

    /** The user's access token at {@code host}, bound to {@code key} by a DPoP proof on the code redemption. */
    String boundUserToken(String host, KeyPair key) throws Exception {
        Http.Response r = post(host, TestRealm.redeem(realm.login(host, USER, "openid profile email")), key);
        assertEquals(200, r.status(), r.body());
        assertEquals("DPoP", r.json().path("token_type").asText(), r.body());
        String token = r.json().get("access_token").asText();
        assertEquals(thumbprint(key), Oidc.claims(token).path("cnf").path("jkt").asText(), "the user token is bound to the key");
        return token;
    }

    String agentToken() throws Exception {
        Http.Response r = post(AGENT, Form.of("grant_type", "client_credentials"), null);
        assertEquals(200, r.status(), r.body());
        return r.json().get("access_token").asText();
    }

    Form delegated(String subject) throws Exception {
        return DelegationExchangeIT.delegation(subject, agentToken(), DelegationExchangeIT.AT);
    }

    static Form standard(String subject) {
        return Form.of("grant_type", DelegationExchangeIT.TE, "subject_token", subject, "subject_token_type", DelegationExchangeIT.AT);
    }

    /** The delegated exchange was refused with exactly the standard exchange's answer, and that answer is {@code description}. */
    static void assertSameRefusal(Http.Response standard, Http.Response delegated, String description) {
        assertEquals(400, standard.status(), standard.body());
        assertEquals("invalid_request", standard.json().path("error").asText(), standard.body());
        assertEquals(description, standard.json().path("error_description").asText(), standard.body());
        assertEquals(standard.status(), delegated.status(), delegated.body());
        assertEquals(standard.json().path("error").asText(), delegated.json().path("error").asText(), delegated.body());
        assertEquals(standard.json().path("error_description").asText(), delegated.json().path("error_description").asText(), delegated.body());
    }

    static JsonNode assertActs(Http.Response r) {
        assertEquals(200, r.status(), r.body());
        JsonNode at = Oidc.claims(r.json().get("access_token").asText());
        assertEquals(AGENT, at.path("act").path("client_id").asText(), at.toString());
        return at;
    }

    // ---------------------------------------------------------------- tests

    @Test
    void aBoundSubjectTokenNeedsItsProofInTheDelegatedExchange() throws Exception {
        KeyPair key = ecKey();
        KeyPair other = ecKey();
        String subject = boundUserToken(FREE_HOST, key);

        // what was possible: the delegated exchange without a proof. Now refused exactly as the standard exchange refuses it.
        assertSameRefusal(post(FREE_HOST, standard(subject), null), post(FREE_HOST, delegated(subject), null), "DPoP proof is missing");
        // a proof of another key
        assertSameRefusal(post(FREE_HOST, standard(subject), other), post(FREE_HOST, delegated(subject), other),
                "DPoP confirmation doesn't match DPoP proof");
        // the refusal is a delegation event with Keycloak's DPoP error
        boolean seen = false;
        for (JsonNode e : realm.events("TOKEN_EXCHANGE_ERROR")) {
            seen |= AGENT.equals(e.path("details").path("agent").asText()) && "invalid_dpop_proof".equals(e.path("error").asText());
        }
        assertTrue(seen, "a TOKEN_EXCHANGE_ERROR event with agent and invalid_dpop_proof: " + realm.events("TOKEN_EXCHANGE_ERROR"));

        // with the proof of its key: the delegated token, bound to the same key
        JsonNode at = assertActs(post(FREE_HOST, delegated(subject), key));
        assertEquals(thumbprint(key), at.path("cnf").path("jkt").asText(), at.toString());
    }

    @Test
    void onlyTheTokensOwnClientMayExchangeABoundToken() throws Exception {
        KeyPair key = ecKey();
        String subject = boundUserToken(FREE_HOST, key);
        // the agent asks for itself: even with the proof of the right key, the token is not the agent's (as in the standard exchange)
        Http.Response r = post(AGENT, delegated(subject), key);
        DelegationExchangeIT.assertError(r, 400, "invalid_request");
        assertEquals("Sender-constrained token exchange rejected as the token was not issued for the requesting client",
                r.json().path("error_description").asText(), r.body());
        // an unbound token of the same host: the agent may ask (the rule is about bound tokens only)
        Http.Response plain = new Http().postForm(realm.tokenEndpoint(), TestRealm.redeem(realm.login(FREE_HOST, USER, "openid profile email")).list(),
                Http.basic(FREE_HOST, SECRETS.get(FREE_HOST)));
        assertEquals(200, plain.status(), plain.body());
        assertActs(post(AGENT, delegated(plain.json().get("access_token").asText()), null));
    }

    @Test
    void aHostThatRequiresDPoPNeedsTheProofOfTheTokensKey() throws Exception {
        KeyPair key = ecKey();
        KeyPair other = ecKey();
        String subject = boundUserToken(DPOP_HOST, key);
        // without a proof, Keycloak's token endpoint refuses this client's requests before any exchange provider
        assertSameRefusal(post(DPOP_HOST, standard(subject), null), post(DPOP_HOST, delegated(subject), null), "DPoP proof is missing");
        // a valid proof, but of another key: the exchange itself must refuse it
        assertSameRefusal(post(DPOP_HOST, standard(subject), other), post(DPOP_HOST, delegated(subject), other),
                "DPoP confirmation doesn't match DPoP proof");
        JsonNode at = assertActs(post(DPOP_HOST, delegated(subject), key));
        assertEquals(thumbprint(key), at.path("cnf").path("jkt").asText(), at.toString());
    }
}
