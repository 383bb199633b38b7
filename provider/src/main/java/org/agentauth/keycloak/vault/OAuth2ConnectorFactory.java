package org.agentauth.keycloak.vault;

import com.google.auto.service.AutoService;
import java.util.List;
import java.util.Objects;
import org.jboss.logging.Logger;
import org.keycloak.Config;
import org.keycloak.component.ComponentModel;
import org.keycloak.component.ComponentValidationException;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;

/**
 * The connector component type {@value #PROVIDER_ID}: any OAuth 2 provider (the presets fill in its fields). Validates
 * the configuration wherever a connector is saved (our admin API, Keycloak's component API, realm import), marks the
 * connector's connections EXPIRED when its authorization, token or API host changes, and deletes them with it.
 */
@AutoService(ConnectorProviderFactory.class)
public class OAuth2ConnectorFactory implements ConnectorProviderFactory {

    public static final String PROVIDER_ID = "oauth2";
    private static final Logger LOG = Logger.getLogger(OAuth2ConnectorFactory.class);

    @Override
    public ConnectorProvider create(KeycloakSession session, ComponentModel model) {
        Connector c = Connector.of(model);
        return () -> c;
    }

    @Override
    public void validateConfiguration(KeycloakSession session, RealmModel realm, ComponentModel model) throws ComponentValidationException {
        List<ConnectorValidator.Problem> problems = ConnectorValidator.validate(session.getProvider(VaultSettings.class), model, false);
        if (!problems.isEmpty()) {
            throw new ComponentValidationException(problems.get(0).message());
        }
        boolean taken = Connector.components(realm)
                .anyMatch(other -> Objects.equals(other.getName(), model.getName()) && !Objects.equals(other.getId(), model.getId()));
        if (taken) {
            throw new ComponentValidationException("A connector with alias " + model.getName() + " exists");
        }
    }

    @Override
    public void onUpdate(KeycloakSession session, RealmModel realm, ComponentModel oldModel, ComponentModel newModel) {
        if (!Connector.of(oldModel).hosts().equals(Connector.of(newModel).hosts())) {
            int n = session.getProvider(UpstreamConnectionProvider.class).expireForConnector(realm, newModel.getId());
            LOG.infof("Connector %s in realm %s changed its authorization, token or API host: %d connection(s) marked EXPIRED",
                    newModel.getName(), realm.getName(), n);
        }
    }

    @Override
    public void preRemove(KeycloakSession session, RealmModel realm, ComponentModel model) {
        session.getProvider(UpstreamConnectionProvider.class).deleteForConnector(realm, model.getId());
    }

    @Override
    public String getHelpText() {
        return "Agent Auth connector: an upstream OAuth 2 provider whose tokens the vault keeps per user";
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        return ProviderConfigurationBuilder.create()
                .property().name(Connector.DISPLAY_NAME).label("Display name").type(ProviderConfigProperty.STRING_TYPE).add()
                .property().name(Connector.LOGO_URI).label("Logo URL").type(ProviderConfigProperty.STRING_TYPE).add()
                .property().name(Connector.AUTHORIZATION_URL).label("Authorization URL").type(ProviderConfigProperty.STRING_TYPE).required(true).add()
                .property().name(Connector.TOKEN_URL).label("Token URL").type(ProviderConfigProperty.STRING_TYPE).required(true).add()
                .property().name(Connector.REVOCATION_URL).label("Revocation URL (RFC 7009)").type(ProviderConfigProperty.STRING_TYPE).add()
                .property().name(Connector.USERINFO_URL).label("Userinfo URL").type(ProviderConfigProperty.STRING_TYPE).add()
                .property().name(Connector.CLIENT_ID).label("Client ID").type(ProviderConfigProperty.STRING_TYPE).required(true).add()
                .property().name(Connector.CLIENT_SECRET).label("Client secret").type(ProviderConfigProperty.PASSWORD).secret(true).add()
                .property().name(Connector.CLIENT_AUTH_METHOD).label("Client authentication").type(ProviderConfigProperty.LIST_TYPE)
                    .options(Connector.AUTH_BASIC, Connector.AUTH_POST).defaultValue(Connector.AUTH_BASIC).add()
                .property().name(Connector.SCOPES).label("Scopes").type(ProviderConfigProperty.STRING_TYPE).add()
                .property().name(Connector.EXTRA_AUTH_PARAMS).label("Extra authorization parameters").type(ProviderConfigProperty.STRING_TYPE).add()
                .property().name(Connector.API_BASE_URL).label("API base URL").type(ProviderConfigProperty.STRING_TYPE).add()
                .property().name(Connector.DELIVERY_MODE).label("Token delivery").type(ProviderConfigProperty.LIST_TYPE)
                    .options(Connector.DELIVERY_PROXY, Connector.DELIVERY_PROXY_EXCHANGE).defaultValue(Connector.DELIVERY_PROXY).add()
                .property().name(Connector.PRESET).label("Preset").type(ProviderConfigProperty.STRING_TYPE).add()
                .property().name(Connector.TIMEOUT_MILLIS).label("Upstream timeout (ms)").type(ProviderConfigProperty.STRING_TYPE).add()
                .property().name(Connector.MAX_RESPONSE_BYTES).label("Largest proxied response (bytes)").type(ProviderConfigProperty.STRING_TYPE).add()
                .build();
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
