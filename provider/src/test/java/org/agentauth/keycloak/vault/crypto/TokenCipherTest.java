package org.agentauth.keycloak.vault.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Base64;
import org.agentauth.keycloak.vault.crypto.TokenCipher.Sealed;
import org.agentauth.keycloak.vault.crypto.TokenCipher.VaultKeyException;
import org.junit.jupiter.api.Test;

class TokenCipherTest {

    private static final String K1 = "k1:" + Base64.getEncoder().encodeToString(new byte[32]);
    private static final String K2 = "k2:" + Base64.getEncoder().encodeToString(filled(7));
    private static final TokenCipher.Binding AAD = new TokenCipher.Binding("realm", "user", "conn-1", "connector-a", "account-1");

    private static byte[] filled(int v) {
        byte[] b = new byte[32];
        java.util.Arrays.fill(b, (byte) v);
        return b;
    }

    @Test
    void sealsAndOpensWithTheSameKeyAndRow() {
        KeyRing keys = KeyRing.parse(K1, null);
        Sealed s = TokenCipher.seal(keys, AAD, "{\"a\":\"secret-access-token\"}");
        assertEquals("k1", s.keyId());
        assertFalse(s.ciphertext().contains("secret"));
        assertEquals("{\"a\":\"secret-access-token\"}", TokenCipher.open(keys, AAD, s));
        assertFalse(s.toString().contains(s.ciphertext()), "toString names no ciphertext");
    }

    @Test
    void everySealHasItsOwnNonce() {
        KeyRing keys = KeyRing.parse(K1, null);
        assertNotEquals(TokenCipher.seal(keys, AAD, "x").ciphertext(), TokenCipher.seal(keys, AAD, "x").ciphertext());
    }

    @Test
    void anotherRowUserRealmConnectorOrAccountDoesNotOpenIt() {
        KeyRing keys = KeyRing.parse(K1, null);
        Sealed s = TokenCipher.seal(keys, AAD, "token");
        assertTrue(TokenCipher.currentForm(s.ciphertext()), s.ciphertext().substring(0, 3));
        for (TokenCipher.Binding other : new TokenCipher.Binding[] {
                new TokenCipher.Binding("realm", "user", "conn-2", "connector-a", "account-1"),
                new TokenCipher.Binding("realm", "other-user", "conn-1", "connector-a", "account-1"),
                new TokenCipher.Binding("other-realm", "user", "conn-1", "connector-a", "account-1"),
                // the same user's row moved to another connector (issue 21, finding 6), or to another upstream account
                new TokenCipher.Binding("realm", "user", "conn-1", "connector-b", "account-1"),
                new TokenCipher.Binding("realm", "user", "conn-1", "connector-a", "account-2"),
                new TokenCipher.Binding("realm", "user", "conn-1", "connector-a", null)}) {
            assertThrows(VaultKeyException.class, () -> TokenCipher.open(keys, other, s), other.toString());
        }
    }

