package org.agentauth.keycloak.vault;

import java.util.Set;

/**
 * A connection (DESIGN section 2): one user's linked upstream account on one connector. Holds no token: the tokens are
 * read through {@link UpstreamConnectionProvider#tokens}.
 *
 * @param subject the upstream account's stable id (userinfo {@code sub}, else its id)
 * @param label what the user recognises the account by ({@code preferred_username}, {@code email}, else {@code sub})
 * @param accessExpiresAt epoch ms, null when unknown
 * @param leaseUntil epoch ms until which one caller holds the refresh lease, null when none
 * @param version row version: a lease is taken by a version check
 */
public record UpstreamConnection(String id, String realmId, String userId, String connectorId, String subject, String label,
        Set<String> scopes, Status status, long createdAt, long updatedAt, Long lastUsedAt, Long accessExpiresAt,
        Long refreshExpiresAt, boolean refreshable, String keyId, Long leaseUntil, int version) {

    public enum Status {
        ACTIVE, EXPIRED, REVOKED
    }

    public boolean active() {
        return status == Status.ACTIVE;
    }
}
