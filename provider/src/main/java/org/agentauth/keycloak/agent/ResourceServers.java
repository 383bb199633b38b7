package org.agentauth.keycloak.agent;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.support.Strings;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;

/**
 * Resource servers (RFC 8707, DESIGN section 9) as client attributes: which clients are resource servers, which URIs
 * they answer to, which clients may ask for them, which agents may receive tokens for them, and how URIs compare.
 *
 * <p>A client is a resource server when it has {@link #ATTR_RESOURCE_URIS} (space-separated absolute URIs) or
 * Keycloak's own {@code resource_url} attribute (one URI). {@link #ATTR_RESOURCE_CLIENTS} lists the client ids that
 * may ask for it; empty means any client of the realm. An entry {@code cimd:<host>} or {@code cimd:*.<suffix>} admits
 * the clients without registration (client ID metadata documents, DESIGN section 11) whose document is on that host, or
 * below that suffix: a resource server admits CIMD clients as it admits any client it has not named, and where it
 * restricts its clients, it names the CIMD hosts it allows. URIs compare exactly after lower-casing scheme and host.
 */
public final class ResourceServers {

    public static final String ATTR_RESOURCE_URIS = AgentPolicy.PREFIX + "resource_uris";
    public static final String ATTR_RESOURCE_CLIENTS = AgentPolicy.PREFIX + "resource_clients";
    /** Keycloak's experimental resource-indicators attribute (one URI). */
    public static final String ATTR_KEYCLOAK_RESOURCE_URL = "resource_url";
    public static final int MAX_LENGTH = 2000;
    /** The prefix of a {@link #ATTR_RESOURCE_CLIENTS} entry that names the host of CIMD clients rather than a client id. */
    public static final String CIMD_HOST_PREFIX = "cimd:";
    /** "true" on a client made from a client ID metadata document (set by the cimd package, read here). */
    public static final String CLIENT_CIMD_MARK = "agent-auth.cimd";
    /** The host of such a client's document: lower case ASCII, no brackets. */
    public static final String CLIENT_CIMD_HOST = "agent-auth.cimd.host";

    private ResourceServers() {
    }

    /**
     * The normalized form of a resource URI: absolute, no fragment, scheme and host lower-cased, the rest unchanged.
     *
     * @throws IllegalArgumentException when the value is not an absolute URI without fragment
     */
    public static String normalize(String value) {
        if (value == null || value.isBlank() || value.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("The resource must be an absolute URI");
        }
        URI uri;
        try {
            uri = new URI(value);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("The resource is not a valid URI");
        }
        if (!uri.isAbsolute() || uri.getRawFragment() != null) {
            throw new IllegalArgumentException("The resource must be an absolute URI without a fragment");
        }
        String scheme = uri.getScheme();
        String ssp = uri.getRawSchemeSpecificPart();
        String lowerScheme = scheme.toLowerCase(Locale.ROOT);
        String host = uri.getHost();
        if (host == null || !ssp.startsWith("//")) {
            return lowerScheme + ":" + ssp;
        }
        // lower-case the host inside the authority, keep user info, port, path and query byte for byte
        String rest = ssp.substring(2);
        int end = indexOfAny(rest, "/?");
        String authority = end < 0 ? rest : rest.substring(0, end);
        String tail = end < 0 ? "" : rest.substring(end);
        int at = authority.lastIndexOf('@');
        String userInfo = at < 0 ? "" : authority.substring(0, at + 1);
        String hostPort = authority.substring(at + 1);
        return lowerScheme + "://" + userInfo + hostPort.toLowerCase(Locale.ROOT) + tail;
    }

