package org.agentauth.keycloak.admin;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.util.List;
import java.util.stream.Collectors;
import org.agentauth.keycloak.admin.AgentPolicyValidator.FieldError;
import org.keycloak.representations.idm.ErrorRepresentation;

/**
 * Reads the JSON bodies of the extension's admin REST API strictly, and answers a refusal the way Keycloak's own admin
 * API does (HTTP 400, {@link ErrorRepresentation}: {@code errorMessage}, {@code field}, {@code errors}).
 * <p>
 * Strict means: exactly one JSON object and nothing after it (no second document, no trailing garbage), no field twice,
 * no unknown field, and no silent type coercion (a number or boolean is not a string, {@code 3.5} is not {@code 3},
 * {@code "true"} is not {@code true}). A body that is refused is never partly applied. Pure logic: unit tested.
 */
final class AdminJson {

    private static final ObjectMapper STRICT = strictMapper();

    /** The value read, or why the body was refused. */
    record Parsed<T>(T value, List<FieldError> errors) {
        boolean ok() {
            return errors.isEmpty();
        }
    }

    private AdminJson() {
    }

    private static ObjectMapper strictMapper() {
        ObjectMapper m = JsonMapper.builder()
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                // (what follows the first value is checked by read() itself)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .build();
        m.coercionConfigFor(LogicalType.Textual)
                .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
        return m;
    }

    /**
     * @param what what the body is, for messages ("agent policy", "grant")
     */
    static <T> Parsed<T> read(String body, Class<T> type, String what) {
        if (body == null || body.isBlank()) {
            return refused(null, "A JSON " + what + " is required");
        }
        JsonNode tree;
        try (JsonParser p = STRICT.createParser(body)) {
            tree = STRICT.readTree(p);
            if (somethingAfter(p)) {
                return refused(null, "The body must be one JSON " + what + " with nothing after it");
            }
        } catch (JsonProcessingException e) {
            String duplicate = duplicateField(e);
            if (duplicate != null) {
                return refused(duplicate, "Field '" + duplicate + "' appears more than once");
            }
            return refused(null, "The body is not a valid JSON " + what + where(e.getLocation()));
        } catch (IOException e) {
            return refused(null, "The body is not a valid JSON " + what);
        }
        if (tree == null || !tree.isObject()) {
            return refused(null, "The body must be a JSON object (a " + what + ")");
        }
        try {
            return new Parsed<>(STRICT.treeToValue(tree, type), List.of());
        } catch (UnrecognizedPropertyException e) {
            return refused(e.getPropertyName(), "Unknown field '" + e.getPropertyName() + "'");
        } catch (JsonMappingException e) {
            String field = e.getPath().isEmpty() ? null : e.getPath().get(0).getFieldName();
            if (field == null) {
                return refused(null, "The body is not a valid JSON " + what);
            }
            int index = e.getPath().size() > 1 ? e.getPath().get(1).getIndex() : -1;
            return refused(field, "Invalid value for '" + field + "'"
                    + (index >= 0 ? ": entry " + (index + 1) + " is not a string" : ""));
        } catch (JsonProcessingException e) {
            // e.g. a number too large for its field
            return refused(null, "The body is not a valid JSON " + what + ": a value is out of range");
        }
    }

    /** Whether anything but whitespace follows the first JSON value (a second value, or text that is not JSON). */
    private static boolean somethingAfter(JsonParser p) throws IOException {
        try {
            return p.nextToken() != null;
        } catch (JsonProcessingException e) {
            return true;
        }
    }

    /** The field name of Jackson's duplicate-field refusal ({@code Duplicate field 'x'}), else null. */
    private static String duplicateField(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        String prefix = "Duplicate field '";
        if (m != null && m.startsWith(prefix) && m.indexOf('\'', prefix.length()) > 0) {
            return m.substring(prefix.length(), m.indexOf('\'', prefix.length()));
        }
        return null;
    }

    private static String where(JsonLocation l) {
        return l == null || l.getLineNr() < 1 ? "" : " (line " + l.getLineNr() + ", column " + l.getColumnNr() + ")";
    }

    private static <T> Parsed<T> refused(String field, String message) {
        return new Parsed<>(null, List.of(new FieldError(field, message)));
    }

    /** HTTP 400 with Keycloak's error representation; {@code field} is set when there is exactly one error. */
    static Response badRequest(List<FieldError> errors) {
        ErrorRepresentation error = new ErrorRepresentation();
        error.setErrorMessage(errors.stream().map(FieldError::message).collect(Collectors.joining("; ")));
        if (errors.size() == 1) {
            error.setField(errors.get(0).field());
        }
        error.setErrors(errors.stream().map(e -> new ErrorRepresentation(e.field(), e.message(), null)).toList());
        return Response.status(Response.Status.BAD_REQUEST).type(MediaType.APPLICATION_JSON).entity(error).build();
    }

    static Response badRequest(String field, String message) {
        return badRequest(List.of(new FieldError(field, message)));
    }
}
