package org.agentauth.keycloak.delegation.jpa;

import jakarta.persistence.EntityManager;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.support.cluster.PendingInvalidations;
import org.jboss.logging.Logger;
import org.keycloak.common.util.Time;
import org.keycloak.connections.jpa.JpaConnectionProvider;
import org.keycloak.models.AbstractKeycloakTransaction;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.KeycloakModelUtils;

/**
 * Delegation grants in table {@code AGENT_AUTH_DELEGATION_GRANT}. Reads and deletions use the request's EntityManager,
 * so they see and join Keycloak's own transaction. Two writes do not, because a request must never fail on them
 * (DESIGN section 3 rule 10): {@link #grant} commits in a short transaction of its own, and {@link #touch} records the
 * last-used time after the request has committed, in another short transaction, at most once a minute per grant.
 */
public class JpaDelegationGrantProvider implements DelegationGrantProvider {

    private static final Logger LOG = Logger.getLogger(JpaDelegationGrantProvider.class);

    /** Enough for any race: a lost insert is followed by an update, which cannot lose. */
    private static final int GRANT_ATTEMPTS = 3;

    private final KeycloakSession session;
    private final JpaDelegationGrantProviderFactory factory;
    private EntityManager em;
    /** This session changed the grants table in its own transaction: its reads go to the database, not the cache. */
    private boolean wrote;
    /** What this session's writes make stale, for every node once its transaction has committed. */
    private final PendingInvalidations<GrantCache.Invalidation> invalidations;

    JpaDelegationGrantProvider(KeycloakSession session, JpaDelegationGrantProviderFactory factory) {
        this.session = session;
        this.factory = factory;
        this.invalidations = new PendingInvalidations<>(session, factory::invalidateHere, i -> factory.invalidateEverywhere(session, i));
    }

    private EntityManager em() {
        if (em == null) {
            em = entityManager(session);
        }
        return em;
    }

    private static EntityManager entityManager(KeycloakSession s) {
        return s.getProvider(JpaConnectionProvider.class).getEntityManager();
    }

    /** The node's cache for this session's reads; null when off or when this session has written grants. */
    private GrantCache cache() {
        return wrote ? null : factory.cache(session);
    }

    /**
     * From this node's cache when it holds the row, else from the database (and then cached). Only rows found are cached,
     * so a consent stored elsewhere is seen at once; a removed or changed row is dropped from every node's cache before
     * the request that removed or changed it answers (DESIGN section 10).
     */
    @Override
    public Optional<DelegationGrant> find(RealmModel realm, String userId, ClientModel agent, ClientModel host) {
        GrantCache c = cache();
        if (c == null) {
            return findEntity(em(), realm.getId(), userId, agent.getId(), host.getId()).map(this::read);
        }
        long now = Time.currentTimeMillis();
        DelegationGrant hit = c.byTriple(realm.getId(), userId, agent.getId(), host.getId(), now);
        if (hit != null) {
            return Optional.of(hit);
        }
        long mark = c.mark();
        Optional<DelegationGrant> read = findEntity(em(), realm.getId(), userId, agent.getId(), host.getId()).map(this::read);
        read.ifPresent(g -> c.put(realm.getId(), g, mark, now));
        return read;
    }

    @Override
    public List<DelegationGrant> listForUser(RealmModel realm, String userId) {
        return em().createNamedQuery("agentAuthGrant.byUser", AgentAuthDelegationGrantEntity.class)
                .setParameter("realmId", realm.getId())
                .setParameter("userId", userId)
                .getResultList().stream().map(this::read).toList();
    }

    @Override
    public List<DelegationGrant> listForAgent(RealmModel realm, ClientModel agent) {
        return em().createNamedQuery("agentAuthGrant.byAgent", AgentAuthDelegationGrantEntity.class)
                .setParameter("realmId", realm.getId())
                .setParameter("agentClientId", agent.getId())
                .getResultList().stream().map(this::read).toList();
    }

