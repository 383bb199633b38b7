package org.agentauth.keycloak.support.cluster;

import java.util.function.Consumer;
import java.util.function.Function;
import org.agentauth.keycloak.support.jpa.Isolation;
import org.jboss.logging.Logger;
import org.keycloak.cluster.ClusterProvider;
import org.keycloak.models.KeycloakSession;

/**
 * A node-local row cache's link to the cluster (DESIGN section 10): opened once, on the first session, only where it is
 * safe (a read-committed database and a way to reach every node); until then, or when it cannot be, the cache must not
 * be used. Owned by the cache's provider factory.
 *
 * @param <I> the cache's invalidation
 */
public final class CacheLink<I> {

    private static final Logger LOG = Logger.getLogger(CacheLink.class);

    private final String taskKey;
    private final String what;
    private final Object cache;
    private final boolean enabled;
    private final Consumer<I> here;
    private final Function<I, String> encode;
    private final Function<String, I> decode;
    private final long ttlMillis;
    private volatile InvalidationChannel channel;
    private volatile boolean tried;

    /**
     * @param taskKey the cluster task key of this cache's messages
     * @param what the cache's name in log lines
     * @param cache the cache, as its {@code toString} describes it in the log line that says it is on
     * @param enabled whether the cache is configured on (off, the link still sends this node's invalidations)
     * @param here drops an invalidation's entries on this node
     * @param ttlMillis how long an entry may live: what a lost message costs, for the log line
     */
    public CacheLink(String taskKey, String what, Object cache, boolean enabled, Consumer<I> here, Function<I, String> encode, Function<String, I> decode,
            long ttlMillis) {
        this.taskKey = taskKey;
        this.what = what;
        this.cache = cache;
        this.enabled = enabled;
        this.here = here;
        this.encode = encode;
        this.decode = decode;
        this.ttlMillis = ttlMillis;
    }

    /**
     * True when the cache may be used: the link is open (opened now on the first call). The provider factory calls it
     * for every session it creates a provider for, whether or not its own cache is on: a node listens, and can send,
     * from its first session, and a node with the cache configured off still tells the others what it wrote.
     */
    public boolean open(KeycloakSession session) {
        if (!tried) {
            connect(session);
        }
        return channel != null;
    }

    private synchronized void connect(KeycloakSession session) {
        if (!tried) {
            channel = Isolation.readCommitted(session, what)
                    ? InvalidationChannel.open(session, taskKey, what, text -> here.accept(decode.apply(text)))
                    : null;
            tried = true;
            if (channel != null && enabled) {
                LOG.infof("%s on (%s), invalidated across the cluster under key %s", what, cache, taskKey);
            } else if (channel != null) {
                LOG.infof("%s off by configuration (%s); this node still sends its writes' invalidations under key %s", what,
                        cache, taskKey);
            }
        }
    }

    /**
     * After a committed write: drops what it names here and on every other node, before the writing request answers.
     * A failure to reach the cluster is logged: the row is changed in the database, and the other nodes' copies expire
     * within the cache's time to live.
     */
    public void everywhere(KeycloakSession session, I inv) {
        here.accept(inv);
        if (!tried && session != null) {
            connect(session); // a node that has only written so far must still tell the others
        }
        InvalidationChannel c = channel;
        if (c == null) {
            return;
        }
        try {
            c.send(session == null ? null : session.getProvider(ClusterProvider.class), encode.apply(inv));
        } catch (Exception | LinkageError e) {
            LOG.warnf("%s: invalidation %s not sent to the cluster (%s); other nodes drop their copy within %d ms", what, inv,
                    e.toString(), ttlMillis);
        }
    }
}
