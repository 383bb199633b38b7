package org.agentauth.keycloak.support.cluster;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.function.Consumer;
import org.jboss.logging.Logger;
import org.keycloak.cluster.ClusterEvent;
import org.keycloak.cluster.ClusterProvider;
import org.keycloak.models.KeycloakSession;

/**
 * Carries a node-local cache's invalidations (short texts the cache encodes and decodes) to the other nodes of the
 * cluster through Keycloak's {@link ClusterProvider} (the replicated {@code work} cache, whose put returns once every
 * member has run its listeners), under a task key of the cache's own so that only its listener sees them. Used by the
 * grant cache and the connection cache (DESIGN section 10).
 * <p>
 * Keycloak 26 marshals cluster events with ProtoStream and knows only its own event classes; an extension's class would
 * need a schema of its own on the server's classpath. The message is therefore Keycloak's own generic
 * {@code CacheKeyInvalidatedEvent} (one string: "this cache key is stale"), made and read reflectively. Where that class
 * is missing (another Keycloak version) {@link #open} returns null and the cache must stay off: every read goes to the
 * database.
 */
public final class InvalidationChannel {

    private static final Logger LOG = Logger.getLogger(InvalidationChannel.class);

    public static final String CARRIER = "org.keycloak.models.cache.infinispan.events.CacheKeyInvalidatedEvent";

    private final String taskKey;
    private final ClusterProvider cluster;
    private final Constructor<?> make;
    private final Method read;

    private InvalidationChannel(String taskKey, ClusterProvider cluster, Constructor<?> make, Method read) {
        this.taskKey = taskKey;
        this.cluster = cluster;
        this.make = make;
        this.read = read;
    }

    /**
     * Registers {@code listener} with the node's cluster provider under {@code taskKey}: it receives the text of every
     * message another node sends on this channel, or null for a message it cannot read (to be taken as "everything is
     * stale"). Null (the cache must stay off) when there is no cluster provider or no carrier class; {@code what} names
     * the cache in the log line that says so.
     */
    public static InvalidationChannel open(KeycloakSession session, String taskKey, String what, Consumer<String> listener) {
        ClusterProvider cluster;
        Constructor<?> make;
        Method read;
        try {
            cluster = session.getProvider(ClusterProvider.class);
            if (cluster == null) {
                LOG.infof("%s off: no cluster provider", what);
                return null;
            }
            Class<?> carrier = Class.forName(CARRIER, true, cluster.getClass().getClassLoader());
            make = carrier.getConstructor(String.class);
            read = carrier.getMethod("getId");
            if (!ClusterEvent.class.isAssignableFrom(carrier)) {
                LOG.infof("%s off: %s is not a cluster event", what, CARRIER);
                return null;
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.infof("%s off: no way to invalidate it across the cluster (%s)", what, e.toString());
            return null;
        }
        InvalidationChannel channel = new InvalidationChannel(taskKey, cluster, make, read);
        cluster.registerListener(taskKey, event -> listener.accept(channel.text(event)));
        return channel;
    }

    /** The text a message carries; null when it is not one of ours. */
    public String text(ClusterEvent event) {
        try {
            return event != null && read.getDeclaringClass().isInstance(event) ? (String) read.invoke(event) : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    public String taskKey() {
        return taskKey;
    }

    /**
     * Sends {@code text} to every other node; returns when the cluster has taken it (Keycloak's notify is a synchronous
     * put into the replicated {@code work} cache). The sending node invalidates itself, not through this message.
     */
    public void send(ClusterProvider sessionCluster, String text) throws ReflectiveOperationException {
        ClusterEvent event = (ClusterEvent) make.newInstance(text);
        (sessionCluster != null ? sessionCluster : cluster).notify(taskKey, event, true);
    }
}
