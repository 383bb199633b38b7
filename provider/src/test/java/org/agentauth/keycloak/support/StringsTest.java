package org.agentauth.keycloak.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

class StringsTest {

    private static final String JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.";

    @Test
    void safeNeverEchoesATokenAndCutsTheRest() {
        assertEquals("(a token, not shown)", Strings.safe(JWT, 200));
        assertEquals("(a token, not shown)", Strings.safe(JWT + "x".repeat(500), 10));
        assertEquals("https://a.example/x", Strings.safe("https://a.example/\nx", 200));
        assertEquals("abc...", Strings.safe("abcdef", 3));
        assertEquals("", Strings.safe(null, 5));
        assertEquals("eyJ-not-a-token", Strings.safe("eyJ-not-a-token", 200));
    }

    @Test
    void safeIdKeepsIdentifierCharactersOnly() {
        assertEquals("(a token, not shown)", Strings.safeId(JWT));
        assertEquals("calendar-agent", Strings.safeId("calendar-agent"));
        assertEquals("a?b?c", Strings.safeId("a b\nc"));
        assertEquals("(none)", Strings.safeId(null));
        assertFalse(Strings.safeId("x".repeat(100)).length() > 67);
    }
}
