package org.agentauth.keycloak.vault;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.keycloak.component.ComponentModel;

/**
 * Checks a connector's configuration field by field (admin REST API, admin page, realm import through the component
 * factory). Messages name the field and never repeat a secret.
 */
public final class ConnectorValidator {

    /** One problem with one field. */
    public record Problem(String field, String message) {
    }

    public static final String ALIAS_PATTERN = "[a-z0-9][a-z0-9_-]{0,63}";
    private static final Set<String> RESERVED_AUTH_PARAMS = Set.of("response_type", "client_id", "redirect_uri", "state",
            "code_challenge", "code_challenge_method", "scope", "nonce", "request", "request_uri");

    private ConnectorValidator() {
    }

    public static List<Problem> validate(VaultSettings settings, ComponentModel c, boolean resolveHosts) {
        List<Problem> out = new ArrayList<>();
        String alias = c.getName();
        if (alias == null || !alias.matches(ALIAS_PATTERN)) {
            out.add(new Problem("alias", "alias is required: 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit"));
        }
        url(settings, c, Connector.AUTHORIZATION_URL, true, resolveHosts, out);
        url(settings, c, Connector.TOKEN_URL, true, resolveHosts, out);
        url(settings, c, Connector.REVOCATION_URL, false, resolveHosts, out);
        url(settings, c, Connector.USERINFO_URL, false, resolveHosts, out);
        url(settings, c, Connector.API_BASE_URL, false, resolveHosts, out);
        String logo = c.get(Connector.LOGO_URI);
        if (logo != null && !logo.isBlank() && !logo.trim().matches("(?i)https?://[^\\s\"'<>]+")) {
            out.add(new Problem(Connector.LOGO_URI, "logoUri must be an absolute http(s) URL"));
        }
        String clientId = c.get(Connector.CLIENT_ID);
        if (clientId == null || clientId.isBlank()) {
            out.add(new Problem(Connector.CLIENT_ID, "clientId is required: the client id registered at the upstream provider"));
        } else if (clientId.length() > 512) {
            out.add(new Problem(Connector.CLIENT_ID, "clientId is longer than 512 characters"));
        }
        String secret = c.get(Connector.CLIENT_SECRET);
        if (secret != null && secret.length() > 4096) {
            out.add(new Problem(Connector.CLIENT_SECRET, "clientSecret is longer than 4096 characters"));
        }
        oneOf(c, Connector.CLIENT_AUTH_METHOD, Set.of(Connector.AUTH_BASIC, Connector.AUTH_POST), out);
        oneOf(c, Connector.DELIVERY_MODE, Set.of(Connector.DELIVERY_PROXY, Connector.DELIVERY_PROXY_EXCHANGE), out);
        String scopes = c.get(Connector.SCOPES);
        if (scopes != null && !scopes.isBlank() && !scopes.trim().matches("[\\x21\\x23-\\x5B\\x5D-\\x7E]+( +[\\x21\\x23-\\x5B\\x5D-\\x7E]+)*")) {
            out.add(new Problem(Connector.SCOPES, "scopes must be space-separated scope tokens (no quotes, backslashes or control characters)"));
        }
        String extra = c.get(Connector.EXTRA_AUTH_PARAMS);
        if (extra != null && !extra.isBlank()) {
            for (String k : Connector.parseParams(extra).keySet()) {
                if (RESERVED_AUTH_PARAMS.contains(k) || !k.matches("[A-Za-z0-9_.-]{1,64}")) {
                    out.add(new Problem(Connector.EXTRA_AUTH_PARAMS, "extraAuthParams may not set '" + (k.length() > 64 ? k.substring(0, 64) : k)
                            + "' (reserved by the connect flow, or not a parameter name)"));
                }
            }
        }
        range(c, Connector.TIMEOUT_MILLIS, 100, 120_000, out);
        range(c, Connector.MAX_RESPONSE_BYTES, 1, 100L * 1024 * 1024, out);
        String name = c.get(Connector.DISPLAY_NAME);
        if (name != null && name.length() > 255) {
            out.add(new Problem(Connector.DISPLAY_NAME, "displayName is longer than 255 characters"));
        }
        return out;
    }

    private static void url(VaultSettings settings, ComponentModel c, String field, boolean required, boolean resolve, List<Problem> out) {
        String v = c.get(field);
        if (v == null || v.isBlank()) {
            if (required) {
                out.add(new Problem(field, field + " is required"));
            }
            return;
        }
        if (v.length() > 2048) {
            out.add(new Problem(field, field + " is longer than 2048 characters"));
            return;
        }
        String why = HostPolicy.refusal(settings, v.trim(), resolve);
        if (why == null && v.trim().contains("?") && field.equals(Connector.API_BASE_URL)) {
            why = "must not contain a query";
        }
        if (why != null) {
            out.add(new Problem(field, field + " " + why));
        }
    }

    private static void oneOf(ComponentModel c, String field, Set<String> allowed, List<Problem> out) {
        String v = c.get(field);
        if (v != null && !v.isBlank() && !allowed.contains(v.trim())) {
            out.add(new Problem(field, field + " must be one of " + String.join(", ", allowed.stream().sorted().toList())));
        }
    }

    private static void range(ComponentModel c, String field, long min, long max, List<Problem> out) {
        String v = c.get(field);
        if (v == null || v.isBlank()) {
            return;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n < min || n > max) {
                out.add(new Problem(field, field + " must be between " + min + " and " + max));
            }
        } catch (NumberFormatException e) {
            out.add(new Problem(field, field + " must be a whole number"));
        }
    }
}
