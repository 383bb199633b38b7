package org.agentauth.keycloak.cimd;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A client ID metadata document, read by the rules of DESIGN section 11: one JSON object; {@code client_id} equal to
 * the URL it was fetched from, exactly; {@code client_name} and {@code redirect_uris} required; unknown members ignored
 * (documents carry many: {@code logo_uri}, {@code client_uri}, vendor members); no client secret; the token endpoint
 * authentication method {@code none} (a public client) or {@code private_key_jwt}, which then requires exactly one of
 * {@code jwks} (public keys only, {@link CimdKeys}) and {@code jwks_uri} (an https URL by the rules of a client id,
 * {@link CimdUrl}, fetched later by the caller with the document's own rules); {@code grant_types}, where present,
 * must include {@code authorization_code}, and any grant other than that and {@code refresh_token} is ignored. Pure
 * logic (the fuzz target {@code CimdDocumentFuzzTest}).
 *
 * @param clientName the name the document declares for itself: never verified, shown as self-declared
 * @param redirectUris the document's redirect URIs, in its order, without duplicates
 * @param jwks for {@code private_key_jwt} with {@code jwks}: the key set in its stored form; else null
 * @param jwksUri for {@code private_key_jwt} with {@code jwks_uri}: that URL, still to be fetched; else null
 */
public record CimdDocument(String clientId, String clientName, List<String> redirectUris, String jwks, String jwksUri) {

    /** A public client's document ({@code token_endpoint_auth_method} {@code none}). */
    public CimdDocument(String clientId, String clientName, List<String> redirectUris) {
        this(clientId, clientName, redirectUris, null, null);
    }

    /** Whether the client authenticates at the token endpoint with a JWT signed by its key ({@code private_key_jwt}). */
    public boolean privateKeyJwt() {
        return jwks != null || jwksUri != null;
    }

    /** The same document with the key set fetched from its {@code jwks_uri}. */
    public CimdDocument withKeys(String keySet) {
        return new CimdDocument(clientId, clientName, redirectUris, keySet, jwksUri);
    }

    public static final int MAX_NAME_LENGTH = 100;
    public static final int MAX_REDIRECTS = 20;

    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();

    /** Why a document was refused; the message is safe to show (it never quotes the document beyond its own URL). */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message, null, false, false);
        }
    }

    /** Reads the document fetched from {@code url}, or {@link Refused} saying why it cannot be used. */
    public static CimdDocument parse(String url, byte[] body) throws Refused {
        JsonNode doc;
        try (JsonParser p = JSON.createParser(body)) {
            doc = JSON.readTree(p);
            if (doc != null && p.nextToken() != null) {
                throw new Refused("the document must be one JSON object with nothing after it");
            }
        } catch (JsonProcessingException e) {
            throw new Refused("the document is not valid JSON (or has a member twice)");
        } catch (IOException e) {
            throw new Refused("the document is not valid JSON");
        }
        if (doc == null || !doc.isObject()) {
            throw new Refused("the document must be a JSON object");
        }
        JsonNode id = doc.get("client_id");
        if (id == null || !id.isTextual() || !id.textValue().equals(url)) {
            throw new Refused("client_id must equal the URL of the document exactly");
        }
        JsonNode name = doc.get("client_name");
        if (name == null || !name.isTextual() || name.textValue().isBlank()) {
            throw new Refused("the document must have a client_name");
        }
        String clientName = name.textValue().strip();
        if (clientName.codePointCount(0, clientName.length()) > MAX_NAME_LENGTH) {
            throw new Refused("the client_name of the document is longer than " + MAX_NAME_LENGTH + " characters");
        }
        if (clientName.codePoints().anyMatch(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                || Character.getType(c) == Character.LINE_SEPARATOR || Character.getType(c) == Character.PARAGRAPH_SEPARATOR)) {
            throw new Refused("the client_name of the document contains control or formatting characters");
        }
        if (doc.has("client_secret") || doc.has("client_secret_expires_at")) {
            throw new Refused("the document must not contain a client secret");
        }
        JsonNode method = doc.get("token_endpoint_auth_method");
        boolean keyed = method != null && method.isTextual() && method.textValue().equals("private_key_jwt");
        if (method != null && !keyed && !(method.isTextual() && method.textValue().equals("none"))) {
            throw new Refused("token_endpoint_auth_method must be none or private_key_jwt (no client secrets)");
        }
        JsonNode jwksNode = doc.get("jwks");
        JsonNode jwksUriNode = doc.get("jwks_uri");
        if (jwksNode != null && jwksNode.isNull()) {
            jwksNode = null;
        }
        if (jwksUriNode != null && jwksUriNode.isNull()) {
            jwksUriNode = null;
        }
        String jwks = null;
        if (jwksNode != null) {
            // checked whatever the method: a document that publishes a private key is refused, not merely ignored
            jwks = CimdKeys.publicKeySet(jwksNode, "jwks");
        }
        String jwksUri = null;
        if (jwksUriNode != null) {
            if (!jwksUriNode.isTextual()) {
                throw new Refused("jwks_uri must be a string");
            }
            String why = CimdUrl.refusal(jwksUriNode.textValue());
            if (why != null) {
                throw new Refused(why.replace("client_id", "jwks_uri"));
            }
            jwksUri = jwksUriNode.textValue();
        }
        if (keyed && (jwks == null) == (jwksUri == null)) {
            throw new Refused("token_endpoint_auth_method private_key_jwt requires exactly one of jwks and jwks_uri");
        }
        if (!keyed) {
            jwks = null; // a public client: keys it lists are not used
            jwksUri = null;
        }
        JsonNode grants = doc.get("grant_types");
        if (grants != null) {
            if (!grants.isArray()) {
                throw new Refused("grant_types must be an array");
            }
            boolean code = false;
            for (JsonNode g : grants) {
                code |= g.isTextual() && g.textValue().equals("authorization_code");
            }
            if (!code) {
                throw new Refused("grant_types must include authorization_code");
            }
        }
        JsonNode redirects = doc.get("redirect_uris");
        if (redirects == null || !redirects.isArray() || redirects.isEmpty()) {
            throw new Refused("the document must have redirect_uris (a non-empty array)");
        }
        if (redirects.size() > MAX_REDIRECTS) {
            throw new Refused("the document has more than " + MAX_REDIRECTS + " redirect_uris");
        }
        Set<String> uris = new LinkedHashSet<>();
        for (JsonNode r : redirects) {
            if (!r.isTextual()) {
                throw new Refused("redirect_uris must be strings");
            }
            String why = CimdRedirects.refusal(r.textValue());
            if (why != null) {
                throw new Refused(why);
            }
            uris.add(r.textValue());
        }
        return new CimdDocument(url, clientName, List.copyOf(new ArrayList<>(uris)), jwks, jwksUri);
    }
}
