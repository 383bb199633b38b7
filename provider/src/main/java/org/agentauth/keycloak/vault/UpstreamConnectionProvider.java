package org.agentauth.keycloak.vault;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.keycloak.models.RealmModel;
import org.keycloak.provider.Provider;

/**
 * Storage of connections ({@link UpstreamConnectionSpi}), one per session:
 * {@code session.getProvider(UpstreamConnectionProvider.class)}. Works in the session's transaction; the refresh engine
 * (ConnectionTokens) calls it from short transactions of its own. Tokens are encrypted here with the vault's
 * active key ({@link VaultSettings}) and associated data binding them to realm, user and connection; a caller sees them
 * only as a {@link TokenSet}. A connection goes with its user, its connector and its realm: the factory's removal
 * listeners see to that.
 */
public interface UpstreamConnectionProvider extends Provider {

    Optional<UpstreamConnection> byId(RealmModel realm, String id);

    /** A user's connections (all connectors), newest first. */
    List<UpstreamConnection> listForUser(RealmModel realm, String userId);

    /** A user's connections on one connector, newest first. */
    List<UpstreamConnection> listForUser(RealmModel realm, String userId, String connectorId);

    /**
     * A user's connections on one connector, newest first, for serving a brokered call (proxy, vault exchange): possibly
     * from this node's cache, which never holds a row changed or removed since (every write here drops it on every node
     * before the writing request answers). {@link #tokens} opens the tokens of a connection handed out here without
     * another read.
     */
    List<UpstreamConnection> forUse(RealmModel realm, String userId, String connectorId);

    /**
     * Stores the tokens of a freshly linked account: a new ACTIVE connection, or, when the user already linked this
     * upstream account ({@code subject}) on the connector, that connection with the new tokens, its scopes added to, and
     * ACTIVE again.
     */
    UpstreamConnection link(RealmModel realm, String userId, String connectorId, String subject, String label,
            Set<String> scopes, TokenSet tokens);

    /** The decrypted tokens; throws {@link org.agentauth.keycloak.vault.crypto.TokenCipher.VaultKeyException}. */
    TokenSet tokens(RealmModel realm, UpstreamConnection connection);

    /**
     * Takes the refresh lease: succeeds for one caller only, by a version check (whichever node it runs on), and only
     * when no other lease is running.
     *
     * @return the connection with the lease, or empty when another caller holds it or the row changed
     */
    Optional<UpstreamConnection> takeLease(RealmModel realm, UpstreamConnection seen, long leaseUntil);

    /** Saves refreshed tokens and ends the lease. False when the lease was lost (the row changed meanwhile). */
    boolean saveRefreshed(RealmModel realm, UpstreamConnection leased, TokenSet tokens, Set<String> scopes);

    /** Ends the lease with the connection EXPIRED (the upstream refused its refresh token). */
    boolean expire(RealmModel realm, UpstreamConnection leased);

    /** Ends the lease without a change, so another caller may try again after {@code retryAt} (epoch ms). */
    void releaseLease(RealmModel realm, UpstreamConnection leased, long retryAt);

    /** Marks every ACTIVE connection of the connector EXPIRED; returns how many. */
    int expireForConnector(RealmModel realm, String connectorId);

    /** Notes that the connection was used just now (coarse, never fails the request). */
    void touch(UpstreamConnection connection);

    /**
     * Rewrites up to {@code max} rows not under the active key or not in the current ciphertext form (whose associated
     * data does not bind the connector and subject yet); returns how many it rewrote.
     */
    int reencrypt(RealmModel realm, int max);

    /** How many connections of the realm re-encryption would rewrite: under another key, or in the older form. */
    long countNotUnderActiveKey(RealmModel realm);

    boolean delete(RealmModel realm, String id);

    int deleteForUser(RealmModel realm, String userId);

    int deleteForConnector(RealmModel realm, String connectorId);

    int deleteForRealm(String realmId);
}
