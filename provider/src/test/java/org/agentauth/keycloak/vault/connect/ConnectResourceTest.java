package org.agentauth.keycloak.vault.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConnectResourceTest {

    @Test
    void addsParametersBeforeTheFragmentEncoded() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("error", "access_denied");
        p.put("error_description", "a b&c=d");
        assertEquals("http://h/cb?error=access_denied&error_description=a%20b%26c%3Dd", ConnectResource.withQuery("http://h/cb", p));
        assertEquals("http://h/cb?x=1&error=access_denied&error_description=a%20b%26c%3Dd#frag",
                ConnectResource.withQuery("http://h/cb?x=1#frag", p));
        assertEquals("https://u/a%7Bb%7D?k=%7Bv%7D", ConnectResource.withQuery("https://u/a%7Bb%7D", Map.of("k", "{v}")));
    }

    @Test
    void pkceChallengeIsS256OfTheVerifier() {
        // expected value computed independently (Python hashlib + urlsafe_b64encode, padding stripped)
        assertEquals("ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc", ConnectResource.challenge("dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assertNotEquals(ConnectResource.random(32), ConnectResource.random(32));
        assertEquals(43, ConnectResource.random(32).length());
    }
}