    @Override
    public Optional<DelegationGrant> byId(RealmModel realm, String grantId) {
        if (grantId == null || grantId.length() > 36) {
            return Optional.empty();
        }
        GrantCache c = cache();
        long now = Time.currentTimeMillis();
        DelegationGrant hit = c == null ? null : c.byId(realm.getId(), grantId, now);
        if (hit != null) {
            return Optional.of(hit);
        }
        long mark = c == null ? 0 : c.mark();
        AgentAuthDelegationGrantEntity e = em().find(AgentAuthDelegationGrantEntity.class, grantId);
        if (e == null || !e.getRealmId().equals(realm.getId())) {
            if (e != null) {
                em().detach(e);
            }
            return Optional.empty();
        }
        DelegationGrant g = read(e);
        if (c != null) {
            c.put(realm.getId(), g, mark, now);
        }
        return Optional.of(g);
    }

    /**
     * The model of a row just read, which leaves the request's persistence context: no grant entity stays managed there,
     * so every read runs SQL. Otherwise a later read in the same request could be answered from the persistence
     * context with a row revoked or changed since, and cached (the reader's generation mark would not catch it).
     */
    private DelegationGrant read(AgentAuthDelegationGrantEntity e) {
        DelegationGrant g = toModel(e);
        em().detach(e);
        return g;
    }

    /**
     * Before a write in this session's transaction: this node's cache drops what it names now (and this session reads
     * the database from now on); once the transaction has committed, every node drops it, before the request answers.
     */
    private void writing(GrantCache.Invalidation inv) {
        wrote = true;
        invalidations.add(inv);
    }

    /**
     * Records the user's consent for (realm, user, agent, host) in a transaction of its own. An active grant for the same
     * triple is renewed in place (same id: its tokens stay valid while it stays active, and are checked against its new
     * content). Otherwise (no grant, or an expired one) a row with a new id is stored and the expired row deleted: tokens
     * are bound to the id of the grant they were issued under (DESIGN section 3 rule 5, "Bound to its grant"), so a
     * consent after a revocation or an expiry never revives the earlier grant's tokens. Two parallel calls for the same
     * triple (a double-submitted consent) may both find no active row and both insert: the unique key
     * {@code UK_AGENT_AUTH_GRANT_TRIPLE} lets one commit, the other fails in its own transaction only and tries again, now
     * renewing the committed row (an update without a version check, which cannot lose). The calling request's
     * transaction is never touched by the race.
     */
    @Override
    public DelegationGrant grant(RealmModel realm, String userId, ClientModel agent, ClientModel host, Set<String> scopes,
            Set<String> connectors, Map<String, String> connections, Set<String> downstreamAgents, Long lifetimeSeconds,
            String origin) {
        Row row = new Row(realm.getId(), userId, agent.getId(), host.getId(), String.join(" ", scopes), join(connectors),
                joinPairs(connections), join(downstreamAgents), lifetimeSeconds == null || lifetimeSeconds <= 0 ? null : lifetimeSeconds,
                origin);
        RuntimeException lost = null;
        // the grant's own transaction commits before this returns: every node drops the user's cached grants then
        GrantCache.Invalidation inv = GrantCache.Invalidation.user(realm.getId(), userId);
        factory.invalidateHere(inv);
        try {
            for (int attempt = 1; attempt <= GRANT_ATTEMPTS; attempt++) {
                try {
                    return KeycloakModelUtils.runJobInTransactionWithResult(session.getKeycloakSessionFactory(),
                            s -> upsert(entityManager(s), row));
                } catch (RuntimeException e) {
                    LOG.debugf("grant for user %s, agent %s, host %s: attempt %d lost a race (%s), trying again", userId,
                            agent.getClientId(), host.getClientId(), attempt, e.toString());
                    lost = e;
                }
            }
        } finally {
            factory.invalidateEverywhere(session, inv);
        }
        throw lost;
    }

    /** What {@link #grant} stores. */
    private record Row(String realmId, String userId, String agentId, String hostId, String scope, String connectors,
            String connections, String downstreamAgents, Long lifetimeSeconds, String origin) {
    }

