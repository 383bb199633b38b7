package org.agentauth.keycloak.delegation.authz;

import org.keycloak.models.AuthenticatedClientSessionModel;
import org.keycloak.OAuth2Constants;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.keycloak.models.ClientModel;
import org.keycloak.models.RealmModel;
import org.keycloak.models.RequiredActionProviderModel;

/**
 * {@code requested_actor} at the authorization endpoint (DESIGN section 4, draft-oauth-ai-agents-on-behalf-of-user-02):
 * parameter name, where the value travels during one login, and how the authorization code is bound to it.
 *
 * <p>Binding: once the user approved (or a grant already covers the request), the authentication session's
 * {@code scope} note gets one extra token, {@link #MARKER_PREFIX}{@code <agent client_id>}. Keycloak copies that note
 * into the authorization code it issues ({@code OAuth2Code.scope}), so the binding lives in the code itself: one code,
 * one actor, whatever else happens in the browser session. No client scope of that name exists, so Keycloak ignores the
 * token when it resolves client scopes, and the authorization endpoint refuses it if a client ever sends it itself
 * (unknown scope). Keycloak also copies the note into the client session as the login ends: {@link RequestedActorLoginProtocol}
 * removes it from that copy in the same step, before the code is built (from the authentication session's note), and
 * the token endpoint strips it from the code's scope before anything else sees it.
 *
 * <p>Until then the validated value travels as the authentication session's client note {@link #CLIENT_REQUEST_PARAM_NOTE}
 * (Keycloak's own note for additional request parameters). Client notes survive a reset of the login flow (Keycloak
 * resets it, for example, when another login of the same client in the same browser completes while the agent consent
 * page is open: the user then signs in again and sees the consent page again), unlike auth notes, which a reset clears.
 * The consent step removes the note once it bound the code (or the login ends with an error), so it never reaches the
 * client session, which later logins of the same client in the same browser session share.
 */
public final class RequestedActor {

    public static final String PARAM = "requested_actor";
    /** Keycloak's prefix for additional request parameters kept as auth-session client notes. */
    public static final String CLIENT_REQUEST_PARAM_NOTE = "client_request_param_" + PARAM;
    /** Auth note: set once a consent-by-scope login is consented (its tokens' {@code may_act} follows the grant). */
    public static final String AUTH_NOTE_BOUND = "agent_auth.requested_actor.bound";
    /** Alias (and provider id) of the agent consent required action, which every agent login goes through. */
    public static final String CONSENT_ACTION = "agent-auth-consent";
    /** Scope token carrying the actor inside the authorization code. */
    public static final String MARKER_PREFIX = "urn:agent-auth:requested_actor:";
    /** Single-use store key prefix: requested_actor pushed through PAR, by request_uri key. */
    public static final String PAR_STORE_PREFIX = "agent-auth-par-actor:";
    public static final int MAX_LENGTH = 255;

    private RequestedActor() {
    }

    /**
     * Checks that {@code actorClientId} names an enabled agent that allows {@code host}.
     *
     * @return the agent's policy
     * @throws IllegalArgumentException with a client-safe description otherwise
     */
    public static AgentPolicy validate(RealmModel realm, ClientModel host, String actorClientId) {
        if (actorClientId == null || actorClientId.isBlank() || actorClientId.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("Invalid parameter: " + PARAM);
        }
        Optional<AgentPolicy> agent = AgentPolicy.enabledAgent(realm, actorClientId);
        if (agent.isEmpty()) {
            throw new IllegalArgumentException("requested_actor is not an enabled agent of this realm");
        }
        if (!agent.get().allowsHost(host.getClientId())) {
            throw new IllegalArgumentException("requested_actor does not allow this client as its host");
        }
        return agent.get();
    }

    /**
     * Whether the agent consent required action is registered and enabled in {@code realm}: without it an agent login
     * would get a code without consent, so {@code requested_actor} and consent by scope are refused. Read-only: the
     * action is registered at start-up and whenever a realm is created or imported, never during a request.
     */
    public static boolean consentEnabled(RealmModel realm) {
        RequiredActionProviderModel m = realm.getRequiredActionProviderByAlias(CONSENT_ACTION);
        return m != null && m.isEnabled();
    }

    public static String marker(String actorClientId) {
        return MARKER_PREFIX + URLEncoder.encode(actorClientId, StandardCharsets.UTF_8);
    }

    /** The actor a scope string (of a code) is bound to, or null. */
    public static String actorOf(String scope) {
        if (scope == null) {
            return null;
        }
        for (String s : scope.split(" ")) {
            if (s.startsWith(MARKER_PREFIX)) {
                return URLDecoder.decode(s.substring(MARKER_PREFIX.length()), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /** True when any scope token of {@code scope} looks like our marker. */
    public static boolean containsMarker(String scope) {
        return scope != null && Arrays.stream(scope.split(" ")).anyMatch(s -> s.startsWith(MARKER_PREFIX));
    }

    /** Removes the marker from a client session's {@code scope} note; writes the note only when it held one. */
    public static void unmark(AuthenticatedClientSessionModel clientSession) {
        String noted = clientSession == null ? null : clientSession.getNote(OAuth2Constants.SCOPE);
        if (containsMarker(noted)) {
            clientSession.setNote(OAuth2Constants.SCOPE, withoutMarker(noted));
        }
    }

    /** {@code scope} without marker tokens (null stays null). */
    public static String withoutMarker(String scope) {
        if (scope == null) {
            return null;
        }
        return Arrays.stream(scope.split(" ")).filter(s -> !s.isEmpty() && !s.startsWith(MARKER_PREFIX))
                .collect(Collectors.joining(" "));
    }

    /** {@code scope} with the marker for {@code actorClientId} (any earlier marker replaced). */
    public static String withMarker(String scope, String actorClientId) {
        String base = withoutMarker(scope);
        return (base == null || base.isEmpty() ? "" : base + " ") + marker(actorClientId);
    }

    public static Set<String> scopeSet(String scope) {
        Set<String> out = new LinkedHashSet<>();
        if (scope != null) {
            for (String s : scope.split(" ")) {
                if (!s.isBlank()) {
                    out.add(s);
                }
            }
        }
        return out;
    }
}
