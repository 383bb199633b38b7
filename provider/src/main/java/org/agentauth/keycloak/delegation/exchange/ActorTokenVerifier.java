package org.agentauth.keycloak.delegation.exchange;

import org.agentauth.keycloak.support.RealmIssuer;
import org.agentauth.keycloak.support.Strings;
import org.agentauth.keycloak.support.ProtocolError;
import org.agentauth.keycloak.token.ActChain;
import org.agentauth.keycloak.token.BearerVerification;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.jboss.logging.Logger;
import org.keycloak.OAuth2Constants;
import org.keycloak.authentication.authenticators.client.JWTClientValidator;
import org.keycloak.common.VerificationException;
import org.keycloak.common.util.Time;
import org.keycloak.crypto.ClientSignatureVerifierProvider;
import org.keycloak.jose.jws.JWSInput;
import org.keycloak.jose.jws.JWSInputException;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.JsonWebToken;

/**
 * Verifies an {@code actor_token} (DESIGN section 3): either a client-credentials access token this realm issued to
 * the agent, or a short-lived, single-use JWT the agent signed with its registered asymmetric key.
 *
 * <p>An actor JWT and a {@code private_key_jwt} client assertion are signed with the same key, so they must never be
 * mistaken for each other (RFC 8725 sections 3.9 and 3.11): an actor JWT is explicitly typed ({@value #JWT_TYP}) and
 * has exactly one audience, {@code {realm issuer}}{@value #AUDIENCE_PATH}, which Keycloak's client-assertion check
 * never accepts (it accepts the issuer and its endpoints), and its {@code jti} is recorded under the key Keycloak's
 * client-assertion check uses, so that a {@code jti} is used once across both.
 */
public final class ActorTokenVerifier {

    private static final Logger LOG = Logger.getLogger(ActorTokenVerifier.class);

    /** Longest lifetime of an agent-signed actor JWT, in seconds. */
    public static final int MAX_JWT_LIFETIME = 300;
    /** Allowed clock skew, in seconds. */
    public static final int CLOCK_SKEW = 10;
    /** The {@code typ} header of an actor JWT (explicit typing, RFC 8725 section 3.11). */
    public static final String JWT_TYP = "actor+jwt";
    /** Appended to the realm issuer, the one audience of an actor JWT (RFC 8725 section 3.9). */
    public static final String AUDIENCE_PATH = "/agent-auth/actor";
    /**
     * Single-use key prefix of a {@code jti}: the one Keycloak's {@link JWTClientValidator} (private_key_jwt client
     * assertions) records, {@code AbstractBaseJWTValidator.validateTokenReuse}: its lower-cased simple class name and
     * {@code ":"}. A {@code jti} used by a client assertion is refused as an actor JWT's, and the reverse.
     */
    static final String JTI_PREFIX = JWTClientValidator.class.getSimpleName().toLowerCase(Locale.ROOT) + ":";

    /** A verified actor: the agent and its service-account user. */
    public record VerifiedActor(AgentPolicy agent, UserModel serviceAccount) {
        public String clientId() {
            return agent.clientId();
        }
    }

    private final KeycloakSession session;
    private final RealmModel realm;

    public ActorTokenVerifier(KeycloakSession session, RealmModel realm) {
        this.session = session;
        this.realm = realm;
    }

    public VerifiedActor verify(String token, String tokenType) {
        if (OAuth2Constants.ACCESS_TOKEN_TYPE.equals(tokenType)) {
            return verifyAccessToken(token);
        }
        if (OAuth2Constants.JWT_TOKEN_TYPE.equals(tokenType)) {
            return verifyJwt(token);
        }
        throw ProtocolError.invalidRequest("Unsupported actor_token_type: use " + OAuth2Constants.ACCESS_TOKEN_TYPE
                + " or " + OAuth2Constants.JWT_TOKEN_TYPE);
    }

    private VerifiedActor verifyAccessToken(String token) {
        ClientModel requester = session.getContext().getClient();
        AccessToken t;
        try {
            // Signature, issuer, expiry, token type, revocation, not-before, azp client enabled, valid session, user valid.
            t = BearerVerification.verify(session, realm, token, null).map(BearerVerification.Verified::token).orElse(null);
        } catch (RuntimeException e) {
            // never a 500 for a malformed actor token
            LOG.debugf("actor access token not verifiable: %s", e.getClass().getName());
            t = null;
        } finally {
            session.getContext().setClient(requester);
        }
        if (t == null) {
            throw ProtocolError.invalidToken("Invalid actor_token: not an active access token of this realm");
        }
        if (t.getOtherClaims().containsKey(ActChain.ACT) || t.getOtherClaims().containsKey(ActChain.MAY_ACT)) {
            throw ProtocolError.invalidToken("Invalid actor_token: it must be the agent's own token, without act or may_act");
        }
        AgentPolicy agent = enabledAgent(t.getIssuedFor());
        UserModel sa = serviceAccount(agent);
        if (!sa.getId().equals(t.getSubject())) {
            throw ProtocolError.invalidToken("Invalid actor_token: not a client-credentials token of agent " + agent.clientId());
        }
        return new VerifiedActor(agent, sa);
    }

