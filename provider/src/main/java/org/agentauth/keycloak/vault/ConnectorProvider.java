package org.agentauth.keycloak.vault;

import org.keycloak.provider.Provider;

/**
 * The component type of connectors ({@link ConnectorSpi}): a connector is a realm component whose provider type is this
 * interface's name. The provider itself holds nothing; {@link Connector} reads the component's configuration.
 */
public interface ConnectorProvider extends Provider {

    Connector connector();

    @Override
    default void close() {
    }
}
