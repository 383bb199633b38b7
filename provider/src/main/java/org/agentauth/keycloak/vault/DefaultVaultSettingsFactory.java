package org.agentauth.keycloak.vault;

import com.google.auto.service.AutoService;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.agentauth.keycloak.vault.crypto.KeyRing;
import org.jboss.logging.Logger;
import org.keycloak.Config;
import org.keycloak.common.util.Environment;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;
import org.keycloak.provider.ServerInfoAwareProviderFactory;

/**
 * The vault's keys and host allow-list from the server configuration, read once at start-up.
 * <ul>
 * <li>{@code keys}: {@code kid:base64key[,kid:base64key...]}, 32-byte AES keys. Set it through the environment
 * ({@code KC_SPI_AGENT_AUTH_VAULT__DEFAULT__KEYS}) or Keycloak's config keystore rather than the command line.</li>
 * <li>{@code active-key}: the key id new ciphertexts use (default: the first listed). Rotation: add a key, make it
 * active, restart; rows are rewritten under it when used or by the admin API's re-encryption; drop the old key once
 * none uses it.</li>
 * <li>{@code allowed-hosts}: comma-separated hosts connectors may reach although they are not public (the demo:
 * {@code localhost}).</li>
 * </ul>
 * Without keys the vault uses a development key under {@code start-dev} (logged once) and refuses to store or use
 * tokens otherwise; the server-info page says which.
 */
@AutoService(VaultSettingsFactory.class)
public class DefaultVaultSettingsFactory implements VaultSettingsFactory, ServerInfoAwareProviderFactory, VaultSettings {

    public static final String PROVIDER_ID = "default";
    private static final Logger LOG = Logger.getLogger(DefaultVaultSettingsFactory.class);

    private KeyRing keys = KeyRing.none();
    private Set<String> allowedHosts = Set.of();
    private String keyProblem;

    @Override
    public VaultSettings create(KeycloakSession session) {
        return this;
    }

    @Override
    public void init(Config.Scope config) {
        String spec = config.get("keys");
        if (spec != null && !spec.isBlank()) {
            try {
                keys = KeyRing.parse(spec, config.get("active-key"));
            } catch (IllegalArgumentException e) {
                // a broken key setting must not pass unnoticed, nor fall back to the development key
                keyProblem = e.getMessage();
                keys = KeyRing.none();
                LOG.errorf("Agent Auth vault: the configured keys are unusable (%s); the vault refuses to store or use tokens", keyProblem);
            }
        } else if (Environment.isDevMode()) {
            keys = KeyRing.development();
            LOG.warn("Agent Auth vault: no encryption key configured (spi-agent-auth-vault--default--keys); start-dev uses "
                    + "the built-in development key. Never run production this way.");
        } else {
            keys = KeyRing.none();
            LOG.warn("Agent Auth vault: no encryption key configured (spi-agent-auth-vault--default--keys); the vault refuses "
                    + "to store or use upstream tokens until one is.");
        }
        String hosts = config.get("allowed-hosts");
        allowedHosts = hosts == null ? Set.of() : List.of(hosts.split(",")).stream().map(String::trim)
                .filter(h -> !h.isEmpty()).map(h -> h.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    }

    @Override
    public KeyRing keys() {
        return keys;
    }

    @Override
    public boolean hostAllowListed(String host) {
        return host != null && allowedHosts.contains(host.toLowerCase(Locale.ROOT));
    }

    @Override
    public Map<String, String> getOperationalInfo() {
        Map<String, String> info = new LinkedHashMap<>();
        switch (keys.source()) {
            case CONFIGURED -> info.put("encryption", "AES-256-GCM, active key " + keys.activeKeyId() + " of " + keys.keyIds().size());
            case DEVELOPMENT -> info.put("encryption", "AES-256-GCM with the DEVELOPMENT key (start-dev only): configure keys for production");
            case NONE -> info.put("encryption", "DISABLED: no usable key (" + (keyProblem == null ? "none configured" : keyProblem)
                    + "); the vault refuses to store or use upstream tokens");
        }
        info.put("allowed-hosts", allowedHosts.isEmpty() ? "(none: public addresses only)" : String.join(",", allowedHosts));
        return info;
    }

    @Override
    public List<ProviderConfigProperty> getConfigMetadata() {
        return ProviderConfigurationBuilder.create()
                .property().name("keys").type("string").helpText("Vault encryption keys: kid:base64(32 bytes)[,kid:...]").add()
                .property().name("active-key").type("string").helpText("Key id that encrypts new and rewritten tokens (default: the first)").add()
                .property().name("allowed-hosts").type("string").helpText("Hosts connectors may reach although not public, comma-separated").add()
                .build();
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
