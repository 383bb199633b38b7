package org.agentauth.keycloak.agent;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.keycloak.models.ClientModel;
import org.keycloak.models.RealmModel;

/**
 * An agent's policy, read from its client's attributes (DESIGN section 2). Client attributes travel with the realm
 * representation (export/import, admin REST API), so the policy needs no storage of its own. Multi-valued settings
 * are space-separated lists of names.
 */
public final class AgentPolicy {

    public static final String PREFIX = "agent_auth.";
    /** {@code "true"} marks the client as an agent. */
    public static final String ATTR_AGENT = PREFIX + "agent";
    /** Scope ceiling: the agent never gets a scope outside this list. */
    public static final String ATTR_ALLOWED_SCOPES = PREFIX + "allowed_scopes";
    /** Client ids of the host applications that may ask a user to delegate to this agent. */
    public static final String ATTR_ALLOWED_HOSTS = PREFIX + "allowed_hosts";
    /** Audiences (client ids) and resource URIs the agent's delegated tokens may be issued for. */
    public static final String ATTR_ALLOWED_AUDIENCES = PREFIX + "allowed_audiences";
    /** Connector aliases the agent may use through the vault. */
    public static final String ATTR_ALLOWED_CONNECTORS = PREFIX + "allowed_connectors";
    /** Client ids of the agents this agent may hand a delegation on to. */
    public static final String ATTR_DOWNSTREAM_AGENTS = PREFIX + "downstream_agents";
    /** Maximum number of {@code act} levels in a token that names this agent. */
    public static final String ATTR_MAX_DEPTH = PREFIX + "max_depth";
    /** Lifetime of a delegation grant to this agent, in seconds; 0 = until revoked. */
    public static final String ATTR_GRANT_LIFETIME = PREFIX + "grant_lifetime";
    /** {@code "true"}: delegated tokens for this agent come with a refresh token. */
    public static final String ATTR_REFRESH_ALLOWED = PREFIX + "refresh_allowed";
    /** {@code "true"}: grants are created without showing the consent screen (still recorded and revocable). */
    public static final String ATTR_PREAUTHORIZED = PREFIX + "preauthorized";
    /** On a client scope: marks a {@code delegation:client:<agent>} scope the extension manages (the agent's internal id). */
    public static final String ATTR_DELEGATION_SCOPE_AGENT = PREFIX + "delegation_scope_agent";

    public static final int DEFAULT_MAX_DEPTH = 3;
    public static final long DEFAULT_GRANT_LIFETIME_SECONDS = 30L * 24 * 3600;
    public static final int MAX_MAX_DEPTH = 10;

    private final ClientModel client;

    private AgentPolicy(ClientModel client) {
        this.client = client;
    }

    /** True when the client is marked as an agent (whether or not it is enabled). */
    public static boolean isAgent(ClientModel client) {
        return client != null && "true".equals(client.getAttribute(ATTR_AGENT));
    }

    /** The policy of a client marked as an agent, or empty. */
    public static Optional<AgentPolicy> of(ClientModel client) {
        return isAgent(client) ? Optional.of(new AgentPolicy(client)) : Optional.empty();
    }

    /** The policy of the enabled agent with this client_id in the realm, or empty. */
    public static Optional<AgentPolicy> enabledAgent(RealmModel realm, String clientId) {
        if (clientId == null || clientId.isBlank()) {
            return Optional.empty();
        }
        ClientModel c = realm.getClientByClientId(clientId);
        return c != null && c.isEnabled() ? of(c) : Optional.empty();
    }

    public ClientModel client() {
        return client;
    }

    public String clientId() {
        return client.getClientId();
    }

    public Set<String> allowedScopes() {
        return list(ATTR_ALLOWED_SCOPES);
    }

    public Set<String> allowedHosts() {
        return list(ATTR_ALLOWED_HOSTS);
    }

    public boolean allowsHost(String hostClientId) {
        return hostClientId != null && allowedHosts().contains(hostClientId);
    }

    public Set<String> allowedAudiences() {
        return list(ATTR_ALLOWED_AUDIENCES);
    }

    public Set<String> allowedConnectors() {
        return list(ATTR_ALLOWED_CONNECTORS);
    }

    public Set<String> downstreamAgents() {
        return list(ATTR_DOWNSTREAM_AGENTS);
    }

    public int maxDepth() {
        int d = (int) number(ATTR_MAX_DEPTH, DEFAULT_MAX_DEPTH);
        return Math.max(1, Math.min(MAX_MAX_DEPTH, d));
    }

    /** Grant lifetime in seconds; 0 means the grant lasts until revoked. */
    public long grantLifetimeSeconds() {
        return Math.max(0, number(ATTR_GRANT_LIFETIME, DEFAULT_GRANT_LIFETIME_SECONDS));
    }

    public boolean refreshAllowed() {
        return "true".equals(client.getAttribute(ATTR_REFRESH_ALLOWED));
    }

    public boolean preauthorized() {
        return "true".equals(client.getAttribute(ATTR_PREAUTHORIZED));
    }

    /** Display name for consent screens: the client's name, else its client_id. */
    public String displayName() {
        String n = client.getName();
        return n == null || n.isBlank() ? client.getClientId() : n;
    }

    private Set<String> list(String attr) {
        return split(client.getAttribute(attr));
    }

    private long number(String attr, long dflt) {
        return number(client, attr, dflt);
    }

    /** A numeric client attribute; missing or unreadable gives {@code dflt}. */
    public static long number(ClientModel client, String attr, long dflt) {
        String v = client.getAttribute(attr);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    /** Splits a space (or comma) separated list into an ordered set, ignoring blanks. */
    public static Set<String> split(String value) {
        if (value == null || value.isBlank()) {
            return Collections.emptySet();
        }
        Set<String> out = new LinkedHashSet<>();
        for (String s : value.trim().split("[\\s,]+")) {
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return Collections.unmodifiableSet(out);
    }

    /** All policy attributes of a client, for the admin page. */
    public static Map<String, String> attributes(ClientModel client) {
        Map<String, String> out = new java.util.TreeMap<>();
        client.getAttributes().forEach((k, v) -> {
            if (k.startsWith(PREFIX)) {
                out.put(k, v);
            }
        });
        return out;
    }
}