    private static DelegationGrant upsert(EntityManager em, Row row) {
        long now = Time.currentTimeMillis();
        // the expiry counts from the moment the grant is stored: createdAt (or updatedAt) + lifetime, one clock read
        Long expiresAt = row.lifetimeSeconds() == null ? null : now + row.lifetimeSeconds() * 1000;
        AgentAuthDelegationGrantEntity e = findEntity(em, row.realmId(), row.userId(), row.agentId(), row.hostId()).orElse(null);
        if (e != null && (e.getExpiresAt() == null || e.getExpiresAt() > now)) {
            em.createNamedQuery("agentAuthGrant.replace")
                    .setParameter("id", e.getId())
                    .setParameter("scope", row.scope())
                    .setParameter("connectors", row.connectors())
                    .setParameter("connections", row.connections())
                    .setParameter("downstreamAgents", row.downstreamAgents())
                    .setParameter("now", now)
                    .setParameter("expiresAt", expiresAt)
                    .setParameter("origin", row.origin())
                    .executeUpdate();
            return new DelegationGrant(e.getId(), row.userId(), row.agentId(), row.hostId(), split(row.scope()),
                    split(row.connectors()), splitPairs(row.connections()), split(row.downstreamAgents()), e.getCreatedAt(), expiresAt,
                    e.getLastUsedAt(), row.origin());
        }
        if (e != null) {
            // expired: its tokens stay refused, so the new consent is a new grant with a new id
            em.createNamedQuery("agentAuthGrant.deleteById").setParameter("realmId", row.realmId()).setParameter("id", e.getId())
                    .executeUpdate();
        }
        e = new AgentAuthDelegationGrantEntity();
        e.setId(KeycloakModelUtils.generateId());
        e.setRealmId(row.realmId());
        e.setUserId(row.userId());
        e.setAgentClientId(row.agentId());
        e.setHostClientId(row.hostId());
        e.setCreatedAt(now);
        e.setScope(row.scope());
        e.setConnectors(row.connectors());
        e.setConnections(row.connections());
        e.setDownstreamAgents(row.downstreamAgents());
        e.setUpdatedAt(now);
        e.setExpiresAt(expiresAt);
        e.setOrigin(row.origin());
        em.persist(e);
        return toModel(e);
    }

    /**
     * Skipped when the grant was used within the interval (as read by this request, or as noted on this node);
     * otherwise a conditional update without a version bump runs once the request has committed, in a short
     * transaction of its own. Its failure (a lock wait, a deleted row, a database hiccup) is logged at debug level and
     * costs only that one last-used time; a request that rolls back records no use.
     */
    @Override
    public void touch(DelegationGrant grant) {
        long now = Time.currentTimeMillis();
        long cutoff = now - JpaDelegationGrantProviderFactory.TOUCH_INTERVAL_MILLIS;
        if (grant.lastUsedAt() != null && grant.lastUsedAt() >= cutoff) {
            return;
        }
        if (!factory.claimTouch(grant.id(), now)) {
            return;
        }
        KeycloakSessionFactory sessionFactory = session.getKeycloakSessionFactory();
        try {
            session.getTransactionManager().enlistAfterCompletion(new AbstractKeycloakTransaction() {
                @Override
                protected void commitImpl() {
                    recordUse(sessionFactory, grant.id(), now, cutoff);
                }

                @Override
                protected void rollbackImpl() {
                    factory.releaseTouch(grant.id(), now);
                }
            });
        } catch (RuntimeException e) {
            factory.releaseTouch(grant.id(), now);
            LOG.debugf("last-used time of grant %s not recorded: %s", grant.id(), e.toString());
        }
    }

    private void recordUse(KeycloakSessionFactory sessionFactory, String grantId, long now, long cutoff) {
        try {
            KeycloakModelUtils.runJobInTransaction(sessionFactory, s -> entityManager(s)
                    .createNamedQuery("agentAuthGrant.touch")
                    .setParameter("id", grantId)
                    .setParameter("now", now)
                    .setParameter("cutoff", cutoff)
                    .executeUpdate());
        } catch (RuntimeException e) {
            factory.releaseTouch(grantId, now);
            LOG.debugf("last-used time of grant %s not recorded: %s", grantId, e.toString());
        }
    }

