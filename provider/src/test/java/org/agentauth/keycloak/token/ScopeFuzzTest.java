package org.agentauth.keycloak.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;
import java.util.Set;
import org.agentauth.keycloak.FuzzRuns;
import org.agentauth.keycloak.delegation.authz.RequestedActor;
import org.agentauth.keycloak.delegation.scope.DelegationScopes;
import org.agentauth.keycloak.support.ProtocolError;

/**
 * Scope lists: splitting never yields blanks; narrowing never widens (the result is within the subject token, the
 * grant and the agent's ceiling, never a delegation scope) and fails only with {@code invalid_scope}; the
 * {@code requested_actor} marker round-trips for any agent id and is gone after removal; the delegation-scope reader
 * never fails.
 */
class ScopeFuzzTest {

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void narrowingNeverWidens(FuzzedDataProvider data) {
        Set<String> requested = ScopeNarrowing.split(data.consumeString(200));
        Set<String> subject = ScopeNarrowing.split(data.consumeString(200));
        Set<String> grant = ScopeNarrowing.split(data.consumeString(200));
        Set<String> ceiling = ScopeNarrowing.split(data.consumeRemainingAsString());
        for (Set<String> s : List.of(requested, subject, grant, ceiling)) {
            // split on the separators a scope parameter uses (ASCII white space, as Keycloak does); other characters are
            // part of a name, which then simply matches no allowed scope
            s.forEach(x -> assertTrue(!x.isEmpty() && x.chars().noneMatch(ch -> " \t\n\u000B\f\r".indexOf(ch) >= 0), x));
        }
        Set<String> out;
        try {
            out = ScopeNarrowing.narrow(requested, subject, grant, ceiling);
        } catch (ProtocolError e) {
            assertEquals("invalid_scope", e.error());
            return;
        }
        assertFalse(out.isEmpty());
        for (String s : out) {
            assertTrue(subject.contains(s) && grant.contains(s) && ceiling.contains(s), s);
            assertFalse(ScopeNarrowing.isDelegationScope(s), s);
            assertTrue(requested.isEmpty() || requested.contains(s), s);
        }
    }

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void requestedActorMarkerRoundTrips(FuzzedDataProvider data) {
        String agent = data.consumeString(RequestedActor.MAX_LENGTH);
        String scope = data.consumeRemainingAsString();
        String without = RequestedActor.withoutMarker(scope);
        assertFalse(RequestedActor.containsMarker(without), without);
        RequestedActor.scopeSet(scope);
        DelegationScopes.agentsIn(scope);
        if (!agent.isEmpty()) {
            String marked = RequestedActor.withMarker(scope, agent);
            assertTrue(RequestedActor.containsMarker(marked));
            assertEquals(agent, RequestedActor.actorOf(marked));
            assertEquals(without, RequestedActor.withoutMarker(marked));
        }
    }
}
