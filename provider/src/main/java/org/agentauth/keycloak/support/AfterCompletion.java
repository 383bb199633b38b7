package org.agentauth.keycloak.support;

import org.keycloak.models.AbstractKeycloakTransaction;
import org.keycloak.models.KeycloakSession;

/** Work that must happen when a change is made and again once the change's transaction has ended. */
public final class AfterCompletion {

    private AfterCompletion() {
    }

    /**
     * Runs {@code action} now, and again once the session's transaction has ended (committed or rolled back): for
     * forgetting a cached value, so that a value rebuilt by a concurrent request from the not yet committed state does
     * not outlive the change.
     * <p>
     * Keycloak's transaction manager refuses new participants only once its commit or rollback has begun; models change
     * (and their provider events fire) before that, while it is active. A manager that is not active has no pending
     * change to follow, so running {@code action} now is all there is to do. (No catch: a refusal would be a bug.)
     */
    public static void nowAndAfterCompletion(KeycloakSession session, Runnable action) {
        action.run();
        if (session != null && session.getTransactionManager().isActive()) {
            session.getTransactionManager().enlistAfterCompletion(new AbstractKeycloakTransaction() {
                @Override
                protected void commitImpl() {
                    action.run();
                }

                @Override
                protected void rollbackImpl() {
                    action.run();
                }
            });
        }
    }
}
