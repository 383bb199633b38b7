package org.agentauth.keycloak.vault.crypto;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * The vault's AES-256 keys, by key id, and the active one new ciphertexts use. Old keys stay for reading until every
 * row has been rewritten under the active key (rotation without data loss). Built once at start-up from the server
 * configuration; key material never comes from the database.
 */
public final class KeyRing {

    /** Where the keys came from. */
    public enum Source {
        /** Keys from the server configuration (SPI options, environment, config keystore). */
        CONFIGURED,
        /** No key configured, the server runs {@code start-dev}: a fixed development key. Never for production. */
        DEVELOPMENT,
        /** No key configured in production: the vault refuses to store or use tokens. */
        NONE
    }

    public static final String DEV_KEY_ID = "dev";

    private final Map<String, SecretKey> keys;
    private final String activeKeyId;
    private final Source source;

    private KeyRing(Map<String, SecretKey> keys, String activeKeyId, Source source) {
        this.keys = Collections.unmodifiableMap(keys);
        this.activeKeyId = activeKeyId;
        this.source = source;
    }

    public static KeyRing none() {
        return new KeyRing(new LinkedHashMap<>(), null, Source.NONE);
    }

    /** A key derived from a fixed text: anyone can compute it, which is the point of calling it a development key. */
    public static KeyRing development() {
        Map<String, SecretKey> m = new LinkedHashMap<>();
        m.put(DEV_KEY_ID, aes(sha256("keycloak-agent-auth development key: never use in production")));
        return new KeyRing(m, DEV_KEY_ID, Source.DEVELOPMENT);
    }

    /**
     * Parses {@code kid:base64key[,kid:base64key...]}: each key is 32 bytes (AES-256), base64 or base64url. The active
     * key is {@code activeKeyId}, or the first one listed when that is blank.
     *
     * @throws IllegalArgumentException with a message that names the key id, never the key
     */
    public static KeyRing parse(String spec, String activeKeyId) {
        Map<String, SecretKey> m = new LinkedHashMap<>();
        for (String entry : spec.split(",")) {
            String e = entry.trim();
            if (e.isEmpty()) {
                continue;
            }
            int colon = e.indexOf(':');
            if (colon <= 0 || colon == e.length() - 1) {
                throw new IllegalArgumentException("a vault key entry is not 'key-id:base64-key' (entry " + (m.size() + 1) + ")");
            }
            String kid = e.substring(0, colon).trim();
            if (!kid.matches("[A-Za-z0-9._-]{1,32}")) {
                throw new IllegalArgumentException("vault key id '" + safeKid(kid) + "' must be 1-32 letters, digits, '.', '_' or '-'");
            }
            byte[] raw;
            try {
                String b64 = e.substring(colon + 1).trim();
                raw = b64.contains("-") || b64.contains("_") ? Base64.getUrlDecoder().decode(b64) : Base64.getDecoder().decode(b64);
            } catch (IllegalArgumentException bad) {
                throw new IllegalArgumentException("vault key '" + kid + "' is not valid base64");
            }
            if (raw.length != 32) {
                throw new IllegalArgumentException("vault key '" + kid + "' has " + raw.length + " bytes; AES-256 needs 32");
            }
            if (m.put(kid, aes(raw)) != null) {
                throw new IllegalArgumentException("vault key id '" + kid + "' is listed twice");
            }
        }
        if (m.isEmpty()) {
            throw new IllegalArgumentException("no vault key given");
        }
        String active = activeKeyId == null || activeKeyId.isBlank() ? m.keySet().iterator().next() : activeKeyId.trim();
        if (!m.containsKey(active)) {
            throw new IllegalArgumentException("the active vault key '" + safeKid(active) + "' is not among the configured keys");
        }
        return new KeyRing(m, active, Source.CONFIGURED);
    }

    private static String safeKid(String kid) {
        return kid.length() > 32 ? kid.substring(0, 32) + "..." : kid;
    }

    public Source source() {
        return source;
    }

    public boolean usable() {
        return activeKeyId != null;
    }

    public String activeKeyId() {
        return activeKeyId;
    }

    Optional<SecretKey> key(String kid) {
        return Optional.ofNullable(kid == null ? null : keys.get(kid));
    }

    SecretKey activeKey() {
        return keys.get(activeKeyId);
    }

    public java.util.Set<String> keyIds() {
        return keys.keySet();
    }

    private static SecretKey aes(byte[] raw) {
        return new SecretKeySpec(raw, "AES");
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
