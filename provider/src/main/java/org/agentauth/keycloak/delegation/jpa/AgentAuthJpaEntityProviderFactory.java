package org.agentauth.keycloak.delegation.jpa;

import com.google.auto.service.AutoService;
import java.util.List;
import org.keycloak.Config;
import org.keycloak.connections.jpa.entityprovider.JpaEntityProvider;
import org.keycloak.connections.jpa.entityprovider.JpaEntityProviderFactory;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.ClientModel;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.agentauth.keycloak.delegation.DelegationGrants;

/** Registers the extension's JPA entities and its Liquibase changelog (H2, PostgreSQL, MariaDB). */
@AutoService(JpaEntityProviderFactory.class)
public class AgentAuthJpaEntityProviderFactory implements JpaEntityProviderFactory, JpaEntityProvider {

    /** Also names the changelog table: DATABASECHANGELOG_ + the first letters of this id. */
    public static final String PROVIDER_ID = "agentauth-entities";

    @Override
    public JpaEntityProvider create(KeycloakSession session) {
        return this;
    }

    @Override
    public List<Class<?>> getEntities() {
        return List.of(AgentAuthDelegationGrantEntity.class);
    }

    @Override
    public String getChangelogLocation() {
        return "META-INF/agent-auth-changelog-master.xml";
    }

    @Override
    public String getFactoryId() {
        return PROVIDER_ID;
    }

    @Override
    public void init(Config.Scope config) {
    }

    /** Grants go with their user, client and realm, whatever storage the user lives in (LDAP users too). */
    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(event -> {
            if (event instanceof UserModel.UserRemovedEvent e) {
                new DelegationGrants(e.getKeycloakSession()).deleteForUser(e.getRealm(), e.getUser().getId());
            } else if (event instanceof ClientModel.ClientRemovedEvent e) {
                new DelegationGrants(e.getKeycloakSession()).deleteForClient(e.getClient().getRealm(), e.getClient().getId());
            } else if (event instanceof RealmModel.RealmRemovedEvent e) {
                new DelegationGrants(e.getKeycloakSession()).deleteForRealm(e.getRealm().getId());
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
