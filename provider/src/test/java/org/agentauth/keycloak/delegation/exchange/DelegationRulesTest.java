package org.agentauth.keycloak.delegation.exchange;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Set;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.junit.jupiter.api.Test;

class DelegationRulesTest {

    private static DelegationGrant grant(Set<String> scopes, Long expires) {
        return new DelegationGrant("id", "u", "a", "h", scopes, Set.of(), java.util.Map.of(), Set.of(), 0L, expires, null, "admin");
    }

    @Test
    void chainScopesAreTheIntersectionAndExpiryTheEarliest() {
        DelegationRules.ChainCheck c = DelegationRules.summarize(List.of(
                grant(Set.of("openid", "profile", "email"), 5000L), grant(Set.of("openid", "profile"), null),
                grant(Set.of("profile", "email"), 3000L)));
        assertEquals(Set.of("profile"), c.grantScopes());
        assertEquals(3000L, c.expiresAt());
    }

    @Test
    void grantsWithoutExpiryGiveNoCap() {
        assertNull(DelegationRules.summarize(List.of(grant(Set.of("openid"), null))).expiresAt());
    }
}
