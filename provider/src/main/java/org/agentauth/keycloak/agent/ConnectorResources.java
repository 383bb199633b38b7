package org.agentauth.keycloak.agent;

import org.keycloak.models.RealmModel;

/**
 * A connector's resource URI, {@code {realm issuer}/agent-auth/connectors/{alias}} (DESIGN section 5): the {@code aud} a
 * delegated token must carry to be used at the connector's brokered proxy. Such a URI is never a client's resource URI
 * ({@link ResourceServers} refuses to match it), so no other API's token can be replayed at the proxy, and only the
 * delegated exchange issues it: for an existing connector that the agent's policy and the user's grant include.
 * Connectors are read here by their component type's name, so that this package needs nothing of the vault's.
 */
public final class ConnectorResources {

    /** The realm component type of connectors ({@code org.agentauth.keycloak.vault.ConnectorProvider}). */
    public static final String PROVIDER_TYPE = "org.agentauth.keycloak.vault.ConnectorProvider";
    public static final String ALIAS_PATTERN = "[a-z0-9][a-z0-9_-]{0,63}";
    private static final String MARKER = "/agent-auth/connectors/";

    private ConnectorResources() {
    }

    /** The resource URI of a connector, for a realm issuer. */
    public static String uri(String issuer, String alias) {
        return issuer + MARKER + alias;
    }

    /** Whether a (normalized) URI has the shape of a connector's resource URI, on whatever host. */
    public static boolean connectorShaped(String normalized) {
        return normalized != null && normalized.contains(MARKER);
    }

    /** The alias when {@code value} is this issuer's connector resource URI (compared normalized), else null. */
    public static String aliasOf(String issuer, String value) {
        String n;
        String prefix;
        try {
            n = ResourceServers.normalize(value);
            prefix = ResourceServers.normalize(issuer) + MARKER;
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (!n.startsWith(prefix)) {
            return null;
        }
        String alias = n.substring(prefix.length());
        return alias.matches(ALIAS_PATTERN) ? alias : null;
    }

    /** Whether the realm has a connector with this alias. */
    public static boolean exists(RealmModel realm, String alias) {
        return alias != null && realm.getComponentsStream(realm.getId(), PROVIDER_TYPE).anyMatch(c -> alias.equals(c.getName()));
    }
}
