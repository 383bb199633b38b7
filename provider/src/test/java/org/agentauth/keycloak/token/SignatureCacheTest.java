package org.agentauth.keycloak.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.reflect.Proxy;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.keycloak.component.ComponentModel;
import org.keycloak.models.RealmModel;
import org.keycloak.representations.AccessToken;

class SignatureCacheTest {

    private static final long NOW = 1_800_000_000_000L;
    private static final String ISS = "https://id.example/realms/r";

    private final RealmModel realm = realm("realm-1");
    private final List<ComponentModel> keys = List.of(key("k1"), key("k2"));

    @AfterEach
    void clear() {
        SignatureCache.clear();
    }

    @Test
    void answersOnlyTheSameRealmIssuerAndKeyObjects() {
        AccessToken t = token(NOW / 1000 + 300);
        SignatureCache.put("a", realm, ISS, keys, t, NOW);
        assertSame(t, SignatureCache.get("a", realm, ISS, List.copyOf(keys), NOW + 1));
        assertNull(SignatureCache.get("b", realm, ISS, keys, NOW));
        assertNull(SignatureCache.get("a", realm("realm-2"), ISS, keys, NOW), "another realm");
        SignatureCache.put("a", realm, ISS, keys, t, NOW);
        assertNull(SignatureCache.get("a", realm, ISS + "/", keys, NOW), "another issuer");
        SignatureCache.put("a", realm, ISS, keys, t, NOW);
        // equal content, other objects: what Keycloak's realm cache hands out after any change of the realm
        assertNull(SignatureCache.get("a", realm, ISS, List.of(keys.get(0), key("k2")), NOW), "a key provider replaced");
        SignatureCache.put("a", realm, ISS, keys, t, NOW);
        assertNull(SignatureCache.get("a", realm, ISS, List.of(keys.get(0)), NOW), "a key provider removed");
        assertEquals(0, SignatureCache.size(), "a miss for changed conditions drops the entry");
    }

    @Test
    void neverOutlivesTheTokenOrTheTimeToLive() {
        AccessToken shortLived = token(NOW / 1000 + 5);
        SignatureCache.put("s", realm, ISS, keys, shortLived, NOW);
        assertSame(shortLived, SignatureCache.get("s", realm, ISS, keys, NOW + 4_999));
        assertNull(SignatureCache.get("s", realm, ISS, keys, NOW + 5_000), "past exp");
        AccessToken longLived = token(NOW / 1000 + 3600);
        SignatureCache.put("l", realm, ISS, keys, longLived, NOW);
        assertSame(longLived, SignatureCache.get("l", realm, ISS, keys, NOW + SignatureCache.TTL_MILLIS - 1));
        assertNull(SignatureCache.get("l", realm, ISS, keys, NOW + SignatureCache.TTL_MILLIS), "past the time to live");
        SignatureCache.put("x", realm, ISS, keys, token(NOW / 1000 - 1), NOW);
        SignatureCache.put("y", realm, ISS, keys, new AccessToken(), NOW);
        assertEquals(0, SignatureCache.size(), "an expired token, or one without exp, is not remembered");
    }

    @Test
    void staysBounded() {
        for (int i = 0; i < SignatureCache.MAX_ENTRIES + 10; i++) {
            SignatureCache.put("t" + i, realm, ISS, keys, token(NOW / 1000 + 300), NOW);
        }
        assertEquals(10, SignatureCache.size(), "full of live entries: emptied, then filled again");
    }

    @Test
    void theKeyIsADigestOfTheWholeText() {
        String a = SignatureCache.keyOf("h.p.s");
        assertEquals(a, SignatureCache.keyOf("h.p.s"));
        assertNotEquals(a, SignatureCache.keyOf("h.q.s"), "another payload under the same signature");
        assertEquals(43, a.length());
    }

    private static AccessToken token(long exp) {
        AccessToken t = new AccessToken();
        t.exp(exp);
        return t;
    }

    private static ComponentModel key(String id) {
        ComponentModel c = new ComponentModel();
        c.setId(id);
        return c;
    }

    private static RealmModel realm(String id) {
        return (RealmModel) Proxy.newProxyInstance(RealmModel.class.getClassLoader(), new Class<?>[] {RealmModel.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getId")) {
                        return id;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }
}
