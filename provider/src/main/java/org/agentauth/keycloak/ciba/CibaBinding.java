package org.agentauth.keycloak.ciba;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The pure rules of a CIBA request for an agent (DESIGN section 12): which request parameter names are refused, what
 * is kept inside the encrypted {@code auth_req_id}, and what an {@code authorization_details} value may be.
 *
 * <p>Keycloak keeps the request's unknown parameters inside the encrypted {@code auth_req_id}, next to its own claims:
 * a parameter may never bear the name of one of those claims or of our stash ({@link #reserved}), and the backchannel
 * endpoint refuses a request that has one.
 */
public final class CibaBinding {

    public static final String REQUESTED_ACTOR = "requested_actor";
    public static final String RESOURCE = "resource";
    public static final String AUTHORIZATION_DETAILS = "authorization_details";
    public static final String MAX_AGE = "max_age";

    /** Prefix of what we keep in the {@code auth_req_id} (other claims): never a request parameter. */
    public static final String STASH_PREFIX = "agent_auth_";
    /** The agent's client_id, for a request with {@code requested_actor}. */
    public static final String STASH_ACTOR = STASH_PREFIX + "actor";
    /** The RFC 8707 resources asked for, space separated. */
    public static final String STASH_RESOURCE = STASH_PREFIX + "resource";
    /** The id of our pending row. */
    public static final String STASH_REQUEST = STASH_PREFIX + "request";
    /** Approval parameter (the device-code entry's additional params): the grant the user approved. */
    public static final String APPROVED_GRANT = STASH_PREFIX + "grant";
    /** Keycloak's prefixes of the client-session notes it makes of both at token time. */
    public static final String REQUEST_NOTE_PREFIX = "ciba_backchannel_request_param_";
    public static final String CALLBACK_NOTE_PREFIX = "ciba_callback_response_param_";

    /** The {@code authorization_details} type an agent uses to describe the action it asks approval for. */
    public static final String ACTION_TYPE = "agent_action";
    public static final int MAX_DESCRIPTION = 1000;
    public static final int MAX_DETAILS_LENGTH = 4096;

    /** Names of claims of Keycloak's {@code CIBAAuthenticationRequest} and of every JWT, and of token markers. */
    private static final Set<String> CLAIMS = Set.of("jti", "exp", "nbf", "iat", "iss", "aud", "sub", "typ", "azp", "sid",
            "nonce", "scope", "auth_result_id", "binding_message", "acr_values", "act", "may_act", "auth_time",
            "session_state", "cnf", "client_id");

    private static final ObjectMapper JSON = new ObjectMapper();

    private CibaBinding() {
    }

    /** Whether a request parameter of this name would replace a claim of the {@code auth_req_id} or our stash. */
    public static boolean reserved(String name) {
        String n = name == null ? "" : name.toLowerCase(Locale.ROOT);
        return CLAIMS.contains(n) || n.startsWith(STASH_PREFIX);
    }

    /** The first reserved name among {@code names}, or null. */
    public static String firstReserved(Iterable<String> names) {
        for (String n : names) {
            if (reserved(n)) {
                return n;
            }
        }
        return null;
    }

    /**
     * The description of an {@code authorization_details} value (RFC 9396): a JSON array of exactly one object of type
     * {@value #ACTION_TYPE} whose {@code description} is a non-blank string of at most {@value #MAX_DESCRIPTION}
     * characters without control characters. Other members are ignored.
     *
     * @throws IllegalArgumentException with a client-safe description otherwise
     */
    public static String actionDescription(String raw) {
        if (raw == null || raw.isBlank()) {
            throw new IllegalArgumentException("authorization_details is empty");
        }
        if (raw.length() > MAX_DETAILS_LENGTH) {
            throw new IllegalArgumentException("authorization_details is longer than " + MAX_DETAILS_LENGTH + " characters");
        }
        JsonNode node;
        try {
            node = JSON.readTree(raw);
        } catch (Exception e) {
            throw new IllegalArgumentException("authorization_details is not valid JSON");
        }
        if (node == null || !node.isArray() || node.size() != 1 || !node.get(0).isObject()) {
            throw new IllegalArgumentException("authorization_details must be a JSON array with one object");
        }
        JsonNode detail = node.get(0);
        JsonNode type = detail.get("type");
        if (type == null || !type.isTextual() || !ACTION_TYPE.equals(type.asText())) {
            throw new IllegalArgumentException("authorization_details type must be " + ACTION_TYPE);
        }
        JsonNode description = detail.get("description");
        if (description == null || !description.isTextual() || description.asText().isBlank()) {
            throw new IllegalArgumentException("authorization_details needs a description");
        }
        String text = description.asText().strip();
        if (text.length() > MAX_DESCRIPTION) {
            throw new IllegalArgumentException("authorization_details description is longer than " + MAX_DESCRIPTION + " characters");
        }
        if (text.chars().anyMatch(c -> Character.isISOControl(c) && c != '\n')) {
            throw new IllegalArgumentException("authorization_details description contains control characters");
        }
        return text;
    }

    /** {@code max_age} as sent (seconds, 0 = always a fresh sign-in), or null; refused when not a number. */
    public static Integer maxAge(String raw) {
        if (raw == null) {
            return null;
        }
        if (!raw.matches("\\d{1,9}")) {
            throw new IllegalArgumentException("max_age must be a number of seconds");
        }
        return Integer.valueOf(raw);
    }

    /** A stashed value of the {@code auth_req_id}'s other claims, as a string (null when absent). */
    public static String stashed(Map<String, Object> otherClaims, String key) {
        Object v = otherClaims == null ? null : otherClaims.get(key);
        return v == null ? null : v.toString();
    }

    /** Resources as stashed: space separated, each already normalized. */
    public static List<String> resources(String stashed) {
        return stashed == null || stashed.isBlank() ? List.of() : List.of(stashed.trim().split(" "));
    }
}
