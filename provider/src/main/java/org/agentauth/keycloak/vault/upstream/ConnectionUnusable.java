package org.agentauth.keycloak.vault.upstream;

/** A connection whose upstream token cannot be had now. The message never contains a token. */
public class ConnectionUnusable extends RuntimeException {

    public enum Reason {
        /** The user must connect again (the upstream refused the refresh token, or the connection is not ACTIVE). */
        RECONNECT,
        /** The upstream did not answer usefully; the connection is kept and will be retried. */
        UPSTREAM_UNAVAILABLE,
        /** The vault has no usable key for this row. */
        VAULT_LOCKED
    }

    private final Reason reason;

    public ConnectionUnusable(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
