package org.agentauth.keycloak.token;

import org.agentauth.keycloak.support.ProtocolError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.keycloak.representations.AccessToken;

class DelegatedTokensTest {

    private static AccessToken token() {
        AccessToken t = new AccessToken();
        t.setScope("openid profile email delegation:client:calendar-agent");
        t.audience("account", "plain-service", "research-agent");
        t.setRealmAccess(new AccessToken.Access().roles(Set.of("user", "offline_access")));
        t.addAccess("account").roles(Set.of("manage-account"));
        t.addAccess("plain-service").roles(Set.of("read", "write"));
        t.setOtherClaims("may_act", Map.of("sub", "x"));
        return t;
    }

    @Test
    void shapeNarrowsEverythingAndAddsAct() {
        AccessToken t = token();
        ActChain chain = ActChain.empty().wrap(new ActChain.Actor("sa", "calendar-agent", "iss"));
        DelegatedTokens.Roles allowed = new DelegatedTokens.Roles(Set.of("user"), Map.of("plain-service", Set.of("read"), "account", Set.of("manage-account")));
        Set<String> scope = DelegatedTokens.shape(t, chain, "agent-host", List.of("grant-1"), Set.of("openid", "profile", "delegation:client:calendar-agent"),
                List.of("plain-service", "account"), allowed);
        assertEquals(Set.of("openid", "profile"), scope);
        assertEquals("openid profile", t.getScope());
        assertArrayEquals(new String[] {"plain-service"}, t.getAudience());
        assertEquals(Set.of("user"), t.getRealmAccess().getRoles());
        assertEquals(Set.of("plain-service"), t.getResourceAccess().keySet());
        assertEquals(Set.of("read"), t.getResourceAccess().get("plain-service").getRoles());
        assertFalse(t.getOtherClaims().containsKey("may_act"));
        assertEquals(chain.toClaim(), t.getOtherClaims().get("act"));
        assertEquals("agent-host", t.getOtherClaims().get(DelegatedTokens.HOST_CLAIM));
        assertEquals(List.of("grant-1"), t.getOtherClaims().get(DelegatedTokens.GRANTS_CLAIM));
        assertEquals(List.of("grant-1"), DelegatedTokens.boundGrants(t));
    }

    @Test
    void aDelegatedTokenIsBoundToOneGrantPerActLevel() {
        ActChain two = ActChain.empty().wrap(new ActChain.Actor("sa", "a", null)).wrap(new ActChain.Actor("sb", "b", null));
        assertThrows(IllegalStateException.class, () -> DelegatedTokens.shape(token(), two, "h", List.of("g1"), Set.of("openid"),
                List.of(), DelegatedTokens.Roles.of(token())));
        AccessToken t = token();
        DelegatedTokens.shape(t, two, "h", List.of("g1", "g2"), Set.of("openid"), List.of(), DelegatedTokens.Roles.of(token()));
        assertEquals(List.of("g1", "g2"), DelegatedTokens.boundGrants(t));
    }

    @Test
    void aTokenNamingNoGrantsOrMalformedOnesIsBoundToNothing() {
        AccessToken t = token();
        assertNull(DelegatedTokens.boundGrants(t));
        t.setOtherClaims(DelegatedTokens.GRANTS_CLAIM, "g1");
        assertNull(DelegatedTokens.boundGrants(t));
        t.setOtherClaims(DelegatedTokens.GRANTS_CLAIM, List.of());
        assertNull(DelegatedTokens.boundGrants(t));
        t.setOtherClaims(DelegatedTokens.GRANTS_CLAIM, java.util.Arrays.asList("g1", 7));
        assertNull(DelegatedTokens.boundGrants(t));
        t.setOtherClaims(DelegatedTokens.GRANTS_CLAIM, List.of("g1", " "));
        assertNull(DelegatedTokens.boundGrants(t));
    }

    @Test
    void noAudienceLeftMeansNoAud() {
        AccessToken t = token();
        DelegatedTokens.shape(t, ActChain.empty().wrap(new ActChain.Actor("sa", "c", null)), "h", List.of("g"), Set.of("openid"), List.of(),
                DelegatedTokens.Roles.of(token()));
        assertNull(t.getAudience());
    }

    @Test
    void rolesOfATokenNeverIncludeKeycloakClients() {
        DelegatedTokens.Roles r = DelegatedTokens.Roles.of(token());
        assertEquals(Set.of("plain-service"), r.clients().keySet());
        DelegatedTokens.Roles back = DelegatedTokens.Roles.fromClaim(r.toClaim());
        assertEquals(r.realm(), back.realm());
        assertEquals(r.clients(), back.clients());
    }

    @Test
    void emptyScopeIsInvalidScope() {
        AccessToken t = token();
        ProtocolError e = assertThrows(ProtocolError.class, () -> DelegatedTokens.shape(t,
                ActChain.empty().wrap(new ActChain.Actor("sa", "c", null)), "h", List.of("g"), Set.of("address"), List.of(), DelegatedTokens.Roles.of(t)));
        assertEquals("invalid_scope", e.error());
    }
}
