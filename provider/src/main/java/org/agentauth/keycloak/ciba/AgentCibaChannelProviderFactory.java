package org.agentauth.keycloak.ciba;

import com.google.auto.service.AutoService;
import org.keycloak.Config;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.UserModel;
import org.keycloak.protocol.oidc.grants.ciba.channel.AuthenticationChannelProvider;
import org.keycloak.protocol.oidc.grants.ciba.channel.AuthenticationChannelProviderFactory;

/**
 * Makes {@link AgentCibaChannelProvider} Keycloak's default CIBA channel with no server option: the default of an SPI
 * is its provider with the highest {@code order()} above 0, and Keycloak's HTTP channel has 0. A server that names
 * another channel ({@code --spi-ciba-auth-channel--provider=...} or {@code --spi-ciba-auth-channel--provider-default=...})
 * keeps it; then CIBA requests for agents are refused (see the README).
 */
@AutoService(AuthenticationChannelProviderFactory.class)
public class AgentCibaChannelProviderFactory implements AuthenticationChannelProviderFactory {

    public static final String PROVIDER_ID = "agent-auth";

    @Override
    public AuthenticationChannelProvider create(KeycloakSession session) {
        return new AgentCibaChannelProvider(session);
    }

    @Override
    public int order() {
        return 10;
    }

    @Override
    public void init(Config.Scope config) {
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(event -> {
            if (event instanceof UserModel.UserRemovedEvent e) {
                new CibaRequests(e.getKeycloakSession()).deleteForUser(e.getRealm(), e.getUser().getId());
            } else if (event instanceof ClientModel.ClientRemovedEvent e) {
                new CibaRequests(e.getKeycloakSession()).deleteForClient(e.getClient().getRealm(), e.getClient().getId());
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
