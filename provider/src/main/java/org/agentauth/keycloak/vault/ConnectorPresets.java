package org.agentauth.keycloak.vault;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The connector presets (DESIGN section 2): the well-known endpoints of common upstream providers, so that an admin
 * fills in only the client id and secret. Pure data; a preset is a starting point for the form, never applied on the
 * server behind the admin's back ({@link Connector#preset()} records which one a connector came from).
 */
public final class ConnectorPresets {

    /** Generic OpenID Connect: the URLs come from the issuer's discovery document (admin API {@code connectors/discover}). */
    public static final String OIDC = "oidc";
    /** Generic OAuth 2: every URL typed in. */
    public static final String OAUTH2 = "oauth2";

    /**
     * One preset. {@code revocationUrl} null: the provider has no RFC 7009 endpoint. {@code discovery}: the form asks for
     * an issuer and fills the URLs from its discovery document.
     */
    public record Preset(String id, String name, String authorizationUrl, String tokenUrl, String revocationUrl,
            String userinfoUrl, List<String> scopes, Map<String, String> extraAuthParams, String apiBaseUrl,
            String clientAuthMethod, boolean discovery) {
    }

    private static final List<Preset> ALL = List.of(
            new Preset("google", "Google",
                    "https://accounts.google.com/o/oauth2/v2/auth",
                    "https://oauth2.googleapis.com/token",
                    "https://oauth2.googleapis.com/revoke",
                    "https://openidconnect.googleapis.com/v1/userinfo",
                    List.of("openid", "email", "profile"),
                    params("access_type", "offline", "prompt", "consent"),
                    "https://www.googleapis.com",
                    Connector.AUTH_BASIC, false),
            new Preset("github", "GitHub",
                    "https://github.com/login/oauth/authorize",
                    "https://github.com/login/oauth/access_token",
                    null,
                    "https://api.github.com/user",
                    List.of("read:user"),
                    Map.of(),
                    "https://api.github.com",
                    Connector.AUTH_POST, false),
            new Preset("slack", "Slack",
                    "https://slack.com/openid/connect/authorize",
                    "https://slack.com/api/openid.connect.token",
                    null,
                    "https://slack.com/api/openid.connect.userInfo",
                    List.of("openid", "email", "profile"),
                    Map.of(),
                    "https://slack.com/api",
                    Connector.AUTH_POST, false),
            new Preset("microsoft", "Microsoft",
                    "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
                    "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                    null,
                    "https://graph.microsoft.com/oidc/userinfo",
                    List.of("openid", "profile", "email", "offline_access", "User.Read"),
                    Map.of(),
                    "https://graph.microsoft.com",
                    Connector.AUTH_BASIC, false),
            new Preset(OIDC, "OpenID Connect (discovery)", null, null, null, null, List.of("openid"), Map.of(), null,
                    Connector.AUTH_BASIC, true),
            new Preset(OAUTH2, "OAuth 2 (generic)", null, null, null, null, List.of(), Map.of(), null,
                    Connector.AUTH_BASIC, false));

    private ConnectorPresets() {
    }

    /** Every preset, in the order the admin page offers them. */
    public static List<Preset> all() {
        return ALL;
    }

    public static Optional<Preset> byId(String id) {
        return ALL.stream().filter(p -> p.id().equals(id)).findFirst();
    }

    /** Name-value pairs, in the given order (the order of the authorization request's extra parameters). */
    private static Map<String, String> params(String... nameValue) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            m.put(nameValue[i], nameValue[i + 1]);
        }
        return Collections.unmodifiableMap(m);
    }
}
