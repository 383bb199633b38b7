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
 * tag; its associated data binds it to everything the row's meaning depends on: realm, user, connection, connector and
 * upstream account (subject). A row's ciphertext copied into another row, or a row moved to another connector, user,
 * realm or account, does not decrypt. Stored form: {@code v2.} followed by the base64 of
 * {@code version(1) | nonce(12) | ciphertext+tag}, with the key id in a column of its own.
 *
 * <p>Rows written before the connector and subject were bound have no {@code v2.} prefix; their associated data is
 * realm + user + connection ({@link Binding#legacy}). They still decrypt, and re-encryption (the key-rotation path)
 * rewrites them in the current form. Removing the prefix of a current ciphertext does not help an attacker: it is then
 * checked against the legacy associated data, and its tag fails.
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

    /** What a connection's ciphertext is bound to. */
    public record Binding(String realmId, String userId, String connectionId, String connectorId, String subject) {

        /** The associated data of the current form. */
        byte[] associatedData() {
            return ("agent-auth/connection/v2\0" + realmId + "\0" + userId + "\0" + connectionId + "\0" + connectorId + "\0"
                    + (subject == null ? "" : subject)).getBytes(StandardCharsets.UTF_8);
        }

        /** The associated data of rows written before the connector and subject were bound. */
        byte[] legacy() {
            return ("agent-auth/connection/v1\0" + realmId + "\0" + userId + "\0" + connectionId).getBytes(StandardCharsets.UTF_8);
        }
    }

    /** Prefix of a ciphertext in the current form. */
    public static final String CURRENT_FORM = "v2.";

    /** True when the stored ciphertext is in the current form (else re-encryption rewrites it). */
    public static boolean currentForm(String ciphertext) {
        return ciphertext != null && ciphertext.startsWith(CURRENT_FORM);
    }

    public static Sealed seal(KeyRing keys, Binding binding, String plaintext) {
        if (!keys.usable()) {
            throw new VaultKeyException("the vault has no encryption key configured");
        }
        try {
            byte[] nonce = new byte[NONCE_BYTES];
            RANDOM.nextBytes(nonce);
            Cipher c = AES_GCM.get();
            c.init(Cipher.ENCRYPT_MODE, keys.activeKey(), new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(binding.associatedData());
            byte[] ct = c.doFinal(plaintext.getBytes(StandardCharsets.UTF_8));
            ByteBuffer out = ByteBuffer.allocate(1 + NONCE_BYTES + ct.length);
            out.put(VERSION).put(nonce).put(ct);
            return new Sealed(keys.activeKeyId(), CURRENT_FORM + Base64.getEncoder().encodeToString(out.array()));
        } catch (GeneralSecurityException e) {
            throw new VaultKeyException("encryption failed: " + e.getClass().getSimpleName());
        }
    }

    public static String open(KeyRing keys, Binding binding, Sealed sealed) {
        SecretKey key = keys.key(sealed.keyId()).orElseThrow(() -> new VaultKeyException(
                keys.usable() ? "the vault key '" + sealed.keyId() + "' is not configured any more"
                        : "the vault has no encryption key configured"));
        boolean current = currentForm(sealed.ciphertext());
        byte[] aad = current ? binding.associatedData() : binding.legacy();
        byte[] all;
        try {
            all = Base64.getDecoder().decode(current ? sealed.ciphertext().substring(CURRENT_FORM.length()) : sealed.ciphertext());
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
            throw new VaultKeyException("stored ciphertext failed authentication (wrong key, or the row was moved or tampered with)");
        }
    }
}