    /** A ciphertext of the form written before the connector was bound: AAD realm + user + connection, no prefix. */
    private static String legacySeal(byte[] key, String realm, String user, String connection, String plaintext) throws Exception {
        byte[] nonce = new byte[12];
        new java.security.SecureRandom().nextBytes(nonce);
        javax.crypto.Cipher c = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
        c.init(javax.crypto.Cipher.ENCRYPT_MODE, new javax.crypto.spec.SecretKeySpec(key, "AES"), new javax.crypto.spec.GCMParameterSpec(128, nonce));
        c.updateAAD(("agent-auth/connection/v1\0" + realm + "\0" + user + "\0" + connection).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        byte[] ct = c.doFinal(plaintext.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        byte[] all = new byte[1 + 12 + ct.length];
        all[0] = 1;
        System.arraycopy(nonce, 0, all, 1, 12);
        System.arraycopy(ct, 0, all, 13, ct.length);
        return Base64.getEncoder().encodeToString(all);
    }

    @Test
    void rowsOfTheOlderFormStillOpenAndAreRewrittenInTheCurrentForm() throws Exception {
        KeyRing keys = KeyRing.parse(K1, null);
        Sealed legacy = new Sealed("k1", legacySeal(new byte[32], "realm", "user", "conn-1", "token"));
        assertFalse(TokenCipher.currentForm(legacy.ciphertext()));
        assertEquals("token", TokenCipher.open(keys, AAD, legacy));
        // the older form binds no connector: it opens on any (until re-encryption rewrites it)
        assertEquals("token", TokenCipher.open(keys, new TokenCipher.Binding("realm", "user", "conn-1", "connector-b", "x"), legacy));
        assertThrows(VaultKeyException.class, () -> TokenCipher.open(keys, new TokenCipher.Binding("realm", "user", "conn-2", "connector-a", "account-1"), legacy));
        Sealed rewritten = TokenCipher.seal(keys, AAD, TokenCipher.open(keys, AAD, legacy));
        assertTrue(TokenCipher.currentForm(rewritten.ciphertext()));
        assertEquals("token", TokenCipher.open(keys, AAD, rewritten));
        assertThrows(VaultKeyException.class, () -> TokenCipher.open(keys, new TokenCipher.Binding("realm", "user", "conn-1", "connector-b", "account-1"), rewritten));
        // a current ciphertext with its prefix removed is checked as the older form, and fails: no downgrade
        Sealed stripped = new Sealed("k1", rewritten.ciphertext().substring(TokenCipher.CURRENT_FORM.length()));
        assertThrows(VaultKeyException.class, () -> TokenCipher.open(keys, AAD, stripped));
    }

    @Test
    void tamperingIsDetected() {
        KeyRing keys = KeyRing.parse(K1, null);
        Sealed s = TokenCipher.seal(keys, AAD, "token");
        byte[] raw = Base64.getDecoder().decode(s.ciphertext().substring(TokenCipher.CURRENT_FORM.length()));
        raw[raw.length - 1] ^= 1;
        Sealed bad = new Sealed("k1", TokenCipher.CURRENT_FORM + Base64.getEncoder().encodeToString(raw));
        VaultKeyException e = assertThrows(VaultKeyException.class, () -> TokenCipher.open(keys, AAD, bad));
        assertTrue(e.getMessage().contains("authentication"));
        assertThrows(VaultKeyException.class, () -> TokenCipher.open(keys, AAD, new Sealed("k1", "not base64!")));
        assertThrows(VaultKeyException.class, () -> TokenCipher.open(keys, AAD, new Sealed("k1", "AQ==")));
    }

    @Test
    void rotationReadsOldRowsAndWritesUnderTheActiveKey() {
        Sealed old = TokenCipher.seal(KeyRing.parse(K1, null), AAD, "token");
        KeyRing both = KeyRing.parse(K2 + "," + K1, "k2");
        assertEquals("token", TokenCipher.open(both, AAD, old));
        assertEquals("k2", TokenCipher.seal(both, AAD, "token").keyId());
        KeyRing onlyNew = KeyRing.parse(K2, null);
        VaultKeyException gone = assertThrows(VaultKeyException.class, () -> TokenCipher.open(onlyNew, AAD, old));
        assertTrue(gone.getMessage().contains("k1"));
    }

    @Test
    void noKeyRefusesToSealOrOpen() {
        KeyRing none = KeyRing.none();
        assertFalse(none.usable());
        assertThrows(VaultKeyException.class, () -> TokenCipher.seal(none, AAD, "token"));
        Sealed s = TokenCipher.seal(KeyRing.development(), AAD, "token");
        assertThrows(VaultKeyException.class, () -> TokenCipher.open(none, AAD, s));
        assertEquals(KeyRing.Source.DEVELOPMENT, KeyRing.development().source());
    }

    @Test
    void keySettingsAreCheckedAndErrorsNeverShowKeyMaterial() {
        String secret = Base64.getEncoder().encodeToString(new byte[16]);
        IllegalArgumentException shortKey = assertThrows(IllegalArgumentException.class, () -> KeyRing.parse("k:" + secret, null));
        assertTrue(shortKey.getMessage().contains("16 bytes"));
        assertFalse(shortKey.getMessage().contains(secret));
        assertThrows(IllegalArgumentException.class, () -> KeyRing.parse("nokey", null));
        assertThrows(IllegalArgumentException.class, () -> KeyRing.parse(K1 + "," + K1, null));
        assertThrows(IllegalArgumentException.class, () -> KeyRing.parse(K1, "k9"));
        assertThrows(IllegalArgumentException.class, () -> KeyRing.parse("bad id!:" + secret, null));
        assertThrows(IllegalArgumentException.class, () -> KeyRing.parse(" , ", null));
        assertEquals("k1", KeyRing.parse(" " + K1 + " , " + K2 + " ", null).activeKeyId());
        // base64url keys work too
        String url = Base64.getUrlEncoder().withoutPadding().encodeToString(filled(0xfb));
        assertTrue(KeyRing.parse("u:" + url, null).usable());
    }
}
