package org.agentauth.keycloak.delegation.jpa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The CONNECTIONS column: the account picked per connector, as {@code alias=connectionId} pairs. */
class GrantConnectionsColumnTest {

    @Test
    void picksRoundTripInOrderAndNoneIsNull() {
        Map<String, String> picks = new LinkedHashMap<>();
        picks.put("demo-calendar", "8a1c2f0e-0000-4000-8000-000000000001");
        picks.put("github", "8a1c2f0e-0000-4000-8000-000000000002");
        String column = JpaDelegationGrantProvider.joinPairs(picks);
        assertEquals("demo-calendar=8a1c2f0e-0000-4000-8000-000000000001 github=8a1c2f0e-0000-4000-8000-000000000002", column);
        assertEquals(picks, JpaDelegationGrantProvider.splitPairs(column));
        assertNull(JpaDelegationGrantProvider.joinPairs(Map.of()));
        assertEquals(Map.of(), JpaDelegationGrantProvider.splitPairs(null));
    }

    @Test
    void malformedPairsAreDroppedNotMisread() {
        assertEquals(Map.of("a", "b"), JpaDelegationGrantProvider.splitPairs("=x y= a=b noequals  B=c d=e;f \u001f=x"));
    }
}
