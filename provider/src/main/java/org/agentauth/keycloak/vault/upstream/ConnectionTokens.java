package org.agentauth.keycloak.vault.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.TokenSet;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.crypto.TokenCipher.VaultKeyException;
import org.jboss.logging.Logger;
import org.keycloak.common.util.Time;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.KeycloakModelUtils;

/**
 * The refresh engine (DESIGN section 5): hands out a connection's upstream access token, refreshing it shortly before
 * it expires. At most one refresh per connection runs at a time across the cluster: the caller that wins the lease (a
 * version check on the row, {@link UpstreamConnectionProvider#takeLease}) refreshes; the others wait for its result
 * and get the fresh token. Lease, upstream call and save are three steps, the first and last each in a short
 * transaction of its own; no transaction is open during the upstream call. The rotated refresh token is saved before
 * the new access token is used. {@code invalid_grant} marks the connection EXPIRED, and so does a refresh answer that
 * names another upstream account than the connection's (ID token {@code sub}, else the userinfo subject; OpenID Connect
 * Core 12.2), whose tokens are not stored; timeouts and 5xx keep the working token and try again after a back-off.
 */
public final class ConnectionTokens {

    private static final Logger LOG = Logger.getLogger(ConnectionTokens.class);

    /** Refresh when less than this is left of the access token's life. */
    static final long REFRESH_BEFORE_EXPIRY_MILLIS = 30_000;
    private static final long POLL_MILLIS = 100;
    private static final long MAX_BACKOFF_MILLIS = 60_000;

    /** Per node: failed refresh attempts in a row, for the back-off. */
    private static final ConcurrentHashMap<String, Integer> FAILURES = new ConcurrentHashMap<>();

    private ConnectionTokens() {
    }

    /** The connection and its decrypted tokens, read in one short transaction. */
    private record Read(UpstreamConnection connection, TokenSet tokens) {
    }

    /**
     * The connection's usable upstream tokens (the access token and its expiry; read or just refreshed).
     *
     * @param justRead the connection as the caller read it in this request (from the database, or through
     *        {@link UpstreamConnectionProvider#forUse} from the node's cache, which holds no row changed since)
     * @throws ConnectionUnusable when there is none now
     */
    public static TokenSet tokens(KeycloakSession session, RealmModel realm, Connector connector, UpstreamConnection justRead) {
        // The common case without another transaction: the row the caller has just read in this request (from the
        // database or the node's cache of rows, never older than the last write) is active and its access token is not
        // due for refresh.
        if (justRead.active()) {
            TokenSet t = open(session.getProvider(UpstreamConnectionProvider.class), realm, justRead);
            if (fresh(t, Time.currentTimeMillis())) {
                return t;
            }
        }
        String connectionId = justRead.id();
        KeycloakSessionFactory factory = session.getKeycloakSessionFactory();
        long deadline = Time.currentTimeMillis() + leaseMillis(connector);
        while (true) {
            Read r = read(factory, realm, connectionId);
            UpstreamConnection c = r.connection();
            long now = Time.currentTimeMillis();
            if (!c.active()) {
                throw new ConnectionUnusable(ConnectionUnusable.Reason.RECONNECT, "connection " + c.id() + " is " + c.status());
            }
            if (fresh(r.tokens(), now)) {
                return r.tokens();
            }
            if (!r.tokens().hasRefreshToken()) {
                if (stillValid(r.tokens(), now)) {
                    return r.tokens();
                }
                expireWithoutLease(factory, realm, c);
                throw new ConnectionUnusable(ConnectionUnusable.Reason.RECONNECT, "connection " + c.id() + " expired and has no refresh token");
            }
            boolean leaseFree = c.leaseUntil() == null || c.leaseUntil() < now;
            if (leaseFree) {
                Optional<UpstreamConnection> leased = inTransaction(factory,
                        s -> s.getProvider(UpstreamConnectionProvider.class).takeLease(realm, c, now + leaseMillis(connector)));
                if (leased.isPresent()) {
                    return refresh(session, factory, realm, connector, leased.get(), r.tokens());
                }
                // another caller (on this node or another) won the lease: wait for its result
            } else if (now >= deadline) {
                if (stillValid(r.tokens(), now)) {
                    return r.tokens();
                }
                throw new ConnectionUnusable(ConnectionUnusable.Reason.UPSTREAM_UNAVAILABLE,
                        "the refresh of connection " + c.id() + " is still running or backing off");
            }
            sleep();
        }
    }

