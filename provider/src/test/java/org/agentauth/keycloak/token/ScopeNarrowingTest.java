package org.agentauth.keycloak.token;

import org.agentauth.keycloak.support.ProtocolError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ScopeNarrowingTest {

    private static final List<String> SUBJECT = List.of("openid", "profile", "email", "delegation:client:calendar-agent");
    private static final Set<String> GRANT = Set.of("openid", "profile", "email", "delegation:client:calendar-agent");
    private static final Set<String> CEILING = Set.of("openid", "profile");

    @Test
    void withoutRequestEverythingAllowedByAllThree() {
        assertEquals(List.of("openid", "profile"), List.copyOf(ScopeNarrowing.narrow(null, SUBJECT, GRANT, CEILING)));
    }

    @Test
    void requestedSubsetIsKept() {
        assertEquals(Set.of("profile"), ScopeNarrowing.narrow(List.of("profile"), SUBJECT, GRANT, CEILING));
    }

    @Test
    void requestedScopeOutsideTheCeilingIsInvalidScope() {
        ProtocolError e = assertThrows(ProtocolError.class,
                () -> ScopeNarrowing.narrow(List.of("openid", "email"), SUBJECT, GRANT, CEILING));
        assertEquals("invalid_scope", e.error());
        assertTrue(e.description().contains("email"));
    }

    @Test
    void requestedScopeOutsideTheGrantIsInvalidScope() {
        assertThrows(ProtocolError.class,
                () -> ScopeNarrowing.narrow(List.of("profile"), SUBJECT, Set.of("openid"), CEILING));
    }

    @Test
    void requestedScopeOutsideTheSubjectTokenIsInvalidScope() {
        assertThrows(ProtocolError.class,
                () -> ScopeNarrowing.narrow(List.of("profile"), List.of("openid"), GRANT, CEILING));
    }

    @Test
    void delegationScopesNeverPassOn() {
        Set<String> all = Set.of("openid", "delegation:client:calendar-agent");
        assertEquals(Set.of("openid"), ScopeNarrowing.narrow(null, SUBJECT, all, all));
        assertThrows(ProtocolError.class,
                () -> ScopeNarrowing.narrow(List.of("delegation:client:calendar-agent"), SUBJECT, all, all));
    }

    @Test
    void emptyResultIsInvalidScope() {
        ProtocolError e = assertThrows(ProtocolError.class,
                () -> ScopeNarrowing.narrow(null, List.of("email"), GRANT, CEILING));
        assertEquals("invalid_scope", e.error());
    }

    @Test
    void splitIgnoresBlanks() {
        assertEquals(List.of("a", "b"), List.copyOf(ScopeNarrowing.split("  a   b ")));
        assertTrue(ScopeNarrowing.split(null).isEmpty());
    }
}
