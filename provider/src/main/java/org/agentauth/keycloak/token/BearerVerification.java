package org.agentauth.keycloak.token;

import org.agentauth.keycloak.support.RealmIssuer;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.keycloak.TokenVerifier;
import org.keycloak.common.VerificationException;
import org.keycloak.common.util.Time;
import org.keycloak.component.ComponentModel;
import org.keycloak.crypto.SignatureProvider;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.TokenManager;
import org.keycloak.protocol.oidc.encode.AccessTokenContext;
import org.keycloak.protocol.oidc.encode.TokenContextEncoderProvider;
import org.keycloak.representations.AccessToken;
import org.keycloak.services.managers.AuthenticationManager;

/**
 * Verifies a bearer access token of this realm the way Keycloak's
 * {@code AuthenticationManager.verifyIdentityToken(..., isCookie=false, ...)} does, but without building the
 * throw-away transient user session that Keycloak materialises for a session-less token (client credentials) or a
 * token whose client session is transient (standard token exchange): that copy resolves the client's scopes and roles
 * and was the largest single cost of the delegated exchange and the brokered proxy (docs/performance.md).
 *
 * <p>The direct path ({@link #direct}) accepts a token only when every check Keycloak makes passes, in the same order:
 * signature with the realm's key for the header's {@code kid} and algorithm, {@code iss}, {@code exp}/{@code iat}
 * ({@code withDefaultChecks}), {@code typ} Bearer, revocation ({@code TokenRevocationCheck}), the audience when asked,
 * the realm's not-before; the {@code azp} client exists, is enabled, and its not-before is older than the token; the
 * session the token's id encodes (its session type) is valid: a session-less token only where its type allows a
 * transient user session, otherwise the online or offline user session by {@code sid}, valid and started before the
 * token; the user exists, is enabled, and its not-before is older than the token. Anything else (a session type whose
 * client session must exist, a user found only by {@code preferred_username}, a session found but invalid, a token id
 * Keycloak cannot decode) goes to Keycloak's own method ({@link #verify}), which is authoritative and has the side effects
 * Keycloak wants (for example the back-channel logout of an invalid session). So the direct path never accepts what
 * Keycloak would refuse, and a token it does not accept is judged by Keycloak.
 *
 * <p>The parsing and the signature check of a token text seen before (the same actor token, the same proxy token, many
 * times) are remembered by {@link SignatureCache}; everything that can change after signing is checked on every call.
 */
public final class BearerVerification {

    private static final Logger LOG = Logger.getLogger(BearerVerification.class);

    /** A verified token: its user, its client ({@code azp}), and its real user session (null when session-less). */
    public record Verified(AccessToken token, UserModel user, ClientModel client, UserSessionModel userSession) {
    }

    private BearerVerification() {
    }

    /**
     * The token verified, or empty when it is not an active access token of this realm (issued for {@code audience}
     * when that is given). Sets the request context's client and bearer token as Keycloak's method does.
     */
    public static Optional<Verified> verify(KeycloakSession session, RealmModel realm, String tokenString, String audience) {
        if (tokenString == null || tokenString.isEmpty()) {
            return Optional.empty();
        }
        Optional<Verified> direct = direct(session, realm, tokenString, audience);
        if (direct.isPresent()) {
            session.getContext().setClient(direct.get().client());
            session.getContext().setBearerToken(direct.get().token());
            if (direct.get().userSession() != null) {
                session.getContext().setUserSession(direct.get().userSession());
            }
            return direct;
        }
        AuthenticationManager.AuthResult r = AuthenticationManager.verifyIdentityToken(session, realm, session.getContext().getUri(),
                session.getContext().getConnection(), true, true, audience, false, tokenString,
                session.getContext().getRequestHeaders(), v -> { });
        return r == null ? Optional.empty() : Optional.of(new Verified(r.token(), r.user(), r.client(), r.session()));
    }

    /** The direct path only: present when every check passes; empty means "ask Keycloak", not "refused". */
    static Optional<Verified> direct(KeycloakSession session, RealmModel realm, String tokenString, String audience) {
        try {
            String issuer = RealmIssuer.of(session, realm);
            long now = Time.currentTimeMillis();
            List<ComponentModel> keyProviders = SignatureCache.keyProviders(realm);
            String cacheKey = SignatureCache.keyOf(tokenString);
            AccessToken token = SignatureCache.get(cacheKey, realm, issuer, keyProviders, now);
            if (token != null) {
                // a signature seen before under the same keys: the verifier's other checks (exp/nbf is checked below)
                if (session.revokedTokens().contains(token.getId()) || (audience != null && !token.hasAudience(audience))) {
                    return Optional.empty();
                }
            } else {
                TokenVerifier<AccessToken> verifier = TokenVerifier.create(tokenString, AccessToken.class)
                        .withDefaultChecks()
                        .realmUrl(issuer)
                        .checkActive(true)
                        .checkTokenType(true);
                if (audience != null) {
                    verifier.audience(audience);
                }
                verifier.withChecks(new TokenManager.TokenRevocationCheck(session));
                if (verifier.getHeader().getAlgorithm() == null) {
                    return Optional.empty();
                }
                SignatureProvider signature = session.getProvider(SignatureProvider.class, verifier.getHeader().getAlgorithm().name());
                if (signature == null) {
                    return Optional.empty();
                }
                verifier.verifierContext(signature.verifier(verifier.getHeader().getKeyId()));
                token = verifier.verify().getToken();
                SignatureCache.put(cacheKey, realm, issuer, keyProviders, token, now);
            }
            if (!token.isActive() || token.getIat() == null || token.getIat() < realm.getNotBefore() || token.getId() == null) {
                return Optional.empty();
            }
            ClientModel client = token.getIssuedFor() == null ? null : realm.getClientByClientId(token.getIssuedFor());
            if (client == null || !client.isEnabled() || token.getIat() < client.getNotBefore()) {
                return Optional.empty();
            }
            AccessTokenContext.SessionType type = session.getProvider(TokenContextEncoderProvider.class)
                    .getTokenContextFromTokenId(token.getId()).getSessionType();
            UserSessionModel userSession = null;
            UserModel user;
            if (token.getSessionId() == null) {
                if (!type.isAllowTransientUserSession() || token.getSubject() == null) {
                    return Optional.empty();
                }
                user = session.users().getUserById(realm, token.getSubject());
            } else {
                if (!type.isAllowTransientClientSession()) {
                    return Optional.empty(); // the client session must exist: Keycloak's own lookup builds nothing, no gain here
                }
                if (type.isAllowLookupOnlineUserSession()) {
                    userSession = session.sessions().getUserSession(realm, token.getSessionId());
                }
                if (userSession == null && type.isAllowLookupOfflineUserSession()) {
                    userSession = session.sessions().getOfflineUserSession(realm, token.getSessionId());
                }
                if (!AuthenticationManager.isSessionValid(realm, userSession) || token.isIssuedBeforeSessionStart(userSession.getStarted())) {
                    return Optional.empty();
                }
                user = userSession.getUser();
            }
            if (user == null || !TokenManager.isUserValid(session, realm, token, user)) {
                return Optional.empty();
            }
            return Optional.of(new Verified(token, user, client, userSession));
        } catch (VerificationException | RuntimeException e) {
            LOG.tracef("bearer token not verified directly: %s", e.getClass().getName());
            return Optional.empty();
        }
    }
}
