package org.agentauth.keycloak.cimd;

import com.google.auto.service.AutoService;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.keycloak.Config;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.provider.ProviderConfigurationBuilder;
import org.keycloak.provider.ServerInfoAwareProviderFactory;

/** The server's CIMD options ({@link CimdSpi}), read once at start-up. */
@AutoService(CimdServerSettingsFactory.class)
public class DefaultCimdServerSettingsFactory implements CimdServerSettingsFactory, CimdServerSettings, ServerInfoAwareProviderFactory {

    public static final String PROVIDER_ID = "default";
    public static final int DEFAULT_FETCHES_PER_MINUTE = 20;

    private Set<String> allowedHosts = Set.of();
    private CimdRateBound rate = new CimdRateBound(DEFAULT_FETCHES_PER_MINUTE);

    @Override
    public CimdServerSettings create(KeycloakSession session) {
        return this;
    }

    @Override
    public void init(Config.Scope config) {
        String hosts = config.get("allowed-hosts");
        allowedHosts = hosts == null ? Set.of() : List.of(hosts.split(",")).stream().map(String::trim)
                .filter(h -> !h.isEmpty()).map(h -> h.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
        int perMinute = config.getInt("fetches-per-minute", DEFAULT_FETCHES_PER_MINUTE);
        rate = new CimdRateBound(Math.max(1, perMinute));
    }

    @Override
    public boolean hostAllowListed(String host) {
        return host != null && allowedHosts.contains(host.toLowerCase(Locale.ROOT));
    }

    @Override
    public CimdRateBound rateBound() {
        return rate;
    }

    @Override
    public Map<String, String> getOperationalInfo() {
        Map<String, String> info = new LinkedHashMap<>();
        info.put("allowed-hosts", allowedHosts.isEmpty() ? "(none: public addresses only)" : String.join(",", allowedHosts));
        info.put("fetches-per-minute", Integer.toString(rate.perMinute()));
        return info;
    }

    @Override
    public List<ProviderConfigProperty> getConfigMetadata() {
        return ProviderConfigurationBuilder.create()
                .property().name("allowed-hosts").type("string")
                .helpText("Hosts whose client metadata documents may be fetched although not public, comma-separated (tests only)").add()
                .property().name("fetches-per-minute").type("int")
                .helpText("Document fetches per realm and host per minute (default 20)").add()
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
