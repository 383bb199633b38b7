package org.agentauth.keycloak;

import com.google.auto.service.AutoService;
import java.util.LinkedHashMap;
import java.util.Map;
import org.agentauth.keycloak.account.AccountCors;
import org.agentauth.keycloak.support.AgentAuthVersion;
import org.agentauth.keycloak.vault.connect.ConnectClient;
import org.keycloak.Config;
import org.keycloak.common.Version;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.provider.ServerInfoAwareProviderFactory;
import org.keycloak.services.resource.RealmResourceProvider;
import org.keycloak.services.resource.RealmResourceProviderFactory;

/**
 * The extension's REST root, {@code /realms/{realm}/agent-auth/}. It also reports the extension's build on the
 * admin console's server-info page (Provider info, SPI {@code realm-restapi-extension}, provider {@code agent-auth}).
 */
@AutoService(RealmResourceProviderFactory.class)
public class AgentAuthResourceProviderFactory implements RealmResourceProviderFactory, ServerInfoAwareProviderFactory {

    public static final String PROVIDER_ID = "agent-auth";

    @Override
    public RealmResourceProvider create(KeycloakSession session) {
        return new AgentAuthResourceProvider(session);
    }

    @Override
    public void init(Config.Scope config) {
    }

    /** Keeps the account API's CORS origins in step with client changes on this node. */
    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(AccountCors::onEvent);
        factory.register(event -> ConnectClient.onEvent(factory, event));
    }

    @Override
    public void close() {
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public Map<String, String> getOperationalInfo() {
        Map<String, String> info = new LinkedHashMap<>();
        info.put("version", AgentAuthVersion.version());
        info.put("built-against-keycloak", AgentAuthVersion.builtAgainstKeycloak());
        info.put("running-on-keycloak", Version.VERSION);
        return info;
    }
}
