package org.agentauth.keycloak.delegation.exchange;

import org.keycloak.OAuthErrorException;
import org.keycloak.events.Errors;

/**
 * A refused delegation: an OAuth error code (RFC 6749 section 5.2 / RFC 8693 section 2.2.2), a description that is
 * safe to show to the client (it never contains a token) and the Keycloak event error to record.
 */
public class DelegationException extends RuntimeException {

    private final String error;
    private final String eventError;

    public DelegationException(String error, String description, String eventError) {
        super(description, null, false, false);
        this.error = error;
        this.eventError = eventError;
    }

    public static DelegationException invalidRequest(String description) {
        return new DelegationException(OAuthErrorException.INVALID_REQUEST, description, Errors.INVALID_REQUEST);
    }

    public static DelegationException invalidToken(String description) {
        return new DelegationException(OAuthErrorException.INVALID_REQUEST, description, Errors.INVALID_TOKEN);
    }

    public static DelegationException noConsent(String description) {
        return new DelegationException(OAuthErrorException.INVALID_REQUEST, description, Errors.CONSENT_DENIED);
    }

    public static DelegationException invalidScope(String description) {
        return new DelegationException(OAuthErrorException.INVALID_SCOPE, description, Errors.INVALID_REQUEST);
    }

    public static DelegationException invalidTarget(String description) {
        return new DelegationException(OAuthErrorException.INVALID_TARGET, description, Errors.INVALID_REQUEST);
    }

    public static DelegationException unauthorizedClient(String description) {
        return new DelegationException(OAuthErrorException.UNAUTHORIZED_CLIENT, description, Errors.NOT_ALLOWED);
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
}
