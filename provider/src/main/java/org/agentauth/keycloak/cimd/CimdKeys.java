package org.agentauth.keycloak.cimd;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.spec.ECFieldFp;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;

/**
 * The key set of a {@code private_key_jwt} metadata document (DESIGN section 11), from its {@code jwks} member or from
 * the document its {@code jwks_uri} names (fetched by us, with the document's own rules, never by Keycloak): a JSON
 * object whose {@code keys} are 1 to {@link #MAX_KEYS} public signing keys ({@code RSA}, {@code EC} or {@code OKP}) that
 * Keycloak can read. Refused: a symmetric ({@code oct}) key, and any private member ({@code d}, {@code p}, {@code q},
 * {@code dp}, {@code dq}, {@code qi}, {@code oth}, {@code k}): a document that publishes a private key is broken, and
 * what it says must not be stored. The key set kept is the one read, in a stable form, whose digest tells a changed key
 * set ({@link #digest}). Pure logic, JDK only (part of the fuzz target {@code CimdDocumentFuzzTest}).
 */
public final class CimdKeys {

    public static final int MAX_KEYS = 10;
    static final Set<String> PRIVATE_MEMBERS = Set.of("d", "p", "q", "dp", "dq", "qi", "oth", "k");
    static final Set<String> KEY_TYPES = Set.of("RSA", "EC", "OKP");

    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();

    private CimdKeys() {
    }

    /** Reads a key set fetched from a {@code jwks_uri}: one JSON object, no duplicate members. */
    public static String parse(byte[] body) throws CimdDocument.Refused {
        JsonNode set;
        try (JsonParser p = JSON.createParser(body)) {
            set = JSON.readTree(p);
            if (set != null && p.nextToken() != null) {
                throw new CimdDocument.Refused("the key set of jwks_uri must be one JSON object with nothing after it");
            }
        } catch (JsonProcessingException e) {
            throw new CimdDocument.Refused("the key set of jwks_uri is not valid JSON (or has a member twice)");
        } catch (IOException e) {
            throw new CimdDocument.Refused("the key set of jwks_uri is not valid JSON");
        }
        return publicKeySet(set, "the key set of jwks_uri");
    }

    /**
     * The key set in its stored form (compact JSON, members as given), or {@link CimdDocument.Refused} saying why it
     * cannot be used; {@code what} names it in the message ({@code jwks}, or the key set of {@code jwks_uri}).
     */
    public static String publicKeySet(JsonNode set, String what) throws CimdDocument.Refused {
        if (set == null || !set.isObject()) {
            throw new CimdDocument.Refused(what + " must be a JSON object with keys");
        }
        JsonNode keys = set.get("keys");
        if (keys == null || !keys.isArray() || keys.isEmpty()) {
            throw new CimdDocument.Refused(what + " must have keys (a non-empty array)");
        }
        if (keys.size() > MAX_KEYS) {
            throw new CimdDocument.Refused(what + " has more than " + MAX_KEYS + " keys");
        }
        ArrayNode kept = JSON.createArrayNode();
        boolean signing = false;
        for (JsonNode key : keys) {
            if (!key.isObject()) {
                throw new CimdDocument.Refused(what + ": each key must be a JSON object");
            }
            JsonNode kty = key.get("kty");
            if (kty == null || !kty.isTextual()) {
                throw new CimdDocument.Refused(what + ": each key must have a kty");
            }
            if (kty.textValue().equals("oct")) {
                throw new CimdDocument.Refused(what + " must not contain a symmetric (oct) key: only public keys");
            }
            if (!KEY_TYPES.contains(kty.textValue())) {
                throw new CimdDocument.Refused(what + ": key type must be RSA, EC or OKP");
            }
            for (String m : PRIVATE_MEMBERS) {
                if (key.has(m)) {
                    throw new CimdDocument.Refused(what + " must not contain private key members (such as d, p, q): only public keys");
                }
            }
            JsonNode use = key.get("use");
            if (use != null && !use.isTextual()) {
                throw new CimdDocument.Refused(what + ": use must be a string");
            }
            if (!readable(key)) {
                throw new CimdDocument.Refused(what + ": a key cannot be read as a public key");
            }
            signing |= use == null || use.textValue().equals("sig");
            kept.add(key);
        }
        if (!signing) {
            throw new CimdDocument.Refused(what + " has no key for signatures (use sig)");
        }
        ObjectNode out = JSON.createObjectNode();
        out.set("keys", kept);
        try {
            return JSON.writeValueAsString(out);
        } catch (JsonProcessingException e) {
            throw new CimdDocument.Refused(what + " cannot be stored");
        }
    }

    /**
     * Whether the JDK reads the key as a public key: RSA ({@code n}, {@code e}), EC on P-256, P-384 or P-521 ({@code x},
     * {@code y} on the curve), OKP Ed25519 or Ed448 ({@code x} of the curve's length). Done with the JDK alone, so that it
     * is the same in the server, in unit tests and in the fuzz target (Keycloak's {@code JWKParser} needs its crypto
     * provider initialized).
     */
    static boolean readable(JsonNode key) {
        try {
            switch (key.path("kty").asText()) {
                case "RSA" -> {
                    BigInteger n = unsigned(key, "n");
                    BigInteger e = unsigned(key, "e");
                    if (n.bitLength() < 1024 || e.signum() <= 0) {
                        return false;
                    }
                    KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(n, e));
                    return true;
                }
                case "EC" -> {
                    String curve = switch (key.path("crv").asText()) {
                        case "P-256" -> "secp256r1";
                        case "P-384" -> "secp384r1";
                        case "P-521" -> "secp521r1";
                        default -> null;
                    };
                    if (curve == null) {
                        return false;
                    }
                    AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
                    params.init(new ECGenParameterSpec(curve));
                    ECParameterSpec spec = params.getParameterSpec(ECParameterSpec.class);
                    ECPoint w = new ECPoint(unsigned(key, "x"), unsigned(key, "y"));
                    if (!onCurve(spec, w)) {
                        return false;
                    }
                    KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, spec));
                    return true;
                }
                case "OKP" -> {
                    int length = switch (key.path("crv").asText()) {
                        case "Ed25519" -> 32;
                        case "Ed448" -> 57;
                        default -> -1;
                    };
                    return length > 0 && bytes(key, "x").length == length;
                }
                default -> {
                    return false;
                }
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean onCurve(ECParameterSpec spec, ECPoint w) {
        if (!(spec.getCurve().getField() instanceof ECFieldFp field)) {
            return false;
        }
        BigInteger p = field.getP();
        BigInteger x = w.getAffineX();
        BigInteger y = w.getAffineY();
        if (x.signum() < 0 || y.signum() < 0 || x.compareTo(p) >= 0 || y.compareTo(p) >= 0) {
            return false;
        }
        BigInteger left = y.multiply(y).mod(p);
        BigInteger right = x.pow(3).add(spec.getCurve().getA().multiply(x)).add(spec.getCurve().getB()).mod(p);
        return left.equals(right);
    }

    private static byte[] bytes(JsonNode key, String member) {
        JsonNode v = key.get(member);
        if (v == null || !v.isTextual() || v.textValue().isEmpty() || v.textValue().length() > 2048) {
            throw new IllegalArgumentException(member);
        }
        return Base64.getUrlDecoder().decode(v.textValue());
    }

    private static BigInteger unsigned(JsonNode key, String member) {
        return new BigInteger(1, bytes(key, member));
    }

    /** The digest of a stored key set ({@code null}: none, a public client), to tell a changed key set. */
    public static String digest(String keySet) {
        if (keySet == null) {
            return "none";
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(keySet.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