    private VerifiedActor verifyJwt(String token) {
        JWSInput jws;
        JsonWebToken jwt;
        try {
            jws = new JWSInput(token);
            jwt = jws.readJsonContent(JsonWebToken.class);
        } catch (JWSInputException | RuntimeException e) {
            throw ProtocolError.invalidToken("Invalid actor_token: not a signed JWT");
        }
        String typ = jws.getHeader().getType();
        if (!isActorJwtType(typ)) {
            throw ProtocolError.invalidToken("Invalid actor_token: an actor JWT needs the header typ " + JWT_TYP + " (typ " + Strings.safeId(typ) + " refused)");
        }
        String alg = jws.getHeader().getRawAlgorithm();
        ClientSignatureVerifierProvider verifier = alg == null ? null : session.getProvider(ClientSignatureVerifierProvider.class, alg);
        if (verifier == null || !verifier.isAsymmetricAlgorithm()) {
            throw ProtocolError.invalidToken("Invalid actor_token: it must be signed with the agent's registered asymmetric key (alg " + Strings.safeId(alg) + " refused)");
        }
        String iss = jwt.getIssuer();
        if (iss == null || !iss.equals(jwt.getSubject())) {
            throw ProtocolError.invalidToken("Invalid actor_token: iss and sub must both be the agent's client_id");
        }
        AgentPolicy agent = enabledAgent(iss);
        try {
            if (!verifier.verifier(agent.client(), jws).verify(jws.getEncodedSignatureInput().getBytes(StandardCharsets.UTF_8), jws.getSignature())) {
                throw ProtocolError.invalidToken("Invalid actor_token: bad signature");
            }
        } catch (VerificationException | RuntimeException e) {
            if (e instanceof ProtocolError d) {
                throw d;
            }
            LOG.debugf("actor JWT of %s: signature not verifiable: %s", agent.clientId(), e.getMessage());
            throw ProtocolError.invalidToken("Invalid actor_token: signature cannot be verified with the agent's registered key");
        }
        String audience = audience(RealmIssuer.of(session, realm));
        String[] aud = jwt.getAudience();
        if (aud == null || aud.length != 1 || !audience.equals(aud[0])) {
            throw ProtocolError.invalidToken("Invalid actor_token: aud must be exactly " + audience);
        }
        long now = Time.currentTime();
        Long exp = jwt.getExp();
        Long iat = jwt.getIat();
        if (exp == null || iat == null || exp + CLOCK_SKEW < now || iat > now + CLOCK_SKEW) {
            throw ProtocolError.invalidToken("Invalid actor_token: expired, not yet valid, or without exp/iat");
        }
        if (exp - iat > MAX_JWT_LIFETIME || exp - now > MAX_JWT_LIFETIME) {
            throw ProtocolError.invalidToken("Invalid actor_token: a signed actor JWT may live at most " + MAX_JWT_LIFETIME + " seconds");
        }
        if (jwt.getNbf() != null && jwt.getNbf() > now + CLOCK_SKEW) {
            throw ProtocolError.invalidToken("Invalid actor_token: not yet valid");
        }
        if (jwt.getOtherClaims().containsKey(ActChain.ACT) || jwt.getOtherClaims().containsKey(ActChain.MAY_ACT)) {
            throw ProtocolError.invalidToken("Invalid actor_token: it must not carry act or may_act");
        }
        String jti = jwt.getId();
        if (jti == null || jti.isBlank() || jti.length() > 256) {
            throw ProtocolError.invalidToken("Invalid actor_token: jti required");
        }
        long lifespan = Math.max(1, exp - now + CLOCK_SKEW);
        if (!session.singleUseObjects().putIfAbsent(JTI_PREFIX + jti, lifespan)) {
            throw ProtocolError.invalidToken("Invalid actor_token: this jti was already used");
        }
        return new VerifiedActor(agent, serviceAccount(agent));
    }

    /** The one audience of an actor JWT for a realm issuer. */
    public static String audience(String realmIssuer) {
        return realmIssuer + AUDIENCE_PATH;
    }

    /** {@value #JWT_TYP}, or its full media type {@code application/actor+jwt} (RFC 7515 section 4.1.9), any case. */
    static boolean isActorJwtType(String typ) {
        return typ != null && (JWT_TYP.equalsIgnoreCase(typ) || ("application/" + JWT_TYP).equalsIgnoreCase(typ));
    }

    private AgentPolicy enabledAgent(String clientId) {
        return AgentPolicy.enabledAgent(realm, clientId)
                .orElseThrow(() -> ProtocolError.invalidRequest("Invalid actor_token: " + Strings.safeId(clientId) + " is not an enabled agent"));
    }

    private UserModel serviceAccount(AgentPolicy agent) {
        UserModel sa = session.users().getServiceAccount(agent.client());
        if (sa == null || !sa.isEnabled()) {
            throw ProtocolError.invalidRequest("Agent " + agent.clientId() + " has no enabled service account");
        }
        return sa;
    }

}
