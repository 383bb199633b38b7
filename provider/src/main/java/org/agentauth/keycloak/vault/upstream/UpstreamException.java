package org.agentauth.keycloak.vault.upstream;

/**
 * An upstream call that did not give a usable answer. The message names the connector, the endpoint and what went
 * wrong; never a token, a code or a secret.
 */
public class UpstreamException extends RuntimeException {

    /** What went wrong, which decides whether trying again can help. */
    public enum Kind {
        /** Refused before sending: the host is not allowed. */
        REFUSED,
        /** No connection, or no answer in time: worth a retry later. */
        UNAVAILABLE,
        /** 5xx: worth a retry later. */
        SERVER_ERROR,
        /** 4xx or an answer that is not what the protocol says: a retry will not help. */
        BAD_ANSWER
    }

    private final Kind kind;
    private final int status;

    public UpstreamException(Kind kind, int status, String message) {
        super(message);
        this.kind = kind;
        this.status = status;
    }

    public Kind kind() {
        return kind;
    }

    public int status() {
        return status;
    }

    public boolean transientFailure() {
        return kind == Kind.UNAVAILABLE || kind == Kind.SERVER_ERROR;
    }
}
