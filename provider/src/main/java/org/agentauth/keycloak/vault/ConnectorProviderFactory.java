package org.agentauth.keycloak.vault;

import org.keycloak.component.ComponentFactory;

/** Factories of connector components (one today: {@code oauth2}, which every preset uses). */
public interface ConnectorProviderFactory extends ComponentFactory<ConnectorProvider, ConnectorProvider> {
}
