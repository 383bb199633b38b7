package org.agentauth.keycloak.support.jpa;

import com.google.auto.service.AutoService;
import java.util.List;
import org.keycloak.Config;
import org.keycloak.connections.jpa.entityprovider.JpaEntityProvider;
import org.keycloak.connections.jpa.entityprovider.JpaEntityProviderFactory;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;

/**
 * The one {@link JpaEntityProvider} of the extension: it names the Liquibase changelog of every feature's tables
 * (H2, PostgreSQL, MariaDB) and knows no feature. Each feature keeps its entities in its own {@code jpa} package and adds
 * its changesets to {@code META-INF/agent-auth-changelog-master.xml}; its storage provider factory owns the removal
 * listeners.
 *
 * <p>Entities are not listed here: Keycloak's Quarkus distribution (the only one 26.x ships) registers every
 * {@code @Entity} class of a provider JAR from the JAR's Jandex index (hence {@code META-INF/beans.xml}), and never reads
 * {@link #getEntities()}; Keycloak 26.8 deprecates that method. Listing them would make this package import every
 * feature.
 */
@AutoService(JpaEntityProviderFactory.class)
public class AgentAuthJpaEntityProviderFactory implements JpaEntityProviderFactory, JpaEntityProvider {

    /** Also names the changelog table: DATABASECHANGELOG_ + the first letters of this id. Never change it. */
    public static final String PROVIDER_ID = "agentauth-entities";

    @Override
    public JpaEntityProvider create(KeycloakSession session) {
        return this;
    }

    @Override
    public List<Class<?>> getEntities() {
        return List.of();
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

    @Override
    public void postInit(KeycloakSessionFactory factory) {
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }
}
