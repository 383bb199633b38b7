package org.agentauth.keycloak.admin;

import org.agentauth.keycloak.cimd.CimdHosts;
import org.agentauth.keycloak.agent.ResourceServers;
import org.agentauth.keycloak.agent.AgentPolicy;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.agentauth.keycloak.resource.ResourceIndicators;

/**
 * Checks an {@link AgentPolicyRepresentation} sent by an admin and turns it into the client attributes to write.
 * Pure logic (the realm is seen only through {@link Realm}), so it is unit tested without a server.
 */
public final class AgentPolicyValidator {

    /** Scopes an agent may be allowed even when the realm has no client scope of that name. */
    public static final Set<String> STANDARD_OIDC_SCOPES = Set.of("openid", "profile", "email", "address", "phone", "offline_access");
    /** Upper bound for a grant's lifetime (ten years), so that expiry times can never overflow. */
    public static final long MAX_GRANT_LIFETIME_SECONDS = 10L * 365 * 24 * 3600;
    private static final Pattern CONNECTOR_ALIAS = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern LIST_SEPARATOR = Pattern.compile("[\\s,]");

    /** What the validator needs to know about the realm and the client being edited. */
    public interface Realm {
        boolean clientExists(String clientId);

        Set<String> clientScopeNames();

        /** The client id of the client that has this (normalized) resource URI, or null. */
        default String resourceOwner(String normalizedUri) {
            return null;
        }
    }

    /** One problem, with the JSON field it concerns. */
    public record FieldError(String field, String message) {
    }

    /** Either errors, or the attributes to write (every {@code agent_auth.*} attribute, in a fixed order). */
    public record Result(List<FieldError> errors, Map<String, String> attributes) {
        public boolean ok() {
            return errors.isEmpty();
        }
    }

    private AgentPolicyValidator() {
    }

