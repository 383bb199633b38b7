package org.agentauth.keycloak.support;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Errors;
import org.keycloak.services.cors.Cors;

/**
 * The extension's one protocol error: an OAuth error code (RFC 6749 section 5.2, RFC 8693 section 2.2.2), a description
 * that is safe to show to the client (never a token or secret), the Keycloak {@link Errors} value its event records,
 * the HTTP status, and optional extra JSON members (the vault's {@code connection_required} carries
 * {@code connect_uri}). Thrown by the features, turned into a response where they meet Keycloak's endpoints.
 */
public class ProtocolError extends RuntimeException {

    private final String error;
    private final String eventError;
    private final Response.Status status;
    private final Map<String, Object> extra;

    public ProtocolError(String error, String description, String eventError, Response.Status status, Map<String, Object> extra) {
        super(description, null, false, false);
        this.error = error;
        this.eventError = eventError;
        this.status = status;
        this.extra = extra == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    public ProtocolError(String error, String description, String eventError) {
        this(error, description, eventError, OAuthErrorException.INVALID_CLIENT.equals(error) ? Response.Status.UNAUTHORIZED
                : Response.Status.BAD_REQUEST, null);
    }

    public static ProtocolError invalidRequest(String description) {
        return new ProtocolError(OAuthErrorException.INVALID_REQUEST, description, Errors.INVALID_REQUEST);
    }

    /** An invalid, expired, replayed or foreign token: {@code invalid_request} (RFC 8693 section 2.2.2). */
    public static ProtocolError invalidToken(String description) {
        return new ProtocolError(OAuthErrorException.INVALID_REQUEST, description, Errors.INVALID_TOKEN);
    }

    public static ProtocolError noConsent(String description) {
        return new ProtocolError(OAuthErrorException.INVALID_REQUEST, description, Errors.CONSENT_DENIED);
    }

    public static ProtocolError invalidScope(String description) {
        return new ProtocolError(OAuthErrorException.INVALID_SCOPE, description, Errors.INVALID_REQUEST);
    }

    public static ProtocolError invalidTarget(String description) {
        return new ProtocolError(OAuthErrorException.INVALID_TARGET, description, Errors.INVALID_REQUEST);
    }


    public static ProtocolError unauthorizedClient(String description) {
        return new ProtocolError(OAuthErrorException.UNAUTHORIZED_CLIENT, description, Errors.NOT_ALLOWED);
    }

    /** The same error with another OAuth error code (e.g. every actor failure at the code grant is {@code invalid_grant}). */
    public ProtocolError as(String otherError) {
        return new ProtocolError(otherError, description(), eventError, status, extra);
    }

    /** The same error with extra JSON members in the response body. */
    public ProtocolError with(String member, Object value) {
        Map<String, Object> m = new LinkedHashMap<>(extra);
        m.put(member, value);
        return new ProtocolError(error, description(), eventError, status, m);
    }

    /** The OAuth error code. */
    public String error() {
        return error;
    }

    /** The error description, without any token. */
    public String description() {
        return getMessage();
    }

    /** The {@link Errors} value for the event. */
    public String eventError() {
        return eventError;
    }

    public Response.Status status() {
        return status;
    }

    public Map<String, Object> extra() {
        return extra;
    }

    /** The JSON body: {@code error}, {@code error_description} and the extra members. */
    public Map<String, Object> body() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", error);
        m.put("error_description", description());
        m.putAll(extra);
        return m;
    }

    /** The HTTP response, with the request's CORS headers where there are any. */
    public Response toResponse(Cors cors) {
        Response.ResponseBuilder b = Response.status(status).type(MediaType.APPLICATION_JSON_TYPE).entity(body());
        return cors == null ? b.build() : cors.add(b);
    }
}
