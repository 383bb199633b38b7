package org.agentauth.keycloak.delegation.jpa;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import org.jboss.logging.Logger;
import org.keycloak.cluster.ClusterEvent;
import org.keycloak.cluster.ClusterProvider;
import org.keycloak.models.KeycloakSession;

/**
 * Carries a {@link GrantCache.Invalidation} to the other nodes of the cluster through Keycloak's {@link ClusterProvider}
 * (the replicated {@code work} cache, whose put returns once every member has run its listeners), under a task key of
 * our own so that only our listener sees it.
 * <p>
 * Keycloak 26 marshals cluster events with ProtoStream and knows only its own event classes; an extension's class would
 * need a schema of its own on the server's classpath. The message is therefore Keycloak's own generic
 * {@code CacheKeyInvalidatedEvent} (one string: "this cache key is stale"), made and read reflectively. Where that class
 * is missing (another Keycloak version) {@link #create} returns null and the cache stays off: every read goes to the
 * database, as before.
 */
final class GrantCacheCluster {

    private static final Logger LOG = Logger.getLogger(GrantCacheCluster.class);

    /** The listener key on the cluster: only our listener receives what is sent under it. */
    static final String TASK_KEY = "agent-auth-grant-cache";

    static final String CARRIER = "org.keycloak.models.cache.infinispan.events.CacheKeyInvalidatedEvent";

    private final ClusterProvider cluster;
    private final Constructor<?> make;
    private final Method read;

    private GrantCacheCluster(ClusterProvider cluster, Constructor<?> make, Method read) {
        this.cluster = cluster;
        this.make = make;
        this.read = read;
    }

    /**
     * Registers {@code cache}'s listener with the node's cluster provider; null (cache must stay off) when there is no
     * cluster provider or no carrier class.
     */
    static GrantCacheCluster create(KeycloakSession session, GrantCache cache) {
        ClusterProvider cluster;
        Constructor<?> make;
        Method read;
        try {
            cluster = session.getProvider(ClusterProvider.class);
            if (cluster == null) {
                LOG.infof("grant cache off: no cluster provider");
                return null;
            }
            Class<?> carrier = Class.forName(CARRIER, true, cluster.getClass().getClassLoader());
            make = carrier.getConstructor(String.class);
            read = carrier.getMethod("getId");
            if (!ClusterEvent.class.isAssignableFrom(carrier)) {
                LOG.infof("grant cache off: %s is not a cluster event", CARRIER);
                return null;
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.infof("grant cache off: no way to invalidate it across the cluster (%s)", e.toString());
            return null;
        }
        GrantCacheCluster bridge = new GrantCacheCluster(cluster, make, read);
        cluster.registerListener(TASK_KEY, event -> cache.invalidate(bridge.decode(event)));
        return bridge;
    }

    GrantCache.Invalidation decode(ClusterEvent event) {
        try {
            return GrantCache.Invalidation.decode(event != null && read.getDeclaringClass().isInstance(event)
                    ? (String) read.invoke(event) : null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return GrantCache.Invalidation.all();
        }
    }

    /**
     * Sends the invalidation to every other node; returns when the cluster has taken it (Keycloak's notify is a
     * synchronous put into the replicated {@code work} cache). This node invalidates itself, not through this message.
     */
    void send(ClusterProvider sessionCluster, GrantCache.Invalidation inv) throws ReflectiveOperationException {
        ClusterEvent event = (ClusterEvent) make.newInstance(inv.encode());
        (sessionCluster != null ? sessionCluster : cluster).notify(TASK_KEY, event, true);
    }
}