    private static TokenSet refresh(KeycloakSession session, KeycloakSessionFactory factory, RealmModel realm, Connector connector,
            UpstreamConnection leased, TokenSet old) {
        UpstreamClient.Tokens answer;
        try {
            answer = new UpstreamClient(session, connector).refresh(old.refreshToken());
        } catch (UpstreamClient.OAuthError e) {
            if ("invalid_grant".equals(e.error())) {
                boolean expired = inTransaction(factory, s -> s.getProvider(UpstreamConnectionProvider.class).expire(realm, leased));
                FAILURES.remove(leased.id());
                LOG.debugf("connection %s: the upstream refused its refresh token; marked EXPIRED (%s)", leased.id(), expired);
                throw new ConnectionUnusable(ConnectionUnusable.Reason.RECONNECT,
                        "the upstream refused the refresh token of connection " + leased.id() + ": connect again");
            }
            return backOff(factory, realm, leased, old, e);
        } catch (UpstreamException e) {
            return backOff(factory, realm, leased, old, e);
        }
        FAILURES.remove(leased.id());
        String otherAccount = otherAccount(session, connector, leased, answer);
        if (otherAccount != null) {
            // OpenID Connect Core 12.2: a refresh answer for another subject is no answer for this connection; like
            // invalid_grant, the connection needs a new connect, and the tokens of that other account are not kept
            boolean expired = inTransaction(factory, s -> s.getProvider(UpstreamConnectionProvider.class).expire(realm, leased));
            String why = "the upstream's refresh answer names another account than the connection's (" + otherAccount + ")";
            new EventBuilder(realm, session, session.getContext().getConnection())
                    .event(EventType.IDENTITY_PROVIDER_RETRIEVE_TOKEN)
                    .user(leased.userId())
                    .detail(AgentAuthEvents.OPERATION, "refresh")
                    .detail(AgentAuthEvents.CONNECTOR, connector.alias())
                    .detail(AgentAuthEvents.CONNECTION_ID, leased.id())
                    .detail(Details.REASON, why + "; marked EXPIRED, the new tokens were not stored")
                    .error(Errors.INVALID_TOKEN);
            LOG.debugf("connection %s: %s; marked EXPIRED (%s)", leased.id(), why, expired);
            throw new ConnectionUnusable(ConnectionUnusable.Reason.RECONNECT, why + " for connection " + leased.id() + ": connect again");
        }
        Set<String> scopes = answer.grantedScope() != null && !answer.grantedScope().isEmpty() ? answer.grantedScope() : leased.scopes();
        boolean saved = inTransaction(factory,
                s -> s.getProvider(UpstreamConnectionProvider.class).saveRefreshed(realm, leased, answer.tokens(), scopes));
        if (!saved) {
            // the lease ran out and the row changed meanwhile (revoked, or another refresh): the fresh token is still good
            LOG.debugf("connection %s: refreshed, but the row changed meanwhile; not saved", leased.id());
        }
        return answer.tokens();
    }

