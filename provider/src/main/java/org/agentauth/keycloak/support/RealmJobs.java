package org.agentauth.keycloak.support;

import java.util.function.BiConsumer;
import org.jboss.logging.Logger;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.KeycloakModelUtils;

/** Start-up work that the extension does in every realm. */
public final class RealmJobs {

    private static final Logger LOG = Logger.getLogger(RealmJobs.class);

    private RealmJobs() {
    }

    /**
     * Runs {@code job} for every realm, each realm in its own transaction, so that one realm's failure (e.g. another
     * cluster node doing the same work at the same moment) is logged as a warning and leaves the others alone.
     *
     * @param what what the job does, for the warning ("create client agent-auth-admin")
     */
    public static void eachRealmInOwnTransaction(KeycloakSessionFactory factory, String what, BiConsumer<KeycloakSession, RealmModel> job) {
        KeycloakModelUtils.runJobInTransaction(factory, session ->
                session.realms().getRealmsStream().map(RealmModel::getId).toList().forEach(id -> {
                    try {
                        KeycloakModelUtils.runJobInTransaction(factory, s -> {
                            RealmModel realm = s.realms().getRealm(id);
                            if (realm != null) {
                                job.accept(s, realm);
                            }
                        });
                    } catch (RuntimeException e) {
                        LOG.warnf("Could not %s in realm %s: %s", what, id, e.toString());
                    }
                }));
    }
}
