package org.agentauth.keycloak.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.agentauth.keycloak.admin.AgentPolicyValidator.FieldError;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.ConnectorProvider;
import org.agentauth.keycloak.vault.OAuth2ConnectorFactory;
import org.keycloak.component.ComponentModel;

/**
 * JSON shape of a connector in the admin REST API ({@code /admin/realms/{realm}/agent-auth/connectors}). Each field is
 * one configuration key of the connector's realm component ({@link Connector}); {@code scopes} is stored space
 * separated, {@code extraAuthParams} form-encoded ({@code a=b&c=d}).
 * <p>
 * {@code clientSecret} is write-only: never returned; a response says {@code clientSecretSet} instead. On update a
 * missing or null {@code clientSecret} keeps the stored one, an empty string removes it, and a {@code ${vault.key}}
 * reference is stored as given (resolved through Keycloak's vault when used). {@code clientSecretSet} and
 * {@code connectionsExpired} are answers only: accepted in a request body (so a response can be sent back as it is)
 * and ignored. {@code connectionsExpired} is {@code true} in the answer to an update that moved a URL the vault sends a
 * token or the secret to (authorization, token, revocation, userinfo, API base) to another origin, which marks the
 * connector's connections EXPIRED; {@code originsChanged} names those fields. Such an update needs {@code clientSecret}
 * again when one is stored. {@code policyRefusal} (answer only) says why the host policy refused a connector imported at
 * start-up, which is kept disabled until a save that passes the policy.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ConnectorRepresentation(
        String alias,
        String displayName,
        String logoUri,
        String authorizationUrl,
        String tokenUrl,
        String revocationUrl,
        String userinfoUrl,
        String clientId,
        String clientSecret,
        Boolean clientSecretSet,
        String clientAuthMethod,
        List<String> scopes,
        Map<String, String> extraAuthParams,
        String apiBaseUrl,
        String deliveryMode,
        String preset,
        Integer timeoutMillis,
        Long maxResponseBytes,
        Boolean connectionsExpired,
        List<String> originsChanged,
        String policyRefusal) {

    private static final String PRESET_PATTERN = "[a-z0-9_-]{1,64}";
    /** Names of the API's own sub-resources ({@code connectors/presets}, {@code connectors/discover}). */
    static final java.util.Set<String> RESERVED_ALIASES = java.util.Set.of("presets", "discover");

    /** The connector as stored, without its secret. */
    public static ConnectorRepresentation of(Connector c) {
        return new ConnectorRepresentation(c.alias(), c.displayName(), c.logoUri(), c.authorizationUrl(), c.tokenUrl(),
                c.revocationUrl(), c.userinfoUrl(), c.clientId(), null, c.clientSecretRef() != null, c.clientAuthMethod(),
                List.copyOf(c.scopes()), new LinkedHashMap<>(c.extraAuthParams()),
                c.apiBaseUrl(), c.deliveryMode(), c.preset(), c.timeoutMillis(), c.maxResponseBytes(), null, null, c.policyRefusal());
    }

    /** This representation (an answer) saying which URLs moved to another origin (and so that the connections expired). */
    public ConnectorRepresentation withOriginsChanged(List<String> moved) {
        return new ConnectorRepresentation(alias, displayName, logoUri, authorizationUrl, tokenUrl, revocationUrl, userinfoUrl,
                clientId, null, clientSecretSet, clientAuthMethod, scopes, extraAuthParams, apiBaseUrl, deliveryMode, preset,
                timeoutMillis, maxResponseBytes, moved.isEmpty() ? null : Boolean.TRUE, moved.isEmpty() ? null : List.copyOf(moved),
                policyRefusal);
    }

    /** The component model to save, or the problems with this body that the connector validator cannot see. */
    public record ToModel(ComponentModel model, List<FieldError> errors) {
        public boolean ok() {
            return errors.isEmpty();
        }
    }

    /**
     * The component to save: a new one ({@code existing} null; {@code alias} from the body) or {@code existing} changed
     * (its alias kept: a body naming another alias is refused). Every field of the body replaces the stored value (a
     * missing one clears it, so the connector's default applies) except {@code clientSecret} (see the class comment).
     * Configuration keys this API does not know are kept. Pure: the result still goes through
     * {@link org.agentauth.keycloak.vault.ConnectorValidator}.
     */
    public ToModel toModel(String realmId, ComponentModel existing) {
        List<FieldError> errors = new ArrayList<>();
        ComponentModel m;
        if (existing == null) {
            m = new ComponentModel();
            m.setName(alias == null ? null : alias.trim());
            m.setParentId(realmId);
            m.setProviderType(ConnectorProvider.class.getName());
            m.setProviderId(OAuth2ConnectorFactory.PROVIDER_ID);
            if (m.getName() != null && RESERVED_ALIASES.contains(m.getName())) {
                errors.add(new FieldError("alias", "alias '" + m.getName() + "' is reserved by the admin API: choose another"));
            }
        } else {
            m = new ComponentModel(existing);
            if (alias != null && !alias.trim().equals(existing.getName())) {
                errors.add(new FieldError("alias", "alias cannot change (it is '" + existing.getName()
                        + "'): create a new connector and delete this one instead"));
            }
        }
        put(m, Connector.DISPLAY_NAME, displayName);
        put(m, Connector.LOGO_URI, logoUri);
        put(m, Connector.AUTHORIZATION_URL, authorizationUrl);
        put(m, Connector.TOKEN_URL, tokenUrl);
        put(m, Connector.REVOCATION_URL, revocationUrl);
        put(m, Connector.USERINFO_URL, userinfoUrl);
        put(m, Connector.CLIENT_ID, clientId);
        if (clientSecret != null) {
            put(m, Connector.CLIENT_SECRET, clientSecret);
        }
        put(m, Connector.CLIENT_AUTH_METHOD, clientAuthMethod);
        put(m, Connector.SCOPES, scopes(errors));
        put(m, Connector.EXTRA_AUTH_PARAMS, extraAuthParams(errors));
        put(m, Connector.API_BASE_URL, apiBaseUrl);
        put(m, Connector.DELIVERY_MODE, deliveryMode);
        if (preset != null && !preset.isBlank() && !preset.trim().matches(PRESET_PATTERN)) {
            errors.add(new FieldError(Connector.PRESET, "preset must be a preset id such as github or oauth2"));
        }
        put(m, Connector.PRESET, preset);
        put(m, Connector.TIMEOUT_MILLIS, timeoutMillis == null ? null : timeoutMillis.toString());
        put(m, Connector.MAX_RESPONSE_BYTES, maxResponseBytes == null ? null : maxResponseBytes.toString());
        return new ToModel(m, errors);
    }

    private String scopes(List<FieldError> errors) {
        if (scopes == null) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < scopes.size(); i++) {
            String s = scopes.get(i);
            if (s == null || s.isBlank()) {
                errors.add(new FieldError(Connector.SCOPES, "Entry " + (i + 1) + " of 'scopes' is " + (s == null ? "null" : "empty")
                        + ": every entry must be a non-empty scope"));
            } else if (s.trim().chars().anyMatch(Character::isWhitespace)) {
                errors.add(new FieldError(Connector.SCOPES, "Entry " + (i + 1) + " of 'scopes' contains a space: give one scope per entry"));
            } else if (!out.contains(s.trim())) {
                out.add(s.trim());
            }
        }
        return String.join(" ", out);
    }

    private String extraAuthParams(List<FieldError> errors) {
        if (extraAuthParams == null) {
            return null;
        }
        for (Map.Entry<String, String> e : extraAuthParams.entrySet()) {
            if (e.getValue() == null) {
                errors.add(new FieldError(Connector.EXTRA_AUTH_PARAMS, "extraAuthParams: the value of '"
                        + org.agentauth.keycloak.support.Strings.safeId(e.getKey()) + "' is null; give a string (may be empty)"));
            }
        }
        return extraAuthParams.entrySet().stream().filter(e -> e.getValue() != null)
                .map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
                .collect(Collectors.joining("&"));
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Sets one value, or removes the key for null or blank. */
    private static void put(ComponentModel m, String key, String value) {
        if (value == null || value.isBlank()) {
            m.getConfig().remove(key);
        } else {
            m.getConfig().putSingle(key, value.trim());
        }
    }
}
