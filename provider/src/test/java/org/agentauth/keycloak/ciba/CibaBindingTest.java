package org.agentauth.keycloak.ciba;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CibaBindingTest {

    @Test
    void claimNamesAndOurStashAreReservedWhateverTheirCase() {
        for (String n : List.of("sub", "SUB", "jti", "exp", "iat", "nbf", "iss", "aud", "azp", "typ", "scope", "auth_result_id",
                "binding_message", "acr_values", "act", "may_act", "agent_auth_actor", "Agent_Auth_anything")) {
            assertTrue(CibaBinding.reserved(n), n);
        }
        for (String n : List.of("requested_actor", "resource", "authorization_details", "purpose", "subject", "agent-auth")) {
            assertFalse(CibaBinding.reserved(n), n);
        }
        assertEquals("jti", CibaBinding.firstReserved(List.of("purpose", "jti", "sub")));
        assertNull(CibaBinding.firstReserved(List.of("purpose", "resource")));
    }

    @Test
    void anAgentActionWithADescriptionIsAccepted() {
        assertEquals("Book a table", CibaBinding.actionDescription("[{\"type\":\"agent_action\",\"description\":\"  Book a table \",\"x\":1}]"));
        assertEquals("line one\nline two", CibaBinding.actionDescription("[{\"type\":\"agent_action\",\"description\":\"line one\\nline two\"}]"));
    }

    @Test
    void everythingElseIsRefusedWithAReason() {
        for (String bad : List.of("", "not json", "{}", "[]", "[1]", "[{\"type\":\"payment\",\"description\":\"x\"}]",
                "[{\"type\":\"agent_action\"}]", "[{\"type\":\"agent_action\",\"description\":\" \"}]",
                "[{\"type\":\"agent_action\",\"description\":5}]",
                "[{\"type\":\"agent_action\",\"description\":\"a\"},{\"type\":\"agent_action\",\"description\":\"b\"}]",
                "[{\"type\":\"agent_action\",\"description\":\"bell\\u0007\"}]",
                "[{\"type\":\"agent_action\",\"description\":\"" + "x".repeat(1001) + "\"}]",
                "[{\"type\":\"agent_action\",\"description\":\"x\",\"pad\":\"" + "y".repeat(4100) + "\"}]")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CibaBinding.actionDescription(bad), bad);
            assertTrue(e.getMessage().startsWith("authorization_details"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> CibaBinding.actionDescription(null));
    }

    @Test
    void maxAgeIsDigitsOnly() {
        assertNull(CibaBinding.maxAge(null));
        assertEquals(0, CibaBinding.maxAge("0"));
        assertEquals(300, CibaBinding.maxAge("300"));
        for (String bad : List.of("", "-1", "1.5", "soon", "1234567890", " 5")) {
            assertThrows(IllegalArgumentException.class, () -> CibaBinding.maxAge(bad), bad);
        }
    }

    @Test
    void stashedValuesAndResources() {
        assertEquals("calendar-agent", CibaBinding.stashed(Map.of(CibaBinding.STASH_ACTOR, "calendar-agent"), CibaBinding.STASH_ACTOR));
        assertNull(CibaBinding.stashed(null, CibaBinding.STASH_ACTOR));
        assertNull(CibaBinding.stashed(Map.of(), CibaBinding.STASH_ACTOR));
        assertEquals(List.of("https://a.example/", "https://b.example/"), CibaBinding.resources(" https://a.example/ https://b.example/ "));
        assertEquals(List.of(), CibaBinding.resources(null));
    }
}
