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
import org.keycloak.models.ModelException;
import org.keycloak.models.ModelValidationException;
import org.keycloak.models.RealmModel;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;

/**
 * The connector component type {@value #PROVIDER_ID}: any OAuth 2 provider (the presets fill in its fields). Validates
 * the configuration wherever a connector is saved (our admin API, Keycloak's component API, realm creation and import)
 * with one host policy, marks the connector's connections EXPIRED when the origin of a URL the vault sends a token or
 * the secret to changes (and drops a secret not typed in again), and deletes them with it.
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

    /**
     * Session attribute (suffix: the component id) by which our admin API says that the admin typed the client secret in
     * this request, so that an origin change keeps it even when it equals the stored one.
     */
    public static final String SECRET_REENTERED = "agent-auth.connector.secret-reentered.";
    /** The option that allows a non-public or plain-http host (named in refusals at start-up import). */
    public static final String ALLOWED_HOSTS_OPTION = "--spi-agent-auth-vault--default--allowed-hosts";

    /**
     * One host policy on every save path (DESIGN section 5): our admin API, Keycloak's component API, realm creation and
     * realm import all come here, with the same resolution and refusal. A refusal in a request is a
     * {@link ModelValidationException} (Keycloak answers it 400 with the reason, never 500). In a realm imported without
     * a request (start-up {@code --import-realm}, {@code kc.sh import}) the connector is kept, disabled
     * ({@link Connector#POLICY_REFUSAL}), with one WARN line, so that Keycloak starts. When the origin of a URL the vault
     * sends a token or the secret to changes and the secret was not typed in again, the secret is dropped: it never
     * goes to a new origin.
     */
    @Override
    public void validateConfiguration(KeycloakSession session, RealmModel realm, ComponentModel model) throws ComponentValidationException {
        model.getConfig().remove(Connector.POLICY_REFUSAL); // the server's own mark: only set below, never kept from a body
        List<ConnectorValidator.Problem> problems = ConnectorValidator.validate(session.getProvider(VaultSettings.class), model, true);
        if (!problems.isEmpty()) {
            ConnectorValidator.Problem first = problems.get(0);
            String url = Connector.TOKEN_URLS.contains(first.field()) || Connector.LOGO_URI.equals(first.field())
                    ? shownUrl(model.get(first.field())) : null;
            if (!inRequest(session)) {
                model.getConfig().putSingle(Connector.POLICY_REFUSAL, first.message());
                LOG.warnf("Realm %s: connector %s refused by the host policy and kept disabled: %s%s. Allow the host with %s=<hosts> "
                        + "(or correct the URL), then save the connector again", realm.getName(), model.getName(), first.message(),
                        url == null ? "" : " (" + url + ")", ALLOWED_HOSTS_OPTION);
            } else {
                String message = "Connector " + model.getName() + " in realm " + realm.getName() + ": " + first.message()
                        + (url == null ? "" : " (" + url + "; the server allows a host with " + ALLOWED_HOSTS_OPTION + "=<hosts>)")
                        + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more)" : "");
                // Keycloak answers a ModelValidationException 400, with the message as error_description when its cause is a
                // ModelException (a ComponentValidationException would be a 500 on realm creation)
                ModelValidationException refusal = new ModelValidationException(message);
                refusal.initCause(new ModelException(message));
                throw refusal;
            }
        }
        boolean taken = Connector.components(realm)
                .anyMatch(other -> Objects.equals(other.getName(), model.getName()) && !Objects.equals(other.getId(), model.getId()));
        if (taken) {
            throw new ComponentValidationException("A connector with alias " + model.getName() + " exists");
        }
        ComponentModel stored = model.getId() == null ? null : realm.getComponent(model.getId());
        if (stored != null && model.get(Connector.CLIENT_SECRET) != null
                && Objects.equals(stored.get(Connector.CLIENT_SECRET), model.get(Connector.CLIENT_SECRET))
                && session.getAttribute(SECRET_REENTERED + model.getId()) == null) {
            List<String> moved = Connector.originChanges(Connector.of(stored), Connector.of(model));
            if (!moved.isEmpty()) {
                model.getConfig().remove(Connector.CLIENT_SECRET);
                LOG.infof("Connector %s in realm %s: %s moved to another origin without the client secret typed in again: "
                        + "the secret was removed; set it again", model.getName(), realm.getName(), String.join(", ", moved));
            }
        }
    }

    /** Whether this runs in an HTTP request (an admin's save), not in an import without one (start-up, CLI). */
    private static boolean inRequest(KeycloakSession session) {
        try {
            // Keycloak's context throws when there is no HTTP request (its client connection has a local fallback)
            return session.getContext().getHttpRequest() != null;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** A URL as it may appear in a message or log: scheme, host, port and path only (no user information, no query). */
    static String shownUrl(String url) {
        if (url == null) {
            return null;
        }
        try {
            java.net.URI u = java.net.URI.create(url.trim());
            if (u.getScheme() != null && u.getHost() != null) {
                return new java.net.URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), null, null).toString();
            }
        } catch (IllegalArgumentException | java.net.URISyntaxException e) {
            // shown cut and cleaned below
        }
        return org.agentauth.keycloak.support.Strings.safe(url.replaceAll("[?#@].*", ""), 200);
    }

    /**
     * Marks the connector's connections EXPIRED when the origin of any URL the vault sends a token or the secret to
     * changed (in the same transaction as the change: a connection read ACTIVE was stored under the origins it is sent
     * to).
     */
    @Override
    public void onUpdate(KeycloakSession session, RealmModel realm, ComponentModel oldModel, ComponentModel newModel) {
        List<String> moved = Connector.originChanges(Connector.of(oldModel), Connector.of(newModel));
        if (!moved.isEmpty()) {
            int n = session.getProvider(UpstreamConnectionProvider.class).expireForConnector(realm, newModel.getId());
            session.setAttribute(EXPIRED_BY_UPDATE + newModel.getId(), moved);
            LOG.infof("Connector %s in realm %s moved %s to another origin: %d connection(s) marked EXPIRED",
                    newModel.getName(), realm.getName(), String.join(", ", moved), n);
        }
    }

    /** Session attribute (suffix: the component id): the fields whose origin the update in this request changed. */
    public static final String EXPIRED_BY_UPDATE = "agent-auth.connector.origins-moved.";

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
