package org.agentauth.keycloak.vault.jpa;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.persistence.EntityManager;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.support.Strings;
import org.agentauth.keycloak.support.cluster.PendingInvalidations;
import org.agentauth.keycloak.vault.TokenSet;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.VaultSettings;
import org.agentauth.keycloak.vault.crypto.KeyRing;
import org.agentauth.keycloak.vault.crypto.TokenCipher;
import org.agentauth.keycloak.vault.crypto.TokenCipher.Sealed;
import org.agentauth.keycloak.vault.crypto.TokenCipher.VaultKeyException;
import org.jboss.logging.Logger;
import org.keycloak.common.util.Time;
import org.keycloak.connections.jpa.JpaConnectionProvider;
import org.keycloak.models.AbstractKeycloakTransaction;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.KeycloakModelUtils;

/**
 * Connections in table {@code AGENT_AUTH_CONNECTION}, through the session's EntityManager (so in whatever transaction
 * the caller runs). Every write that changes tokens or the lease is a conditional update on {@code VERSION}.
 */
public class JpaUpstreamConnectionProvider implements UpstreamConnectionProvider {

    private static final Logger LOG = Logger.getLogger(JpaUpstreamConnectionProvider.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final long TOUCH_INTERVAL_MILLIS = 60_000;

    private final KeycloakSession session;
    private final JpaUpstreamConnectionProviderFactory factory;
    private EntityManager em;
    /** What this session's writes make stale, for every node once its transaction has committed. */
    private final PendingInvalidations<ConnectionCache.Invalidation> invalidations;
    /** Rows {@link #forUse} handed out in this session, by id: {@link #tokens} opens their sealed tokens. */
    private Map<String, ConnectionCache.Row> served;

    JpaUpstreamConnectionProvider(KeycloakSession session, JpaUpstreamConnectionProviderFactory factory) {
        this.session = session;
        this.factory = factory;
        this.invalidations = new PendingInvalidations<>(session, factory::invalidateHere, i -> factory.invalidateEverywhere(session, i));
    }

    /** The node's cache for this session's reads; null when off or when this session has written connections. */
    private ConnectionCache cache() {
        return invalidations.any() ? null : factory.cache(session);
    }

    /** Before a write in this session's transaction (see {@link PendingInvalidations}). */
    private void writing(ConnectionCache.Invalidation inv) {
        invalidations.add(inv);
    }

    private EntityManager em() {
        if (em == null) {
            em = session.getProvider(JpaConnectionProvider.class).getEntityManager();
        }
        return em;
    }

    private KeyRing keys() {
        return session.getProvider(VaultSettings.class).keys();
    }

    @Override
    public Optional<UpstreamConnection> byId(RealmModel realm, String id) {
        if (id == null || id.isEmpty() || id.length() > 36) {
            return Optional.empty();
        }
        AgentAuthConnectionEntity e = em().find(AgentAuthConnectionEntity.class, id);
        if (e != null) {
            em().refresh(e); // another transaction (the refresh engine) may have changed it
        }
        return e != null && e.getRealmId().equals(realm.getId()) ? Optional.of(toModel(e)) : Optional.empty();
    }

    @Override
    public List<UpstreamConnection> listForUser(RealmModel realm, String userId) {
        return em().createNamedQuery("agentAuthConnection.byUser", AgentAuthConnectionEntity.class)
                .setParameter("realmId", realm.getId()).setParameter("userId", userId)
                .getResultList().stream().map(JpaUpstreamConnectionProvider::toModel).toList();
    }

    @Override
    public List<UpstreamConnection> listForUser(RealmModel realm, String userId, String connectorId) {
        return em().createNamedQuery("agentAuthConnection.byUserConnector", AgentAuthConnectionEntity.class)
                .setParameter("realmId", realm.getId()).setParameter("userId", userId).setParameter("connectorId", connectorId)
                .getResultList().stream().map(JpaUpstreamConnectionProvider::toModel).toList();
    }

    /**
     * From this node's cache when it holds the user's rows on the connector, else from the database (and then cached).
     * A row changed or removed anywhere is dropped from every node's cache before the request that changed it answers
     * (DESIGN section 10). The entities read leave the persistence context: a later read in this request runs SQL.
     */
    @Override
    public List<UpstreamConnection> forUse(RealmModel realm, String userId, String connectorId) {
        ConnectionCache c = cache();
        if (c == null) {
            return listForUser(realm, userId, connectorId);
        }
        long now = Time.currentTimeMillis();
        List<ConnectionCache.Row> rows = c.get(realm.getId(), userId, connectorId, now);
        if (rows == null) {
            long mark = c.mark();
            List<AgentAuthConnectionEntity> read = em().createNamedQuery("agentAuthConnection.byUserConnector", AgentAuthConnectionEntity.class)
                    .setParameter("realmId", realm.getId()).setParameter("userId", userId).setParameter("connectorId", connectorId)
                    .getResultList();
            rows = read.stream().map(e -> new ConnectionCache.Row(toModel(e), new Sealed(e.getKeyId(), e.getTokens()))).toList();
            read.forEach(em()::detach);
            c.put(realm.getId(), userId, connectorId, rows, mark, now);
        }
        if (served == null) {
            served = new HashMap<>();
        }
        rows.forEach(r -> served.put(r.connection().id(), r));
        return rows.stream().map(ConnectionCache.Row::connection).toList();
    }

    @Override
    public UpstreamConnection link(RealmModel realm, String userId, String connectorId, String subject, String label,
            Set<String> scopes, TokenSet tokens) {
        writing(ConnectionCache.Invalidation.user(realm.getId(), userId));
        long now = Time.currentTimeMillis();
        AgentAuthConnectionEntity e = em().createNamedQuery("agentAuthConnection.bySubject", AgentAuthConnectionEntity.class)
                .setParameter("realmId", realm.getId()).setParameter("userId", userId)
                .setParameter("connectorId", connectorId).setParameter("subject", subject)
                .getResultList().stream().findFirst().orElse(null);
        boolean created = e == null;
        if (created) {
            e = new AgentAuthConnectionEntity();
            e.setId(KeycloakModelUtils.generateId());
            e.setRealmId(realm.getId());
            e.setUserId(userId);
            e.setConnectorId(connectorId);
            e.setSubject(subject);
            e.setCreatedAt(now);
            e.setVersion(0);
        } else {
            // incremental consent: the scopes the account already granted stay
            Set<String> all = new LinkedHashSet<>(Strings.split(e.getScope()));
            all.addAll(scopes);
            scopes = all;
            e.setVersion(e.getVersion() + 1);
        }
        Sealed sealed = seal(binding(e), tokens);
        e.setLabel(label);
        e.setScope(scopes.isEmpty() ? null : String.join(" ", scopes));
        e.setStatus(UpstreamConnection.Status.ACTIVE.name());
        e.setKeyId(sealed.keyId());
        e.setTokens(sealed.ciphertext());
        e.setRefreshable(tokens.hasRefreshToken());
        e.setAccessExpiresAt(tokens.accessExpiresAt());
        e.setRefreshExpiresAt(tokens.refreshExpiresAt());
        e.setLeaseUntil(null);
        e.setUpdatedAt(now);
        if (created) {
            em().persist(e);
        }
        em().flush();
        return toModel(e);
    }

    @Override
    public TokenSet tokens(RealmModel realm, UpstreamConnection c) {
        ConnectionCache.Row row = served == null ? null : served.get(c.id());
        if (row != null && row.connection().version() == c.version() && row.connection().realmId().equals(realm.getId())) {
            try {
                return open(binding(row.connection()), row.sealed());
            } catch (VaultKeyException e) {
                // a row this node cannot open is not kept: the next call reads it again
                factory.invalidateHere(ConnectionCache.Invalidation.connection(realm.getId(), c.id()));
                throw e;
            }
        }
        AgentAuthConnectionEntity e = em().find(AgentAuthConnectionEntity.class, c.id());
        if (e == null || !e.getRealmId().equals(realm.getId())) {
            throw new VaultKeyException("connection not found");
        }
        return open(e);
    }

    private TokenSet open(AgentAuthConnectionEntity e) {
        return open(binding(e), new Sealed(e.getKeyId(), e.getTokens()));
    }

    private TokenSet open(TokenCipher.Binding binding, Sealed sealed) {
        String json = TokenCipher.open(keys(), binding, sealed);
        try {
            return JSON.readValue(json, TokenSet.class);
        } catch (JsonProcessingException ex) {
            throw new VaultKeyException("stored tokens are not readable");
        }
    }

    /** What a row's ciphertext is bound to: realm, user, connection, connector and upstream account. */
    private static TokenCipher.Binding binding(AgentAuthConnectionEntity e) {
        return new TokenCipher.Binding(e.getRealmId(), e.getUserId(), e.getId(), e.getConnectorId(), e.getSubject());
    }

    private static TokenCipher.Binding binding(UpstreamConnection c) {
        return new TokenCipher.Binding(c.realmId(), c.userId(), c.id(), c.connectorId(), c.subject());
    }

    private Sealed seal(TokenCipher.Binding binding, TokenSet tokens) {
        try {
            return TokenCipher.seal(keys(), binding, JSON.writeValueAsString(tokens));
        } catch (JsonProcessingException ex) {
            throw new VaultKeyException("tokens could not be serialised");
        }
    }

    @Override
    public Optional<UpstreamConnection> takeLease(RealmModel realm, UpstreamConnection seen, long leaseUntil) {
        writing(ConnectionCache.Invalidation.user(realm.getId(), seen.userId()));
        int n = em().createNamedQuery("agentAuthConnection.takeLease").setParameter("id", seen.id())
                .setParameter("version", seen.version()).setParameter("until", leaseUntil)
                .setParameter("now", Time.currentTimeMillis()).executeUpdate();
        if (n != 1) {
            return Optional.empty();
        }
        return Optional.of(new UpstreamConnection(seen.id(), seen.realmId(), seen.userId(), seen.connectorId(), seen.subject(),
                seen.label(), seen.scopes(), seen.status(), seen.createdAt(), seen.updatedAt(), seen.lastUsedAt(),
                seen.accessExpiresAt(), seen.refreshExpiresAt(), seen.refreshable(), seen.keyId(), leaseUntil, seen.version() + 1));
    }

    @Override
    public boolean saveRefreshed(RealmModel realm, UpstreamConnection leased, TokenSet tokens, Set<String> scopes) {
        writing(ConnectionCache.Invalidation.user(realm.getId(), leased.userId()));
        Sealed sealed = seal(binding(leased), tokens);
        return em().createNamedQuery("agentAuthConnection.saveRefreshed").setParameter("id", leased.id())
                .setParameter("version", leased.version()).setParameter("keyId", sealed.keyId())
                .setParameter("tokens", sealed.ciphertext()).setParameter("refreshable", tokens.hasRefreshToken())
                .setParameter("accessExpiresAt", tokens.accessExpiresAt()).setParameter("refreshExpiresAt", tokens.refreshExpiresAt())
                .setParameter("scope", scopes.isEmpty() ? null : String.join(" ", scopes))
                .setParameter("now", Time.currentTimeMillis()).executeUpdate() == 1;
    }

    @Override
    public boolean expire(RealmModel realm, UpstreamConnection leased) {
        writing(ConnectionCache.Invalidation.user(realm.getId(), leased.userId()));
        return em().createNamedQuery("agentAuthConnection.expire").setParameter("id", leased.id())
                .setParameter("version", leased.version()).setParameter("now", Time.currentTimeMillis()).executeUpdate() == 1;
    }

    @Override
    public void releaseLease(RealmModel realm, UpstreamConnection leased, long retryAt) {
        writing(ConnectionCache.Invalidation.user(realm.getId(), leased.userId()));
        em().createNamedQuery("agentAuthConnection.releaseLease").setParameter("id", leased.id())
                .setParameter("version", leased.version()).setParameter("retryAt", retryAt).executeUpdate();
    }

    @Override
    public int expireForConnector(RealmModel realm, String connectorId) {
        writing(ConnectionCache.Invalidation.connector(realm.getId(), connectorId));
        return em().createNamedQuery("agentAuthConnection.expireByConnector").setParameter("realmId", realm.getId())
                .setParameter("connectorId", connectorId).setParameter("now", Time.currentTimeMillis()).executeUpdate();
    }

    /** After the request commits, in a short transaction of its own, at most once a minute per connection. */
    @Override
    public void touch(UpstreamConnection c) {
        long now = Time.currentTimeMillis();
        long cutoff = now - TOUCH_INTERVAL_MILLIS;
        if (c.lastUsedAt() != null && c.lastUsedAt() >= cutoff) {
            return;
        }
        KeycloakSessionFactory sessions = session.getKeycloakSessionFactory();
        session.getTransactionManager().enlistAfterCompletion(new AbstractKeycloakTransaction() {
            @Override
            protected void commitImpl() {
                try {
                    KeycloakModelUtils.runJobInTransaction(sessions, s -> s.getProvider(JpaConnectionProvider.class).getEntityManager()
                            .createNamedQuery("agentAuthConnection.touch").setParameter("id", c.id())
                            .setParameter("now", now).setParameter("cutoff", cutoff).executeUpdate());
                    // this node's copy would still say "not used for a minute": the next call would record again
                    factory.invalidateHere(ConnectionCache.Invalidation.user(c.realmId(), c.userId()));
                } catch (RuntimeException e) {
                    LOG.debugf("last-used time of connection %s not recorded: %s", c.id(), e.toString());
                }
            }

            @Override
            protected void rollbackImpl() {
            }
        });
    }

    @Override
    public int reencrypt(RealmModel realm, int max) {
        KeyRing keys = keys();
        if (!keys.usable()) {
            throw new VaultKeyException("the vault has no encryption key configured");
        }
        writing(ConnectionCache.Invalidation.realm(realm.getId()));
        List<AgentAuthConnectionEntity> rows = em().createNamedQuery("agentAuthConnection.notUnderKey", AgentAuthConnectionEntity.class)
                .setParameter("realmId", realm.getId()).setParameter("keyId", keys.activeKeyId()).setMaxResults(max).getResultList();
        int done = 0;
        for (AgentAuthConnectionEntity e : rows) {
            TokenSet tokens = open(e);
            Sealed sealed = seal(binding(e), tokens);
            done += em().createNamedQuery("agentAuthConnection.rewrite").setParameter("id", e.getId())
                    .setParameter("version", e.getVersion()).setParameter("keyId", sealed.keyId())
                    .setParameter("tokens", sealed.ciphertext()).executeUpdate();
        }
        return done;
    }

    @Override
    public long countNotUnderActiveKey(RealmModel realm) {
        KeyRing keys = keys();
        return em().createNamedQuery("agentAuthConnection.countNotUnderKey", Long.class).setParameter("realmId", realm.getId())
                .setParameter("keyId", keys.usable() ? keys.activeKeyId() : "").getSingleResult();
    }

    @Override
    public boolean delete(RealmModel realm, String id) {
        if (id == null || id.length() > 36) {
            return false;
        }
        writing(ConnectionCache.Invalidation.connection(realm.getId(), id));
        return em().createNamedQuery("agentAuthConnection.deleteById").setParameter("realmId", realm.getId())
                .setParameter("id", id).executeUpdate() > 0;
    }

    @Override
    public int deleteForUser(RealmModel realm, String userId) {
        writing(ConnectionCache.Invalidation.user(realm.getId(), userId));
        return em().createNamedQuery("agentAuthConnection.deleteByUser").setParameter("realmId", realm.getId())
                .setParameter("userId", userId).executeUpdate();
    }

    @Override
    public int deleteForConnector(RealmModel realm, String connectorId) {
        writing(ConnectionCache.Invalidation.connector(realm.getId(), connectorId));
        return em().createNamedQuery("agentAuthConnection.deleteByConnector").setParameter("realmId", realm.getId())
                .setParameter("connectorId", connectorId).executeUpdate();
    }

    @Override
    public int deleteForRealm(String realmId) {
        writing(ConnectionCache.Invalidation.realm(realmId));
        return em().createNamedQuery("agentAuthConnection.deleteByRealm").setParameter("realmId", realmId).executeUpdate();
    }

    @Override
    public void close() {
    }

    static UpstreamConnection toModel(AgentAuthConnectionEntity e) {
        return new UpstreamConnection(e.getId(), e.getRealmId(), e.getUserId(), e.getConnectorId(), e.getSubject(), e.getLabel(),
                Strings.split(e.getScope()), UpstreamConnection.Status.valueOf(e.getStatus()), e.getCreatedAt(), e.getUpdatedAt(),
                e.getLastUsedAt(), e.getAccessExpiresAt(), e.getRefreshExpiresAt(), e.isRefreshable(), e.getKeyId(),
                e.getLeaseUntil(), e.getVersion());
    }
}
