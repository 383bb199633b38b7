package org.agentauth.keycloak.token;

import org.agentauth.keycloak.support.Strings;
import org.agentauth.keycloak.support.ProtocolError;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * Rule 5 of DESIGN section 3: the scope of a delegated token is the requested scope (or, if none, all of the
 * subject token's scope) intersected with the subject token's scope, the user's grant and the agent's ceiling.
 * Delegation-consent scopes ({@code delegation:client:*}) never pass on.
 */
public final class ScopeNarrowing {

    /** Prefix of the per-agent consent scopes (DESIGN section 4.6). */
    public static final String DELEGATION_SCOPE_PREFIX = "delegation:client:";

    private ScopeNarrowing() {
    }

    /**
     * @param requested the {@code scope} parameter split into names, or null/empty when the request named none
     * @return the narrowed scope, in the order of the requested (or subject) scope
     * @throws ProtocolError {@code invalid_scope} when a requested scope is not allowed or nothing remains
     */
    public static Set<String> narrow(Collection<String> requested, Collection<String> subjectScope,
            Collection<String> grantScope, Collection<String> agentCeiling) {
        Set<String> allowed = new LinkedHashSet<>();
        for (String s : subjectScope) {
            if (grantScope.contains(s) && agentCeiling.contains(s) && !isDelegationScope(s)) {
                allowed.add(s);
            }
        }
        if (requested == null || requested.isEmpty()) {
            if (allowed.isEmpty()) {
                throw ProtocolError.invalidScope("No scope is left after narrowing to the subject token, the delegation grant and the agent's policy");
            }
            return allowed;
        }
        Set<String> refused = new TreeSet<>();
        Set<String> out = new LinkedHashSet<>();
        for (String s : requested) {
            if (allowed.contains(s)) {
                out.add(s);
            } else {
                refused.add(s);
            }
        }
        if (!refused.isEmpty()) {
            throw ProtocolError.invalidScope("Scope not allowed for this delegation: "
                    + String.join(" ", refused.stream().map(Strings::safeId).toList()));
        }
        return out;
    }

    public static boolean isDelegationScope(String scope) {
        return scope.startsWith(DELEGATION_SCOPE_PREFIX);
    }

    /** Splits a space-separated scope string (null gives an empty set). */
    public static Set<String> split(String scope) {
        Set<String> out = new LinkedHashSet<>();
        if (scope != null) {
            for (String s : scope.trim().split("\\s+")) {
                if (!s.isEmpty()) {
                    out.add(s);
                }
            }
        }
        return out;
    }
}
