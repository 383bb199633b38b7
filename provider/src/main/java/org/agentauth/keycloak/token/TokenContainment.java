package org.agentauth.keycloak.token;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jboss.logging.Logger;
import org.keycloak.OAuth2Constants;
import org.keycloak.models.Constants;
import org.keycloak.models.KeycloakSession;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.JsonWebToken;

/**
 * What a token carrying {@code act} or {@code may_act} may reach (DESIGN section 3, rule 5). Containment is judged by
 * what the token can reach, not by its claims:
 * <ul>
 * <li>it never carries Keycloak's {@code account} or {@code realm-management} audiences or roles ({@link #contain});</li>
 * <li>Keycloak's bearer-token APIs (Account REST API, Admin REST API and ours under it, broker token retrieval,
 * authorization services) refuse it ({@link #allowedAsBearer}), whatever roles the user holds: Keycloak's admin API
 * checks the user's role mappings and the {@code azp} client's scope, never the token's roles;</li>
 * <li>Keycloak's rebuild of a token from the session (introspection, Account REST API) never shows more than the
 * token carries (see the introspection provider);</li>
 * <li>only grants whose token-use checks are ours may issue such a token ({@link #OWNED_GRANT_TYPES}): elsewhere the
 * markers are removed at issue.</li>
 * </ul>
 */
public final class TokenContainment {

    private static final Logger LOG = Logger.getLogger(TokenContainment.class);

    /** Keycloak's own clients: never in the audience or roles of a token carrying act or may_act. */
    public static final Set<String> FORBIDDEN_CLIENTS = Set.of(Constants.ACCOUNT_MANAGEMENT_CLIENT_ID,
            Constants.REALM_MANAGEMENT_CLIENT_ID);

    /**
     * Grant types whose providers are the extension's (same id, higher order than Keycloak's) and so decide, through
     * {@code OAuth2GrantType.isTokenAllowed}, where their tokens are accepted as bearer tokens.
     */
    public static final Set<String> OWNED_GRANT_TYPES = Set.of(OAuth2Constants.AUTHORIZATION_CODE, OAuth2Constants.REFRESH_TOKEN,
            OAuth2Constants.TOKEN_EXCHANGE_GRANT_TYPE, OAuth2Constants.CIBA_GRANT_TYPE);

    private TokenContainment() {
    }

    /** Whether a token carries {@code act} or {@code may_act}. */
    public static boolean carriesDelegation(JsonWebToken t) {
        return t != null && (t.getOtherClaims().containsKey(ActChain.ACT) || t.getOtherClaims().containsKey(ActChain.MAY_ACT));
    }

    /**
     * Keycloak's {@code BearerTokenAuthenticator} asks the token's grant type whether it may be used at the current
     * endpoint. A token carrying {@code act} or {@code may_act} is refused at every endpoint that authenticates that
     * way: Keycloak's Account and Admin REST APIs (and the extension's admin and account APIs under them), the
     * identity-broker token retrieval and the authorization services. Delegated tokens are for resource servers (which
     * check {@code aud}), userinfo, introspection and token exchange, none of which authenticates this way.
     */
    public static boolean allowedAsBearer(KeycloakSession session, AccessToken token) {
        if (!carriesDelegation(token)) {
            return true;
        }
        LOG.debugf("a token carrying act or may_act was refused at %s", session.getContext().getUri() == null ? "?"
                : session.getContext().getUri().getPath());
        return false;
    }

    /** Removes Keycloak's account and realm-management clients from a delegated token's audience and roles. */
    public static void contain(AccessToken at) {
        if (at.getAudience() != null) {
            List<String> aud = List.of(at.getAudience()).stream().filter(a -> !FORBIDDEN_CLIENTS.contains(a)).distinct().toList();
            at.audience(aud.isEmpty() ? null : aud.toArray(String[]::new));
        }
        if (at.getResourceAccess() != null && FORBIDDEN_CLIENTS.stream().anyMatch(at.getResourceAccess()::containsKey)) {
            Map<String, AccessToken.Access> kept = new LinkedHashMap<>(at.getResourceAccess());
            FORBIDDEN_CLIENTS.forEach(kept::remove);
            at.setResourceAccess(kept);
        }
    }

    /** Removes the delegation markers from a token a grant we do not own is issuing. */
    public static void strip(AccessToken at) {
        at.getOtherClaims().remove(ActChain.ACT);
        at.getOtherClaims().remove(ActChain.MAY_ACT);
    }
}