    private static int indexOfAny(String s, String chars) {
        for (int i = 0; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }

    /** The normalized resource URIs a client answers to (empty when it is not a resource server). */
    public static Set<String> urisOf(ClientModel client) {
        Set<String> out = new LinkedHashSet<>();
        List<String> raw = new ArrayList<>(AgentPolicy.split(client.getAttribute(ATTR_RESOURCE_URIS)));
        String kc = client.getAttribute(ATTR_KEYCLOAK_RESOURCE_URL);
        if (kc != null && !kc.isBlank()) {
            raw.add(kc.trim());
        }
        for (String r : raw) {
            try {
                out.add(normalize(r));
            } catch (IllegalArgumentException e) {
                // a malformed configured URI matches nothing
            }
        }
        return out;
    }

    /** The enabled client of the realm that owns this (normalized) resource URI. */
    public static Optional<ClientModel> owner(RealmModel realm, String normalized) {
        // a connector's resource URI is the proxy's, never a client's (whatever a resource_url attribute says)
        if (ConnectorResources.connectorShaped(normalized)) {
            return Optional.empty();
        }
        return ResourceOwnerIndex.owner(realm, normalized);
    }

    /** After an admin changed a client's resource URIs without Keycloak's client-update event (the policy API). */
    public static void clientChanged(KeycloakSession session, ClientModel client) {
        ResourceOwnerIndex.invalidate(session, client.getRealm());
    }

    /**
     * Checks that each value is a resource URI of an enabled client of the realm that {@code requester} may ask for.
     *
     * @return the normalized URIs, in request order, without duplicates
     * @throws IllegalArgumentException with a client-safe description otherwise
     */
    public static List<String> validate(RealmModel realm, ClientModel requester, Collection<String> values) {
        Set<String> out = new LinkedHashSet<>();
        for (String v : values) {
            String n = normalize(v);
            ClientModel owner = owner(realm, n)
                    .orElseThrow(() -> new IllegalArgumentException("Unknown resource: " + Strings.safe(v, 200)));
            Set<String> allowed = AgentPolicy.split(owner.getAttribute(ATTR_RESOURCE_CLIENTS));
            if (!admits(allowed, requester.getClientId(),
                    "true".equals(requester.getAttribute(CLIENT_CIMD_MARK)) ? requester.getAttribute(CLIENT_CIMD_HOST) : null)) {
                throw new IllegalArgumentException("Client " + requester.getClientId() + " may not ask for resource " + Strings.safe(v, 200));
            }
            out.add(n);
        }
        return List.copyOf(out);
    }

    /**
     * Whether a resource server whose {@link #ATTR_RESOURCE_CLIENTS} are {@code allowed} admits the client
     * {@code clientId}: any client when the list is empty; else a client named by its id; else, for a CIMD client
     * ({@code cimdHost} its document's host, null for any other client), an entry {@code cimd:<host>} equal to that
     * host or {@code cimd:*.<suffix>} with the host below the suffix (not the suffix itself), as the realm's CIMD host
     * lists match (the entries are normalized by the admin API: IDNA to ASCII, lower case). Pure logic.
     */
    public static boolean admits(Set<String> allowed, String clientId, String cimdHost) {
        if (allowed.isEmpty() || allowed.contains(clientId)) {
            return true;
        }
        if (cimdHost == null || cimdHost.isEmpty()) {
            return false;
        }
        String host = cimdHost.toLowerCase(Locale.ROOT);
        for (String entry : allowed) {
            if (!entry.startsWith(CIMD_HOST_PREFIX)) {
                continue;
            }
            String pattern = entry.substring(CIMD_HOST_PREFIX.length()).toLowerCase(Locale.ROOT);
            if (pattern.startsWith("*.")) {
                String suffix = pattern.substring(1); // ".example.com"
                if (suffix.length() > 1 && host.length() > suffix.length() && host.endsWith(suffix)) {
                    return true;
                }
            } else if (!pattern.isEmpty() && pattern.equals(host)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether an agent's policy lets it receive a token for {@code target}: a client id or URI among its allowed
     * audiences, or a resource URI whose owning client is among them (DESIGN section 9: a resource URI stands for the
     * client that owns it).
     */
    public static boolean agentAllows(RealmModel realm, AgentPolicy agent, String target) {
        Set<String> allowed = agent.allowedAudiences();
        if (target == null || target.isBlank() || ConnectorResources.connectorShaped(target)) {
            // connector resource URIs follow the connector rules (the delegated exchange), never allowed_audiences
            return false;
        }
        if (allowed.contains(target)) {
            return true;
        }
        String normalized;
        try {
            normalized = normalize(target);
        } catch (IllegalArgumentException e) {
            return false;
        }
        for (String a : allowed) {
            try {
                if (normalize(a).equals(normalized)) {
                    return true;
                }
            } catch (IllegalArgumentException e) {
                // a client id, not a URI
            }
        }
        return owner(realm, normalized).map(ClientModel::getClientId).filter(allowed::contains).isPresent();
    }

    /** Whether {@code client} owns one of the (resource URI) audiences. */
    public static boolean ownsAny(ClientModel client, Collection<String> audiences) {
        if (audiences == null || audiences.isEmpty()) {
            return false;
        }
        Set<String> own = urisOf(client);
        if (own.isEmpty()) {
            return false;
        }
        for (String a : audiences) {
            try {
                if (a != null && own.contains(normalize(a))) {
                    return true;
                }
            } catch (IllegalArgumentException e) {
                // not a URI
            }
        }
        return false;
    }

}
