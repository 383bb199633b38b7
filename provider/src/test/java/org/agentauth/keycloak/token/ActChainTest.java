package org.agentauth.keycloak.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ActChainTest {

    private static final String ISS = "http://localhost/realms/r";

    @Test
    void nullIsTheEmptyChain() {
        ActChain c = ActChain.parse(null);
        assertTrue(c.isEmpty());
        assertEquals(0, c.depth());
        assertNull(c.toClaim());
        assertEquals("", c.describe());
    }

    @Test
    void wrapNestsTheOldChainInsideTheNewActor() {
        ActChain c = ActChain.empty().wrap(new ActChain.Actor("sa-a", "calendar-agent", ISS))
                .wrap(new ActChain.Actor("sa-b", "research-agent", ISS));
        Map<String, Object> claim = c.toClaim();
        assertEquals("sa-b", claim.get("sub"));
        assertEquals("research-agent", claim.get("client_id"));
        assertEquals(ISS, claim.get("iss"));
        @SuppressWarnings("unchecked")
        Map<String, Object> inner = (Map<String, Object>) claim.get("act");
        assertEquals("calendar-agent", inner.get("client_id"));
        assertFalse(inner.containsKey("act"));
        assertEquals("research-agent<calendar-agent", c.describe());
        assertEquals(List.of("calendar-agent", "research-agent"), c.clientIdsFromFirst());
        assertEquals("calendar-agent", c.first().clientId());
        assertEquals("research-agent", c.current().clientId());
    }

    @Test
    void parseIsTheInverseOfToClaim() {
        ActChain c = ActChain.empty().wrap(new ActChain.Actor("a", "x", ISS)).wrap(new ActChain.Actor("b", "y", null));
        ActChain back = ActChain.parse(c.toClaim());
        assertEquals(c.actors(), back.actors());
        assertTrue(back.contains("a", "nobody"));
        assertTrue(back.contains("nobody", "y"));
        assertFalse(back.contains("c", "z"));
    }

    @Test
    void malformedClaimsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> ActChain.parse("calendar-agent"));
        assertThrows(IllegalArgumentException.class, () -> ActChain.parse(Map.of("sub", "a")));
        assertThrows(IllegalArgumentException.class, () -> ActChain.parse(Map.of("sub", "a", "client_id", 3)));
        assertThrows(IllegalArgumentException.class, () -> ActChain.parse(Map.of("sub", "a", "client_id", "x", "act", "y")));
    }

    @Test
    void absurdlyDeepChainsAreRefused() {
        Map<String, Object> m = null;
        for (int i = 0; i <= ActChain.MAX_PARSE_DEPTH; i++) {
            Map<String, Object> n = new HashMap<>(Map.of("sub", "s" + i, "client_id", "c" + i));
            if (m != null) {
                n.put("act", m);
            }
            m = n;
        }
        Map<String, Object> deep = m;
        assertThrows(IllegalArgumentException.class, () -> ActChain.parse(deep));
    }
}