    /**
     * @param clientId the client being edited
     * @param agentCapable whether it is confidential with service accounts enabled
     */
    public static Result validate(AgentPolicyRepresentation p, String clientId, boolean agentCapable, Realm realm) {
        List<FieldError> errors = new ArrayList<>();
        if (p == null) {
            errors.add(new FieldError(null, "A JSON policy is required"));
            return new Result(errors, Map.of());
        }
        boolean agent = Boolean.TRUE.equals(p.agent());
        if (agent && !agentCapable) {
            errors.add(new FieldError("agent", "Client '" + clientId + "' cannot be an agent: an agent must be a confidential "
                    + "client with service accounts enabled"));
        }

        Set<String> scopes = names(p.allowedScopes(), "allowedScopes", errors);
        Set<String> known = realm.clientScopeNames();
        for (String s : scopes) {
            if (s.startsWith("delegation:client:")) {
                errors.add(new FieldError("allowedScopes", "Scope '" + s + "' is a delegation scope managed by Agent Auth, not a scope an agent can be allowed"));
            } else if (!known.contains(s) && !STANDARD_OIDC_SCOPES.contains(s)) {
                errors.add(new FieldError("allowedScopes", "Unknown scope '" + s + "': not a client scope of this realm nor a standard OpenID Connect scope"));
            }
        }

        Set<String> hosts = names(p.allowedHosts(), "allowedHosts", errors);
        for (String h : hosts) {
            if (!realm.clientExists(h)) {
                errors.add(new FieldError("allowedHosts", "Unknown host client '" + h + "': no client with this client ID"));
            }
        }

        Set<String> audiences = names(p.allowedAudiences(), "allowedAudiences", errors);
        for (String a : audiences) {
            if (!realm.clientExists(a) && !isResourceUri(a)) {
                errors.add(new FieldError("allowedAudiences", "Unknown audience '" + a + "': neither a client ID nor an absolute resource URI without fragment"));
            }
        }

        Set<String> connectors = names(p.allowedConnectors(), "allowedConnectors", errors);
        for (String c : connectors) {
            if (!CONNECTOR_ALIAS.matcher(c).matches()) {
                errors.add(new FieldError("allowedConnectors", "Invalid connector alias '" + c + "': use letters, digits, '.', '_' and '-' (at most 64)"));
            }
        }

        Set<String> downstream = names(p.downstreamAgents(), "downstreamAgents", errors);
        for (String d : downstream) {
            if (d.equals(clientId)) {
                errors.add(new FieldError("downstreamAgents", "An agent cannot be its own downstream agent"));
            } else if (!realm.clientExists(d)) {
                errors.add(new FieldError("downstreamAgents", "Unknown downstream agent '" + d + "': no client with this client ID"));
            }
        }

        int maxDepth = p.maxDepth() == null ? AgentPolicy.DEFAULT_MAX_DEPTH : p.maxDepth();
        if (maxDepth < 1 || maxDepth > AgentPolicy.MAX_MAX_DEPTH) {
            errors.add(new FieldError("maxDepth", "Max delegation depth must be between 1 and " + AgentPolicy.MAX_MAX_DEPTH));
        }
        long lifetime = p.grantLifetime() == null ? AgentPolicy.DEFAULT_GRANT_LIFETIME_SECONDS : p.grantLifetime();
        if (lifetime < 0) {
            errors.add(new FieldError("grantLifetime", "Grant lifetime must be 0 (until revoked) or a positive number of seconds"));
        } else if (lifetime > MAX_GRANT_LIFETIME_SECONDS) {
            errors.add(new FieldError("grantLifetime", "Grant lifetime must be at most " + MAX_GRANT_LIFETIME_SECONDS + " seconds (ten years); use 0 for until revoked"));
        }

        Set<String> resourceUris = new LinkedHashSet<>();
        for (String u : names(p.resourceUris(), "resourceUris", errors)) {
            String normalized;
            try {
                normalized = isResourceUri(u) ? ResourceServers.normalize(u) : null;
            } catch (IllegalArgumentException e) {
                normalized = null;
            }
            if (normalized == null) {
                errors.add(new FieldError("resourceUris", "Invalid resource URI '" + u + "': use an absolute URI without fragment, e.g. https://mcp.example.com/mcp"));
                continue;
            }
            String owner = realm.resourceOwner(normalized);
            if (owner != null && !owner.equals(clientId)) {
                errors.add(new FieldError("resourceUris", "Resource URI '" + u + "' already belongs to client '" + owner + "'"));
            }
            resourceUris.add(u);
        }
        Set<String> resourceClients = new LinkedHashSet<>();
        for (String c : names(p.resourceClients(), "resourceClients", errors)) {
            if (c.regionMatches(true, 0, ResourceServers.CIMD_HOST_PREFIX, 0, ResourceServers.CIMD_HOST_PREFIX.length())) {
                // clients without registration whose metadata document is on this host (or below this suffix)
                try {
                    resourceClients.add(ResourceServers.CIMD_HOST_PREFIX + CimdHosts.normalize(c.substring(ResourceServers.CIMD_HOST_PREFIX.length())));
                } catch (IllegalArgumentException e) {
                    errors.add(new FieldError("resourceClients", "Invalid CIMD host '" + c + "': use cimd:<host> or cimd:*.<suffix>, e.g. cimd:app.example.com ("
                            + e.getMessage() + ")"));
                }
                continue;
            }
            if (!realm.clientExists(c)) {
                errors.add(new FieldError("resourceClients", "Unknown client '" + c + "': no client with this client ID"
                        + " (clients without registration are named by host: cimd:<host>)"));
            }
            resourceClients.add(c);
        }

        if (!errors.isEmpty()) {
            return new Result(errors, Map.of());
        }
        Map<String, String> attrs = new LinkedHashMap<>();
        attrs.put(AgentPolicy.ATTR_AGENT, Boolean.toString(agent));
        attrs.put(AgentPolicy.ATTR_ALLOWED_SCOPES, String.join(" ", scopes));
        attrs.put(AgentPolicy.ATTR_ALLOWED_HOSTS, String.join(" ", hosts));
        attrs.put(AgentPolicy.ATTR_ALLOWED_AUDIENCES, String.join(" ", audiences));
        attrs.put(AgentPolicy.ATTR_ALLOWED_CONNECTORS, String.join(" ", connectors));
        attrs.put(AgentPolicy.ATTR_DOWNSTREAM_AGENTS, String.join(" ", downstream));
        attrs.put(AgentPolicy.ATTR_MAX_DEPTH, Integer.toString(maxDepth));
        attrs.put(AgentPolicy.ATTR_GRANT_LIFETIME, Long.toString(lifetime));
        attrs.put(AgentPolicy.ATTR_REFRESH_ALLOWED, Boolean.toString(Boolean.TRUE.equals(p.refreshAllowed())));
        attrs.put(AgentPolicy.ATTR_PREAUTHORIZED, Boolean.toString(Boolean.TRUE.equals(p.preauthorized())));
        attrs.put(ResourceServers.ATTR_RESOURCE_URIS, String.join(" ", resourceUris));
        attrs.put(ResourceServers.ATTR_RESOURCE_CLIENTS, String.join(" ", resourceClients));
        return new Result(List.of(), attrs);
    }

    /**
     * Trimmed, de-duplicated names. Every entry must be a non-empty string that a space-separated list can hold: a
     * null or empty entry is an error, never skipped (a list that lost its entries could read as "none given", which
     * some callers widen to "all"). Also used for the lists of an admin grant creation.
     */
    static Set<String> names(List<String> values, String field, List<FieldError> errors) {
        Set<String> out = new LinkedHashSet<>();
        if (values == null) {
            return out;
        }
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            if (v == null || v.isBlank()) {
                errors.add(new FieldError(field, "Entry " + (i + 1) + " of '" + field + "' is " + (v == null ? "null" : "empty")
                        + ": every entry must be a non-empty string"));
                continue;
            }
            String t = v.trim();
            if (LIST_SEPARATOR.matcher(t).find()) {
                errors.add(new FieldError(field, "'" + t + "' contains a space or comma, which a policy list cannot hold"));
                continue;
            }
            out.add(t);
        }
        return out;
    }

    /** An absolute URI (RFC 8707 resource indicator) without a fragment. */
    static boolean isResourceUri(String s) {
        try {
            URI u = new URI(s);
            return u.isAbsolute() && u.getFragment() == null && u.getScheme() != null
                    && (u.getScheme().equals("urn") || u.getRawSchemeSpecificPart().startsWith("//"));
        } catch (URISyntaxException e) {
            return false;
        }
    }
}
