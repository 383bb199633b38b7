package org.agentauth.keycloak.token;

import org.agentauth.keycloak.support.ProtocolError;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.agent.ResourceServers;
import org.keycloak.jose.jws.JWSInput;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.Constants;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.JsonWebToken;

/**
 * Shapes delegated tokens (DESIGN section 3, rules 5 to 7) and reads back what a delegated token or its refresh
 * token records. Claims of our own: {@code delegation_host} (the host client the user delegated through, in access
 * and refresh tokens) and, in refresh tokens only, {@code delegation_aud} and {@code delegation_roles} (what the
 * delegated access token was narrowed to, so that a refresh never widens it).
 */
public final class DelegatedTokens {

    public static final String HOST_CLAIM = "delegation_host";
    public static final String AUD_CLAIM = "delegation_aud";
    public static final String ROLES_CLAIM = "delegation_roles";
    /** In refresh tokens: the scope the delegated access token was issued with; a refresh never exceeds it. */
    public static final String SCOPE_CLAIM = "delegation_scope";
    /**
     * In delegated access and refresh tokens: the ids of the grants the token was issued under, one per {@code act}
     * level, the first hop's first (DESIGN section 3 rule 5, "Bound to its grant"). Every check of the grant checks
     * these exact grants: once one is revoked or expired the token is refused for good, whatever the user consents to
     * later (a new consent is a new grant, with a new id).
     */
    public static final String GRANTS_CLAIM = "delegation_grants";
    /** Keycloak's own clients: never in the audience or roles of a token carrying act or may_act. */

    private DelegatedTokens() {
    }

    /** Roles a delegated token may carry: realm roles and roles per client id. */
    public record Roles(Set<String> realm, Map<String, Set<String>> clients) {

        /** The roles of a token, less Keycloak's own clients. */
        public static Roles of(AccessToken t) {
            Set<String> realm = t.getRealmAccess() == null || t.getRealmAccess().getRoles() == null
                    ? Set.of() : new LinkedHashSet<>(t.getRealmAccess().getRoles());
            Map<String, Set<String>> clients = new LinkedHashMap<>();
            if (t.getResourceAccess() != null) {
                t.getResourceAccess().forEach((c, a) -> {
                    if (!TokenContainment.FORBIDDEN_CLIENTS.contains(c) && a != null && a.getRoles() != null) {
                        clients.put(c, new LinkedHashSet<>(a.getRoles()));
                    }
                });
            }
            return new Roles(realm, clients);
        }

        /** Keeps in {@code at} only the roles these allow, and nothing of Keycloak's own clients. */
        public void retain(AccessToken at) {
            if (at.getRealmAccess() != null && at.getRealmAccess().getRoles() != null) {
                Set<String> keep = new LinkedHashSet<>(at.getRealmAccess().getRoles());
                keep.retainAll(realm);
                at.setRealmAccess(keep.isEmpty() ? null : new AccessToken.Access().roles(keep));
            }
            if (at.getResourceAccess() != null) {
                Map<String, AccessToken.Access> kept = new LinkedHashMap<>();
                at.getResourceAccess().forEach((c, a) -> {
                    Set<String> allowed = clients.get(c);
                    if (allowed == null || TokenContainment.FORBIDDEN_CLIENTS.contains(c) || a == null || a.getRoles() == null) {
                        return;
                    }
                    Set<String> keep = new LinkedHashSet<>(a.getRoles());
                    keep.retainAll(allowed);
                    if (!keep.isEmpty()) {
                        kept.put(c, new AccessToken.Access().roles(keep));
                    }
                });
                at.setResourceAccess(kept);
            }
        }

        /** As stored in a refresh token. */
        @SuppressWarnings("unchecked")
        public static Roles fromClaim(Object claim) {
            if (!(claim instanceof Map<?, ?> m)) {
                return new Roles(Set.of(), Map.of());
            }
            Set<String> realm = strings(m.get("realm"));
            Map<String, Set<String>> clients = new LinkedHashMap<>();
            if (m.get("clients") instanceof Map<?, ?> cm) {
                cm.forEach((k, v) -> clients.put(String.valueOf(k), strings(v)));
            }
            return new Roles(realm, clients);
        }

