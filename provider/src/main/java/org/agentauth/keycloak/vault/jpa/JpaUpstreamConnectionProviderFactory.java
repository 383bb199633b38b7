package org.agentauth.keycloak.vault.jpa;

import com.google.auto.service.AutoService;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.UpstreamConnectionProviderFactory;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;

/**
 * The JPA storage of connections. Owns the removal listeners: connections go with their user (whatever storage the
 * user lives in) and their realm; the connector's component factory removes them with the connector.
 */
@AutoService(UpstreamConnectionProviderFactory.class)
public class JpaUpstreamConnectionProviderFactory implements UpstreamConnectionProviderFactory {

    public static final String PROVIDER_ID = "jpa";

    @Override
    public UpstreamConnectionProvider create(KeycloakSession session) {
        return new JpaUpstreamConnectionProvider(session);
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(event -> {
            if (event instanceof UserModel.UserRemovedEvent e) {
                e.getKeycloakSession().getProvider(UpstreamConnectionProvider.class).deleteForUser(e.getRealm(), e.getUser().getId());
            } else if (event instanceof RealmModel.RealmRemovedEvent e) {
                e.getKeycloakSession().getProvider(UpstreamConnectionProvider.class).deleteForRealm(e.getRealm().getId());
            }
        });
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }
}
