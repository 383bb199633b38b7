package org.agentauth.keycloak.vault.crypto;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * AES-256-GCM for stored upstream tokens (DESIGN section 5). Each ciphertext has a fresh 96-bit nonce and a 128-bit
 * tag; its associated data binds it to realm, user and connection, so a row's ciphertext copied into another row (or
 * realm, or user) does not decrypt. Stored form: base64 of {@code version(1) | nonce(12) | ciphertext+tag}, with the key
 * id in a column of its own.
 */
public final class TokenCipher {

    private static final byte VERSION = 1;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * One AES-GCM cipher per thread: {@code Cipher.getInstance} searches the security providers on every call (about
     * half of a decryption's time in the benchmark's profile); a cipher is re-initialised with its key and a fresh
     * nonce for every use, and is never shared between threads.
     */
    private static final ThreadLocal<Cipher> AES_GCM = ThreadLocal.withInitial(() -> {
        try {
            return Cipher.getInstance("AES/GCM/NoPadding");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/GCM/NoPadding is not available", e);
        }
    });

    /** A ciphertext and the id of the key that made it. */
    public record Sealed(String keyId, String ciphertext) {
        @Override
        public String toString() {
            return "Sealed[keyId=" + keyId + "]";
        }
    }

    /** The vault cannot encrypt or decrypt: no key, an unknown key id, or a ciphertext that fails its tag check. */
    public static class VaultKeyException extends RuntimeException {
        public VaultKeyException(String message) {
            super(message);
        }
    }

    private TokenCipher() {
    }

    /** The associated data of one connection's ciphertext. */
    public static byte[] associatedData(String realmId, String userId, String connectionId) {
        return ("agent-auth/connection/v1\0" + realmId + "\0" + userId + "\0" + connectionId).getBytes(StandardCharsets.UTF_8);
    }

    public static Sealed seal(KeyRing keys, byte[] aad, String plaintext) {
        if (!keys.usable()) {
            throw new VaultKeyException("the vault has no encryption key configured");
        }
        try {
            byte[] nonce = new byte[NONCE_BYTES];
            RANDOM.nextBytes(nonce);
            Cipher c = AES_GCM.get();
            c.init(Cipher.ENCRYPT_MODE, keys.activeKey(), new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(aad);
            byte[] ct = c.doFinal(plaintext.getBytes(StandardCharsets.UTF_8));
            ByteBuffer out = ByteBuffer.allocate(1 + NONCE_BYTES + ct.length);
            out.put(VERSION).put(nonce).put(ct);
            return new Sealed(keys.activeKeyId(), Base64.getEncoder().encodeToString(out.array()));
        } catch (GeneralSecurityException e) {
            throw new VaultKeyException("encryption failed: " + e.getClass().getSimpleName());
        }
    }

    public static String open(KeyRing keys, byte[] aad, Sealed sealed) {
        SecretKey key = keys.key(sealed.keyId()).orElseThrow(() -> new VaultKeyException(
                keys.usable() ? "the vault key '" + sealed.keyId() + "' is not configured any more"
                        : "the vault has no encryption key configured"));
        byte[] all;
        try {
            all = Base64.getDecoder().decode(sealed.ciphertext());
        } catch (IllegalArgumentException e) {
            throw new VaultKeyException("stored ciphertext is not base64");
        }
        if (all.length < 1 + NONCE_BYTES + TAG_BITS / 8 || all[0] != VERSION) {
            throw new VaultKeyException("stored ciphertext has an unknown format");
        }
        try {
            Cipher c = AES_GCM.get();
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, all, 1, NONCE_BYTES));
            c.updateAAD(aad);
            byte[] pt = c.doFinal(all, 1 + NONCE_BYTES, all.length - 1 - NONCE_BYTES);
            return new String(pt, StandardCharsets.UTF_8);
        } catch (GeneralSecurityException e) {
            throw new VaultKeyException("stored ciphertext failed authentication (wrong key, row or tampering)");
        }
    }
}