        public Map<String, Object> toClaim() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("realm", new ArrayList<>(realm));
            Map<String, Object> c = new LinkedHashMap<>();
            clients.forEach((k, v) -> c.put(k, new ArrayList<>(v)));
            m.put("clients", c);
            return m;
        }
    }

    /**
     * Applies the delegation to a freshly generated access token: act chain, host and the grants it is bound to, scope within
     * {@code allowedScope}, audience exactly {@code audience}, roles within {@code allowedRoles}, no may_act, no
     * delegation scopes, nothing of Keycloak's account or realm-management clients.
     *
     * @return the resulting scope
     * @throws ProtocolError {@code invalid_scope} when no scope remains
     */
    public static Set<String> shape(AccessToken at, ActChain chain, String hostClientId, List<String> grantIds, Set<String> allowedScope,
            Collection<String> audience, Roles allowedRoles) {
        if (grantIds == null || grantIds.size() != chain.depth()) {
            throw new IllegalStateException("a delegated token needs one grant per act level");
        }
        at.getOtherClaims().remove(ActChain.MAY_ACT);
        at.setOtherClaims(ActChain.ACT, chain.toClaim());
        at.setOtherClaims(HOST_CLAIM, hostClientId);
        at.setOtherClaims(GRANTS_CLAIM, List.copyOf(grantIds));

        Set<String> scope = new LinkedHashSet<>();
        for (String s : ScopeNarrowing.split(at.getScope())) {
            if (allowedScope.contains(s) && !ScopeNarrowing.isDelegationScope(s)) {
                scope.add(s);
            }
        }
        if (scope.isEmpty()) {
            throw ProtocolError.invalidScope("No scope is left for the delegated token");
        }
        at.setScope(String.join(" ", scope));

        List<String> aud = audience.stream().filter(a -> !TokenContainment.FORBIDDEN_CLIENTS.contains(a)).distinct().toList();
        at.audience(aud.isEmpty() ? null : aud.toArray(String[]::new));

        allowedRoles.retain(at);
        return scope;
    }

    /**
     * The one rule for a delegated token's {@code aud} (DESIGN section 3 rule 5, section 9): the acting agent's policy
     * allows the target (a client id or URI among its allowed audiences, or a resource URI whose owning client is among
     * them), and it is never one of Keycloak's own clients. The exchange, the {@code requested_actor} code grant, the
     * refresh and the resource rules all decide through this method.
     */
    public static boolean audienceAllowed(RealmModel realm, AgentPolicy agent, String target) {
        return target != null && !TokenContainment.FORBIDDEN_CLIENTS.contains(target) && ResourceServers.agentAllows(realm, agent, target);
    }

    /** Of {@code candidates} (what Keycloak computed, or what a refresh token recorded), those {@link #audienceAllowed}. */
    public static List<String> allowedAudience(RealmModel realm, AgentPolicy agent, Collection<String> candidates) {
        return candidates == null ? List.of() : candidates.stream().filter(a -> audienceAllowed(realm, agent, a)).distinct().toList();
    }

    /** Session attribute: the resources a delegated exchange is issuing its token for. */
    private static final String EXCHANGE_RESOURCES = "agent_auth.exchange.resources";

    /**
     * The delegated exchange decides its resources before Keycloak generates the refresh token; the delegation
     * post-processor records them in it (so a refresh can only narrow). This is the hand-over between the two.
     */
    public static void noteExchangeResources(KeycloakSession session, List<String> resources) {
        session.setAttribute(EXCHANGE_RESOURCES, List.copyOf(resources));
    }

    /** The resources {@link #noteExchangeResources} noted in this request (empty: none). */
    public static List<String> exchangeResources(KeycloakSession session) {
        return session.getAttribute(EXCHANGE_RESOURCES) instanceof List<?> l
                ? l.stream().map(String::valueOf).toList() : List.of();
    }

    private static final String GRANT_CONNECTORS = "agent_auth.grant.connectors";

    /**
     * The connectors every grant behind the delegated token being issued includes (the code grant and the delegated
     * refresh check the grants before Keycloak builds the token); the resource post-processor issues a connector's
     * resource URI only for one of these. The hand-over between the two.
     */
    public static void noteGrantConnectors(KeycloakSession session, java.util.Set<String> connectors) {
        session.setAttribute(GRANT_CONNECTORS, java.util.Set.copyOf(connectors));
    }

    /** What {@link #noteGrantConnectors} noted in this request; empty when no grant was checked (no connector then). */
    public static java.util.Set<String> grantConnectors(KeycloakSession session) {
        return session.getAttribute(GRANT_CONNECTORS) instanceof java.util.Set<?> s
                ? s.stream().map(String::valueOf).collect(java.util.stream.Collectors.toUnmodifiableSet()) : java.util.Set.of();
    }

    /** Records in a new refresh token what the delegated access token was narrowed to. */
    public static void recordInRefreshToken(JsonWebToken rt, AccessToken at) {
        rt.setOtherClaims(ActChain.ACT, at.getOtherClaims().get(ActChain.ACT));
        rt.setOtherClaims(HOST_CLAIM, at.getOtherClaims().get(HOST_CLAIM));
        rt.setOtherClaims(GRANTS_CLAIM, at.getOtherClaims().get(GRANTS_CLAIM));
        rt.setOtherClaims(AUD_CLAIM, at.getAudience() == null ? List.of() : List.of(at.getAudience()));
        rt.setOtherClaims(ROLES_CLAIM, Roles.of(at).toClaim());
        rt.setOtherClaims(SCOPE_CLAIM, at.getScope());
    }

    /**
     * The scope a delegated refresh token may yield: what its first access token was issued with (DESIGN section 3,
     * rule 8: Keycloak re-adds the client's default scopes at refresh, which must not reach a delegated token). A
     * refresh token issued before this claim existed falls back to its own {@code scope}.
     */
    public static Set<String> issuedScope(JsonWebToken rt) {
        Object recorded = rt.getOtherClaims().get(SCOPE_CLAIM);
        if (recorded instanceof String s) {
            return ScopeNarrowing.split(s);
        }
        return rt instanceof org.keycloak.representations.RefreshToken r ? ScopeNarrowing.split(r.getScope()) : Set.of();
    }

    /**
     * The grant ids a delegated token (access or refresh) is bound to ({@link #GRANTS_CLAIM}), the first hop's first;
     * null when the token names none or not as a list of ids (such a token is bound to nothing and refused).
     */
    public static List<String> boundGrants(JsonWebToken t) {
        Object claim = t == null ? null : t.getOtherClaims().get(GRANTS_CLAIM);
        if (!(claim instanceof Collection<?> c) || c.isEmpty()) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (Object o : c) {
            if (!(o instanceof String s) || s.isBlank()) {
                return null;
            }
            out.add(s);
        }
        return List.copyOf(out);
    }

    /** Refresh tokens never outlive the grant: caps {@code exp} at the grant's expiry (epoch ms; null = none). */
    public static void capExpiry(JsonWebToken rt, Long grantExpiresAtMillis) {
        if (grantExpiresAtMillis == null) {
            return;
        }
        long cap = grantExpiresAtMillis / 1000;
        if (rt.getExp() == null || rt.getExp() == 0 || rt.getExp() > cap) {
            rt.exp(cap);
        }
    }

    /** The last token this thread peeked and what it read: one request asks up to four providers about one token. */
    private record Peeked(String token, Optional<JsonWebToken> claims) {
    }

    private static final ThreadLocal<Peeked> LAST_PEEK = new ThreadLocal<>();

    /**
     * The claims of a token read <em>without</em> verifying it: only to route a token-exchange request to the provider
     * that will verify it. Empty for anything that is not a readable JWS. The token-exchange providers each ask this of
     * the same subject token in one request, so the thread's last answer is reused for the same text; callers only
     * read what it returns.
     */
    public static Optional<JsonWebToken> peek(String token) {
        if (token == null || token.isBlank()) {
            return Optional.empty();
        }
        Peeked last = LAST_PEEK.get();
        if (last != null && last.token().equals(token)) {
            return last.claims();
        }
        Optional<JsonWebToken> claims;
        try {
            claims = Optional.of(new JWSInput(token).readJsonContent(JsonWebToken.class));
        } catch (Exception e) {
            claims = Optional.empty();
        }
        LAST_PEEK.set(new Peeked(token, claims));
        return claims;
    }


    public static boolean isDelegated(JsonWebToken t) {
        return t != null && t.getOtherClaims().get(ActChain.ACT) != null;
    }

    static Set<String> strings(Object o) {
        Set<String> out = new LinkedHashSet<>();
        if (o instanceof Collection<?> c) {
            c.forEach(v -> out.add(String.valueOf(v)));
        }
        return out;
    }
}
