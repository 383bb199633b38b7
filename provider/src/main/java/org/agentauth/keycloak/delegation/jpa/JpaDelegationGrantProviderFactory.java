package org.agentauth.keycloak.delegation.jpa;

import com.google.auto.service.AutoService;
import java.util.concurrent.ConcurrentHashMap;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.delegation.DelegationGrantProviderFactory;
import org.keycloak.Config;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;

/**
 * The JPA storage of delegation grants. Owns the removal listeners: grants go with their user, their clients and their
 * realm, whatever storage the user lives in (LDAP users too).
 */
@AutoService(DelegationGrantProviderFactory.class)
public class JpaDelegationGrantProviderFactory implements DelegationGrantProviderFactory {

    public static final String PROVIDER_ID = "jpa";

    /** The last-used time of a grant is recorded at most this often. */
    static final long TOUCH_INTERVAL_MILLIS = 60_000;

    /** Past this many entries, the notes older than the interval are dropped. */
    private static final int MAX_TOUCH_NOTES = 10_000;

    /** Grant id to the time this node last recorded (or is recording) its use. */
    private final ConcurrentHashMap<String, Long> touched = new ConcurrentHashMap<>();

    @Override
    public DelegationGrantProvider create(KeycloakSession session) {
        return new JpaDelegationGrantProvider(session, this);
    }

    /** True when this caller is the one to record the grant's use now (no other did within the interval on this node). */
    boolean claimTouch(String grantId, long now) {
        boolean[] claimed = {false};
        touched.compute(grantId, (id, last) -> {
            if (last != null && last > now - TOUCH_INTERVAL_MILLIS) {
                return last;
            }
            claimed[0] = true;
            return now;
        });
        if (touched.size() > MAX_TOUCH_NOTES) {
            touched.values().removeIf(t -> t <= now - TOUCH_INTERVAL_MILLIS);
        }
        return claimed[0];
    }

    /** The use claimed at {@code now} was not recorded: let the next caller try. */
    void releaseTouch(String grantId, long now) {
        touched.remove(grantId, now);
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(event -> {
            if (event instanceof UserModel.UserRemovedEvent e) {
                grants(e.getKeycloakSession()).deleteForUser(e.getRealm(), e.getUser().getId());
            } else if (event instanceof ClientModel.ClientRemovedEvent e) {
                grants(e.getKeycloakSession()).deleteForClient(e.getClient().getRealm(), e.getClient().getId());
            } else if (event instanceof RealmModel.RealmRemovedEvent e) {
                grants(e.getKeycloakSession()).deleteForRealm(e.getRealm().getId());
            }
        });
    }

    private static DelegationGrantProvider grants(KeycloakSession session) {
        return session.getProvider(DelegationGrantProvider.class);
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }
}