    /** A bulk delete: no version check, so a grant replaced in parallel is still revoked. */
    @Override
    public boolean revoke(RealmModel realm, String grantId) {
        if (grantId == null || grantId.length() > 36) {
            return false;
        }
        writing(GrantCache.Invalidation.grant(realm.getId(), grantId));
        return em().createNamedQuery("agentAuthGrant.deleteById").setParameter("realmId", realm.getId())
                .setParameter("id", grantId).executeUpdate() > 0;
    }

    @Override
    public int deleteForUser(RealmModel realm, String userId) {
        writing(GrantCache.Invalidation.user(realm.getId(), userId));
        return em().createNamedQuery("agentAuthGrant.deleteByUser").setParameter("realmId", realm.getId())
                .setParameter("userId", userId).executeUpdate();
    }

    @Override
    public int deleteForClient(RealmModel realm, String clientUuid) {
        writing(GrantCache.Invalidation.client(realm.getId(), clientUuid));
        return em().createNamedQuery("agentAuthGrant.deleteByClient").setParameter("realmId", realm.getId())
                .setParameter("clientId", clientUuid).executeUpdate();
    }

    @Override
    public int deleteForRealm(String realmId) {
        writing(GrantCache.Invalidation.realm(realmId));
        return em().createNamedQuery("agentAuthGrant.deleteByRealm").setParameter("realmId", realmId).executeUpdate();
    }

    @Override
    public void close() {
    }

    private static Optional<AgentAuthDelegationGrantEntity> findEntity(EntityManager em, String realmId, String userId,
            String agentUuid, String hostUuid) {
        return em.createNamedQuery("agentAuthGrant.byTriple", AgentAuthDelegationGrantEntity.class)
                .setParameter("realmId", realmId)
                .setParameter("userId", userId)
                .setParameter("agentClientId", agentUuid)
                .setParameter("hostClientId", hostUuid)
                .getResultList().stream().findFirst();
    }

    static DelegationGrant toModel(AgentAuthDelegationGrantEntity e) {
        return new DelegationGrant(e.getId(), e.getUserId(), e.getAgentClientId(), e.getHostClientId(), split(e.getScope()),
                split(e.getConnectors()), splitPairs(e.getConnections()), split(e.getDownstreamAgents()), e.getCreatedAt(), e.getExpiresAt(),
                e.getLastUsedAt(), e.getOrigin());
    }

    /** Space separated; an empty set as null (the scope column, never null, stores an empty string instead). */
    private static String join(Set<String> values) {
        return values.isEmpty() ? null : String.join(" ", values);
    }

    private static final String PICK_ALIAS = "[a-z0-9][a-z0-9_-]{0,63}";
    private static final String PICK_ID = "[A-Za-z0-9-]{1,64}";

    /** {@code alias=connectionId} pairs, space separated (aliases and ids contain neither); none as null. */
    static String joinPairs(Map<String, String> pairs) {
        if (pairs == null || pairs.isEmpty()) {
            return null;
        }
        StringBuilder b = new StringBuilder();
        pairs.forEach((k, v) -> b.append(b.length() == 0 ? "" : " ").append(k).append('=').append(v));
        return b.toString();
    }

    static Map<String, String> splitPairs(String value) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : split(value)) {
            int eq = pair.indexOf('=');
            // only what the consent step writes: a connector alias and a connection id (anything else reads as no pick)
            if (eq > 0 && eq < pair.length() - 1 && pair.substring(0, eq).matches(PICK_ALIAS) && pair.substring(eq + 1).matches(PICK_ID)) {
                out.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        return out;
    }

    private static Set<String> split(String value) {
        if (value == null || value.isBlank()) {
            return Collections.emptySet();
        }
        Set<String> out = new LinkedHashSet<>();
        for (String s : value.trim().split("\\s+")) {
            out.add(s);
        }
        return out;
    }
}
