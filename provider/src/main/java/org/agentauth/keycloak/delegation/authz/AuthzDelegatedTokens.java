package org.agentauth.keycloak.delegation.authz;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.keycloak.models.Constants;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.RefreshToken;

/**
 * Shape of delegated tokens issued through the authorization code flow (DESIGN sections 3 rules 5 and 7, 4.4).
 *
 * <p>Claim names and shapes are those of the token-exchange side (branch {@code exchange}: {@code ActChain},
 * {@code DelegatedTokens}): {@code act = {sub, client_id, iss}}, {@code delegation_host} in access and refresh
 * tokens, {@code delegation_aud} / {@code delegation_roles} in refresh tokens. Kept separate here only until the two
 * branches merge; then this class should fold into {@code DelegatedTokens}.
 */
public final class AuthzDelegatedTokens {

    public static final String ACT = "act";
    public static final String MAY_ACT = "may_act";
    public static final String HOST_CLAIM = "delegation_host";
    public static final String AUD_CLAIM = "delegation_aud";
    public static final String ROLES_CLAIM = "delegation_roles";
    /** Keycloak's own clients: never in the audience or roles of a token carrying act. */
    public static final Set<String> FORBIDDEN_CLIENTS = Set.of(Constants.ACCOUNT_MANAGEMENT_CLIENT_ID,
            Constants.REALM_MANAGEMENT_CLIENT_ID);

    private AuthzDelegatedTokens() {
    }

    /** {@code {"sub": <agent service-account user id>, "client_id": <agent>, "iss": <realm issuer>}}. */
    public static Map<String, Object> act(String serviceAccountUserId, String agentClientId, String issuer) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("sub", serviceAccountUserId);
        m.put("client_id", agentClientId);
        m.put("iss", issuer);
        return m;
    }

    /**
     * Applies the delegation to a freshly generated access token: act and host, scope within {@code allowedScope},
     * nothing of Keycloak's account or realm-management clients in audience or roles.
     *
     * @return the resulting scope; empty when nothing is left (the caller refuses the request)
     */
    public static Set<String> shape(AccessToken at, Map<String, Object> act, String hostClientId, Set<String> allowedScope) {
        at.getOtherClaims().remove(MAY_ACT);
        at.setOtherClaims(ACT, act);
        at.setOtherClaims(HOST_CLAIM, hostClientId);
        Set<String> scope = new LinkedHashSet<>();
        for (String s : RequestedActor.scopeSet(at.getScope())) {
            if (allowedScope.contains(s) && !s.startsWith(RequestedActor.MARKER_PREFIX)) {
                scope.add(s);
            }
        }
        at.setScope(String.join(" ", scope));
        if (at.getAudience() != null) {
            List<String> aud = new ArrayList<>();
            for (String a : at.getAudience()) {
                if (!FORBIDDEN_CLIENTS.contains(a)) {
                    aud.add(a);
                }
            }
            at.audience(aud.isEmpty() ? null : aud.toArray(String[]::new));
        }
        if (at.getResourceAccess() != null) {
            FORBIDDEN_CLIENTS.forEach(at.getResourceAccess()::remove);
        }
        return scope;
    }

    /** Records in the refresh token what the delegated access token carries (same claims as the exchange side). */
    public static void recordInRefreshToken(RefreshToken rt, AccessToken at) {
        rt.setOtherClaims(ACT, at.getOtherClaims().get(ACT));
        rt.setOtherClaims(HOST_CLAIM, at.getOtherClaims().get(HOST_CLAIM));
        rt.setOtherClaims(AUD_CLAIM, at.getAudience() == null ? List.of() : List.of(at.getAudience()));
        Map<String, Object> roles = new LinkedHashMap<>();
        roles.put("realm", at.getRealmAccess() == null || at.getRealmAccess().getRoles() == null
                ? List.of() : new ArrayList<>(at.getRealmAccess().getRoles()));
        Map<String, Object> clients = new LinkedHashMap<>();
        if (at.getResourceAccess() != null) {
            at.getResourceAccess().forEach((c, a) -> {
                if (a != null && a.getRoles() != null) {
                    clients.put(c, new ArrayList<>(a.getRoles()));
                }
            });
        }
        roles.put("clients", clients);
        rt.setOtherClaims(ROLES_CLAIM, roles);
    }

    /** Refresh tokens never outlive the grant. */
    public static void capExpiry(RefreshToken rt, Long grantExpiresAtMillis) {
        if (rt == null || grantExpiresAtMillis == null) {
            return;
        }
        long cap = grantExpiresAtMillis / 1000;
        if (rt.getExp() == null || rt.getExp() == 0 || rt.getExp() > cap) {
            rt.exp(cap);
        }
    }

    /** {@code act.client_id} of a claim value, or null. */
    public static String actorClientId(Object act) {
        return act instanceof Map<?, ?> m && m.get("client_id") instanceof String s ? s : null;
    }

    public static String actorSub(Object act) {
        return act instanceof Map<?, ?> m && m.get("sub") instanceof String s ? s : null;
    }

    /** Scope intersection, in the order of {@code a}. */
    public static Set<String> intersect(Set<String> a, Set<String> b) {
        Set<String> out = new LinkedHashSet<>(a);
        out.retainAll(b);
        return out;
    }
}
