package org.agentauth.keycloak.vault;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.agentauth.keycloak.support.Strings;
import org.keycloak.component.ComponentModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;

/**
 * A connector (DESIGN section 2): the realm's configuration of one upstream OAuth 2 provider. Stored as a realm
 * component of type {@link ConnectorProvider} (so realm export and import carry it); the component's name is the
 * alias. The client secret may be a {@code ${vault.key}} reference, resolved by {@link #clientSecret(KeycloakSession)}.
 */
public record Connector(String id, String alias, String displayName, String logoUri, String authorizationUrl,
        String tokenUrl, String revocationUrl, String userinfoUrl, String clientId, String clientSecretRef,
        String clientAuthMethod, Set<String> scopes, Map<String, String> extraAuthParams, String apiBaseUrl,
        String deliveryMode, String preset, int timeoutMillis, long maxResponseBytes, String policyRefusal) {

    public static final String DISPLAY_NAME = "displayName";
    public static final String LOGO_URI = "logoUri";
    public static final String AUTHORIZATION_URL = "authorizationUrl";
    public static final String TOKEN_URL = "tokenUrl";
    public static final String REVOCATION_URL = "revocationUrl";
    public static final String USERINFO_URL = "userinfoUrl";
    public static final String CLIENT_ID = "clientId";
    public static final String CLIENT_SECRET = "clientSecret";
    public static final String CLIENT_AUTH_METHOD = "clientAuthMethod";
    public static final String SCOPES = "scopes";
    public static final String EXTRA_AUTH_PARAMS = "extraAuthParams";
    public static final String API_BASE_URL = "apiBaseUrl";
    public static final String DELIVERY_MODE = "deliveryMode";
    public static final String PRESET = "preset";
    public static final String TIMEOUT_MILLIS = "timeoutMillis";
    public static final String MAX_RESPONSE_BYTES = "maxResponseBytes";
    /**
     * Set by the server only (never by an admin): why the host policy refused this connector when a realm was imported
     * at start-up. Such a connector is kept, disabled, until a save that passes the policy clears it.
     */
    public static final String POLICY_REFUSAL = "policyRefusal";
    /** The URLs the vault sends a token or the client secret to: an origin change of any expires the connections. */
    public static final java.util.List<String> TOKEN_URLS = java.util.List.of(AUTHORIZATION_URL, TOKEN_URL, REVOCATION_URL,
            USERINFO_URL, API_BASE_URL);

    /** Client authentication at the upstream token and revocation endpoints. */
    public static final String AUTH_BASIC = "client_secret_basic";
    public static final String AUTH_POST = "client_secret_post";

    /** The agent reaches the upstream only through the brokered proxy. */
    public static final String DELIVERY_PROXY = "proxy";
    /** The proxy, and the vault exchange may release a fresh upstream access token to the agent. */
    public static final String DELIVERY_PROXY_EXCHANGE = "proxy_exchange";

    public static final int DEFAULT_TIMEOUT_MILLIS = 10_000;
    public static final long DEFAULT_MAX_RESPONSE_BYTES = 10L * 1024 * 1024;

    /** The connector with this alias in the realm, if any. */
    public static Optional<Connector> byAlias(RealmModel realm, String alias) {
        if (alias == null || alias.isEmpty() || alias.length() > 255) {
            return Optional.empty();
        }
        return components(realm).filter(c -> alias.equals(c.getName())).findFirst().map(Connector::of);
    }

    public static Optional<Connector> byId(RealmModel realm, String id) {
        if (id == null) {
            return Optional.empty();
        }
        ComponentModel c = realm.getComponent(id);
        return c != null && ConnectorProvider.class.getName().equals(c.getProviderType()) ? Optional.of(of(c)) : Optional.empty();
    }

    /** Every connector of the realm, by alias. */
    public static Stream<Connector> all(RealmModel realm) {
        return components(realm).map(Connector::of).sorted((a, b) -> a.alias().compareTo(b.alias()));
    }

    static Stream<ComponentModel> components(RealmModel realm) {
        return realm.getComponentsStream(realm.getId(), ConnectorProvider.class.getName());
    }

    public static Connector of(ComponentModel c) {
        return new Connector(c.getId(), c.getName(), blankToNull(c.get(DISPLAY_NAME)), blankToNull(c.get(LOGO_URI)),
                blankToNull(c.get(AUTHORIZATION_URL)), blankToNull(c.get(TOKEN_URL)), blankToNull(c.get(REVOCATION_URL)),
                blankToNull(c.get(USERINFO_URL)), blankToNull(c.get(CLIENT_ID)), blankToNull(c.get(CLIENT_SECRET)),
                AUTH_POST.equals(c.get(CLIENT_AUTH_METHOD)) ? AUTH_POST : AUTH_BASIC, Strings.split(c.get(SCOPES)),
                parseParams(c.get(EXTRA_AUTH_PARAMS)), blankToNull(c.get(API_BASE_URL)),
                DELIVERY_PROXY_EXCHANGE.equals(c.get(DELIVERY_MODE)) ? DELIVERY_PROXY_EXCHANGE : DELIVERY_PROXY,
                blankToNull(c.get(PRESET)), positiveInt(c.get(TIMEOUT_MILLIS), DEFAULT_TIMEOUT_MILLIS),
                positiveLong(c.get(MAX_RESPONSE_BYTES), DEFAULT_MAX_RESPONSE_BYTES), blankToNull(c.get(POLICY_REFUSAL)));
    }

    /** False for a connector the host policy refused at a start-up import: nobody may connect to or use it. */
    public boolean enabled() {
        return policyRefusal == null;
    }

    /** The name shown to users: the display name, else the alias. */
    public String name() {
        return displayName != null ? displayName : alias;
    }

    /** The client secret, with a {@code ${vault.key}} reference resolved through Keycloak's vault. */
    public String clientSecret(KeycloakSession session) {
        if (clientSecretRef == null) {
            return null;
        }
        return session.vault().getStringSecret(clientSecretRef).get().orElse(clientSecretRef.startsWith("${vault.") ? null : clientSecretRef);
    }

    /**
     * The connect flow's URL a user can open as it is ({@code {realm issuer}/agent-auth/connectors/{alias}/connect}),
     * naming the client that sends the user there (an agent: the confirmation page names it).
     */
    public String connectUri(String issuer, String clientId) {
        return issuer + "/agent-auth/connectors/" + alias + "/connect?client_id="
                + java.net.URLEncoder.encode(clientId, java.nio.charset.StandardCharsets.UTF_8);
    }

    public boolean releasesTokens() {
        return DELIVERY_PROXY_EXCHANGE.equals(deliveryMode);
    }

    /**
     * The origin (scheme, host, port) of each URL the vault sends a token or the client secret to, by field; a field
     * without a URL is absent. Tokens and the secret go only to the origins they were stored under: a change of any
     * marks the connector's connections EXPIRED and needs the secret again.
     */
    public Map<String, String> origins() {
        Map<String, String> m = new LinkedHashMap<>();
        String[] urls = {authorizationUrl, tokenUrl, revocationUrl, userinfoUrl, apiBaseUrl};
        for (int i = 0; i < urls.length; i++) {
            String o = originOf(urls[i]);
            if (o != null) {
                m.put(TOKEN_URLS.get(i), o);
            }
        }
        return m;
    }

    /** The fields whose origin differs between two configurations of a connector (added and removed URLs count). */
    public static java.util.List<String> originChanges(Connector before, Connector after) {
        Map<String, String> a = before.origins();
        Map<String, String> b = after.origins();
        return TOKEN_URLS.stream().filter(f -> !java.util.Objects.equals(a.get(f), b.get(f))).toList();
    }

    /**
     * Lower-cased {@code scheme://host:port} of a URL (the port made explicit: 443 for https, 80 for http), or the URL
     * itself when it has no host (so that two different unusable values still differ); null for null.
     */
    public static String originOf(String url) {
        if (url == null || url.isBlank()) {
            return null;
        }
        try {
            URI u = URI.create(url.trim());
            if (u.getHost() == null || u.getScheme() == null) {
                return url.trim();
            }
            String scheme = u.getScheme().toLowerCase(java.util.Locale.ROOT);
            int port = u.getPort() >= 0 ? u.getPort() : scheme.equals("https") ? 443 : scheme.equals("http") ? 80 : -1;
            return scheme + "://" + u.getHost().toLowerCase(java.util.Locale.ROOT) + ":" + port;
        } catch (IllegalArgumentException e) {
            return url.trim();
        }
    }

    /** Lower-cased {@code host[:port]} of a URL, or null. */
    public static String hostOf(String url) {
        if (url == null) {
            return null;
        }
        try {
            URI u = URI.create(url.trim());
            return u.getHost() == null ? null : u.getHost().toLowerCase(java.util.Locale.ROOT) + (u.getPort() < 0 ? "" : ":" + u.getPort());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** {@code a=b&c=d} (form-encoded, as an admin writes it) to an ordered map; blank entries skipped. */
    public static Map<String, String> parseParams(String value) {
        Map<String, String> out = new LinkedHashMap<>();
        if (value == null || value.isBlank()) {
            return out;
        }
        for (String pair : value.trim().split("&")) {
            if (pair.isBlank()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            String v = eq < 0 ? "" : pair.substring(eq + 1);
            out.put(decode(k.trim()), decode(v.trim()));
        }
        return out;
    }

    private static String decode(String s) {
        try {
            return java.net.URLDecoder.decode(s, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static int positiveInt(String s, int dflt) {
        try {
            int v = s == null ? dflt : Integer.parseInt(s.trim());
            return v > 0 ? v : dflt;
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    private static long positiveLong(String s, long dflt) {
        try {
            long v = s == null ? dflt : Long.parseLong(s.trim());
            return v > 0 ? v : dflt;
        } catch (NumberFormatException e) {
            return dflt;
        }
    }
}
