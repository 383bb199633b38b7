package org.agentauth.keycloak.support.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jboss.logging.Logger;
import org.keycloak.models.AbstractKeycloakTransaction;
import org.keycloak.models.KeycloakSession;

/**
 * What one session's writes make stale in a node-local row cache: each is dropped on this node before the write, and on
 * every node once the session's transaction has committed (before the request answers); after a rollback, on this node
 * again (a read begun meanwhile may have cached the uncommitted state's neighbours). One per session and cache.
 */
public final class PendingInvalidations<T> {

    private static final Logger LOG = Logger.getLogger(PendingInvalidations.class);

    private final KeycloakSession session;
    private final Consumer<T> here;
    private final Consumer<T> everywhere;
    private List<T> pending;
    private boolean wrote;

    /**
     * @param here drops an invalidation's entries on this node only
     * @param everywhere drops them on this node and sends the invalidation to the others
     */
    public PendingInvalidations(KeycloakSession session, Consumer<T> here, Consumer<T> everywhere) {
        this.session = session;
        this.here = here;
        this.everywhere = everywhere;
    }

    /** To be called before the write that makes {@code inv} stale, in the session's transaction. */
    public void add(T inv) {
        wrote = true;
        here.accept(inv);
        if (pending == null) {
            List<T> mine = new ArrayList<>();
            try {
                session.getTransactionManager().enlistAfterCompletion(new AbstractKeycloakTransaction() {
                    @Override
                    protected void commitImpl() {
                        mine.forEach(everywhere);
                    }

                    @Override
                    protected void rollbackImpl() {
                        mine.forEach(here);
                    }
                });
            } catch (RuntimeException e) {
                // no transaction to wait for: the write is as good as done, tell everyone now
                LOG.debugf("invalidating at once (%s)", e.toString());
                everywhere.accept(inv);
                return;
            }
            pending = mine;
        }
        pending.add(inv);
    }

    /** True once this session has written: its reads then go to the database, not the cache. */
    public boolean any() {
        return wrote;
    }
}
