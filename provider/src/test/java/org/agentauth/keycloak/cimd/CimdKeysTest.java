package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class CimdKeysTest {

    static String b64(BigInteger i) {
        byte[] b = i.toByteArray();
        if (b.length > 1 && b[0] == 0) {
            b = Arrays.copyOfRange(b, 1, b.length);
        }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static String rsaKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            RSAPublicKey k = (RSAPublicKey) g.generateKeyPair().getPublic();
            return "{\"kty\":\"RSA\",\"kid\":\"k1\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"" + b64(k.getModulus()) + "\",\"e\":\"" + b64(k.getPublicExponent()) + "\"}";
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String ecKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            ECPublicKey k = (ECPublicKey) g.generateKeyPair().getPublic();
            return "{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\",\"x\":\"" + pad32(k.getW().getAffineX()) + "\",\"y\":\"" + pad32(k.getW().getAffineY()) + "\"}";
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String pad32(BigInteger i) {
        byte[] b = i.toByteArray();
        byte[] out = new byte[32];
        int n = Math.min(32, b.length);
        System.arraycopy(b, b.length - n, out, 32 - n, n);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(out);
    }

    private static final String RSA = rsaKey();

    static String rsaSet() {
        return "{\"keys\":[" + RSA + "]}";
    }

    static String refusal(String set) {
        return assertThrows(CimdDocument.Refused.class, () -> CimdKeys.parse(set.getBytes(StandardCharsets.UTF_8)), set).getMessage();
    }

    @Test
    void publicRsaAndEcKeysAreKept() throws Exception {
        String set = CimdKeys.parse(("{\"keys\":[" + RSA + "," + ecKey() + "]}").getBytes(StandardCharsets.UTF_8));
        assertTrue(set.startsWith("{\"keys\":[{\"kty\":\"RSA\""), set);
        assertTrue(set.contains("\"crv\":\"P-256\""), set);
        assertEquals(CimdKeys.digest(set), CimdKeys.digest(CimdKeys.parse(set.getBytes(StandardCharsets.UTF_8))), "stable form");
        assertNotEquals(CimdKeys.digest(set), CimdKeys.digest(rsaSet()));
        assertEquals("none", CimdKeys.digest(null));
    }

    @Test
    void privateMembersSymmetricKeysAndJunkAreRefused() {
        for (String m : CimdKeys.PRIVATE_MEMBERS) {
            assertTrue(refusal("{\"keys\":[" + RSA.replace("{\"kty\"", "{\"" + m + "\":\"AQAB\",\"kty\"") + "]}").contains("private key members"), m);
        }
        assertTrue(refusal("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}").contains("symmetric (oct)"));
        assertTrue(refusal("{\"keys\":[{\"kty\":\"oct\"}]}").contains("symmetric"));
        assertTrue(refusal("{\"keys\":[]}").contains("non-empty"));
        assertTrue(refusal("{}").contains("keys"));
        assertTrue(refusal("[]").contains("JSON object"));
        assertTrue(refusal("{\"keys\":[1]}").contains("JSON object"));
        assertTrue(refusal("{\"keys\":[{\"n\":\"x\"}]}").contains("kty"));
        assertTrue(refusal("{\"keys\":[{\"kty\":\"XYZ\"}]}").contains("RSA, EC or OKP"));
        assertTrue(refusal("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"!!\",\"e\":\"AQAB\"}]}").contains("cannot be read"));
        assertTrue(refusal("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}").contains("cannot be read"));
        assertTrue(refusal("{\"keys\":[" + RSA.replace("\"sig\"", "\"enc\"") + "]}").contains("no key for signatures"));
        assertTrue(refusal("{\"keys\":[" + RSA + "]} x").contains("nothing after") || refusal("{\"keys\":[" + RSA + "]} x").contains("JSON"));
        assertTrue(refusal("{\"keys\":[" + RSA + "],\"keys\":[]}").contains("JSON"));
        assertTrue(refusal("{\"keys\":[" + (RSA + ",").repeat(11) + RSA + "]}").contains("more than 10"));
    }
}