    /**
     * Null when the refresh answer is for the connection's upstream account; else what names another one: the ID
     * token's {@code sub} (missing or different), or, without an ID token, the subject the userinfo endpoint names for
     * the new access token. An upstream that cannot be asked now (network, 5xx) does not disprove the account: the
     * refreshed tokens are kept, since a rotated refresh token may have replaced the old one.
     */
    static String otherAccount(KeycloakSession session, Connector connector, UpstreamConnection leased, UpstreamClient.Tokens answer) {
        if (leased.subject() == null) {
            return null;
        }
        JsonNode id = answer.idTokenClaims();
        if (id != null) {
            JsonNode sub = id.get("sub");
            String subject = sub != null && sub.isTextual() ? sub.asText() : null;
            return leased.subject().equals(subject) ? null : subject == null ? "the new ID token has no sub" : "the new ID token's sub differs";
        }
        if (connector.userinfoUrl() == null) {
            return null;
        }
        try {
            String subject = UpstreamClient.accountSubject(new UpstreamClient(session, connector).userinfo(answer.tokens().accessToken()));
            return leased.subject().equals(subject) ? null
                    : subject == null ? "userinfo names no subject for the new access token" : "userinfo names another subject for the new access token";
        } catch (UpstreamException e) {
            if (e.kind() == UpstreamException.Kind.BAD_ANSWER || e.kind() == UpstreamException.Kind.REFUSED) {
                return "userinfo refused the new access token (" + e.status() + ")";
            }
            LOG.debugf("connection %s: the refreshed account could not be checked now (%s); tokens kept", leased.id(), e.getMessage());
            return null;
        }
    }

    private static TokenSet backOff(KeycloakSessionFactory factory, RealmModel realm, UpstreamConnection leased, TokenSet old,
            UpstreamException e) {
        int failures = FAILURES.merge(leased.id(), 1, Integer::sum);
        long wait = Math.min(MAX_BACKOFF_MILLIS, 1000L << Math.min(failures - 1, 6));
        long now = Time.currentTimeMillis();
        inTransaction(factory, s -> {
            s.getProvider(UpstreamConnectionProvider.class).releaseLease(realm, leased, now + wait);
            return null;
        });
        LOG.debugf("connection %s: refresh failed (%s); next try in %d ms", leased.id(), e.getMessage(), wait);
        if (stillValid(old, now)) {
            return old;
        }
        throw new ConnectionUnusable(ConnectionUnusable.Reason.UPSTREAM_UNAVAILABLE, e.getMessage());
    }

    private static void expireWithoutLease(KeycloakSessionFactory factory, RealmModel realm, UpstreamConnection c) {
        inTransaction(factory, s -> {
            UpstreamConnectionProvider p = s.getProvider(UpstreamConnectionProvider.class);
            p.takeLease(realm, c, Time.currentTimeMillis() + 1000).ifPresent(l -> p.expire(realm, l));
            return null;
        });
    }

    private static Read read(KeycloakSessionFactory factory, RealmModel realm, String id) {
        return inTransaction(factory, s -> {
            UpstreamConnectionProvider p = s.getProvider(UpstreamConnectionProvider.class);
            UpstreamConnection c = p.byId(realm, id).orElseThrow(
                    () -> new ConnectionUnusable(ConnectionUnusable.Reason.RECONNECT, "connection " + id + " is gone"));
            return new Read(c, open(p, realm, c));
        });
    }

    /** The connection's decrypted tokens; a vault that cannot decrypt them makes the connection unusable for now. */
    private static TokenSet open(UpstreamConnectionProvider p, RealmModel realm, UpstreamConnection c) {
        try {
            return p.tokens(realm, c);
        } catch (VaultKeyException e) {
            throw new ConnectionUnusable(ConnectionUnusable.Reason.VAULT_LOCKED, e.getMessage());
        }
    }

    private static boolean fresh(TokenSet t, long now) {
        return t.accessExpiresAt() == null || t.accessExpiresAt() - REFRESH_BEFORE_EXPIRY_MILLIS > now;
    }

    private static boolean stillValid(TokenSet t, long now) {
        return t.accessExpiresAt() == null || t.accessExpiresAt() - 2000 > now;
    }

    /** Long enough for one upstream call with its timeout. */
    private static long leaseMillis(Connector connector) {
        return connector.timeoutMillis() + 5_000L;
    }

    private static <T> T inTransaction(KeycloakSessionFactory factory, java.util.function.Function<KeycloakSession, T> job) {
        return KeycloakModelUtils.runJobInTransactionWithResult(factory, job::apply);
    }

    private static void sleep() {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConnectionUnusable(ConnectionUnusable.Reason.UPSTREAM_UNAVAILABLE, "interrupted while waiting for a refresh");
        }
    }
}
