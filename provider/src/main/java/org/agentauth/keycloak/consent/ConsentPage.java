package org.agentauth.keycloak.consent;

import org.agentauth.keycloak.support.Digests;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.cimd.CimdClients;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.agent.ConnectorResources;
import org.agentauth.keycloak.agent.ResourceServers;
import org.agentauth.keycloak.delegation.ScopeTexts;
import org.agentauth.keycloak.support.RealmIssuer;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.headers.SecurityHeadersProvider;
import org.keycloak.models.BrowserSecurityHeaders;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;

/**
 * What the agent consent screen ({@value AgentConsentRequiredAction#TEMPLATE}) shows, for every page that asks a user to
 * delegate to an agent: the login's consent step ({@link AgentConsentRequiredAction}) and the approval page of a CIBA
 * request. Agent, host, scopes with their texts, connectors with the user's accounts on them (or the link to connect
 * one), downstream agents, the grant's lifetime and the resource asked for.
 */
public final class ConsentPage {

    /** Form field prefix: the account picked for a connector ({@code connection.<alias>}); empty = any account. */
    public static final String FORM_CONNECTION_PREFIX = AgentConsentRequiredAction.FORM_CONNECTION_PREFIX;

    private ConsentPage() {
    }

    /** Sets the page's attributes on {@code form} (which the caller then renders with the template). */
    public static LoginFormsProvider fill(KeycloakSession session, RealmModel realm, UserModel user, LoginFormsProvider form,
            AgentPolicy agentPolicy, ClientModel host, Set<String> scopeNames, String rawResource) {
        ClientModel a = agentPolicy.client();
        List<Map<String, String>> scopes = new ArrayList<>();
        for (String s : scopeNames) {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("name", s);
            m.put("text", ScopeTexts.consentText(realm, s));
            scopes.add(m);
        }
        List<String> downstream = new ArrayList<>();
        for (String d : agentPolicy.downstreamAgents()) {
            ClientModel c = realm.getClientByClientId(d);
            downstream.add(c == null ? d : AgentPolicy.of(c).map(AgentPolicy::displayName).orElse(d));
        }
        long lifetime = agentPolicy.grantLifetimeSeconds();
        Map<String, Object> agent = new LinkedHashMap<>();
        agent.put("clientId", a.getClientId());
        agent.put("name", agentPolicy.displayName());
        agent.put("description", a.getDescription() == null ? "" : a.getDescription());
        agent.put("logoUri", httpUrl(a.getAttribute("logoUri")));
        agent.put("policyUri", httpUrl(a.getAttribute("policyUri")));
        agent.put("tosUri", httpUrl(a.getAttribute("tosUri")));
        Map<String, String> resource = resource(session, realm, rawResource);
        if (resource != null) {
            form.setAttribute("agentResource", resource);
        }
        Map<String, Object> cimd = CimdClients.consentDetails(host); // a client without registration: what it really is
        if (cimd != null) {
            form.setAttribute("cimd", cimd);
        }
        return form
                .setAttribute("agent", agent)
                .setAttribute("agentHostName", clientName(host))
                .setAttribute("agentScopes", scopes)
                .setAttribute("agentConnectors", connectorsShown(session, realm, user, agentPolicy))
                .setAttribute("agentAccountUrl", RealmIssuer.of(session, realm) + "/agent-auth/account/")
                .setAttribute("agentDownstream", downstream)
                .setAttribute("agentLifetimeDays", lifetime == 0 ? 0 : (lifetime % 86400 == 0 ? lifetime / 86400 : 0))
                .setAttribute("agentLifetimeHours", lifetime == 0 || lifetime % 86400 == 0 ? 0 : (lifetime + 3599) / 3600);
    }

    /** A client's name as pages show it: its name, else its client_id. */
    public static String clientName(ClientModel c) {
        return c.getName() == null || c.getName().isBlank() ? c.getClientId() : c.getName();
    }

    /**
     * What a consent page shows, as a digest bound to {@code context} (the login's tab, or the CIBA request): agent,
     * host, scopes, connectors, downstream agents, grant lifetime and resource. Not a secret (everything in it is on the
     * page): it only lets Allow tell whether the request still asks for what the user saw. {@code agent} null: a request
     * without an agent (plain CIBA).
     */
    public static String digest(String context, AgentPolicy agent, ClientModel host, Set<String> scopes, String resourceUri) {
        String text = agent == null
                ? String.join("\n", context, "", host.getClientId(), String.join(" ", scopes), "", "", "", resourceUri == null ? "" : resourceUri)
                : String.join("\n", context, agent.clientId(), host.getClientId(), String.join(" ", scopes),
                        String.join(" ", agent.allowedConnectors()), String.join(" ", agent.downstreamAgents()),
                        Long.toString(agent.grantLifetimeSeconds()), resourceUri == null ? "" : resourceUri);
        return Digests.sha256Url(text);
    }

    /**
     * The accounts picked on the page: for each connector of the agent's policy, the field {@code connection.<alias>}
     * names one of the user's active connections on it, or is empty (any account). Null when a field names anything
     * else (a connection revoked or expired while the page was open, or a forged form): the page is shown again.
     */
    public static Map<String, String> pickedConnections(KeycloakSession session, RealmModel realm, UserModel user, AgentPolicy agent,
            MultivaluedMap<String, String> form) {
        Map<String, String> picks = new LinkedHashMap<>();
        for (String alias : agent.allowedConnectors()) {
            String value = form.getFirst(FORM_CONNECTION_PREFIX + alias);
            if (value == null || value.isBlank()) {
                continue;
            }
            Optional<Connector> connector = Connector.byAlias(realm, alias);
            boolean usable = connector.isPresent() && accounts(session, realm, user, connector.get()).stream().anyMatch(c -> c.id().equals(value));
            if (!usable) {
                return null;
            }
            picks.put(alias, value);
        }
        return picks;
    }

    /** The user's active connections on a connector, most recent first. */
    static List<UpstreamConnection> accounts(KeycloakSession session, RealmModel realm, UserModel user, Connector connector) {
        return session.getProvider(UpstreamConnectionProvider.class)
                .listForUser(realm, user.getId(), connector.id()).stream()
                .filter(UpstreamConnection::active)
                .sorted(Comparator.comparingLong(UpstreamConnection::createdAt).reversed())
                .toList();
    }

    /**
     * Each connector of the agent's policy as the page lists it: its name, the form field for the account choice, the
     * user's active accounts on it (any, or one of them) and, where none is linked, the connect flow's URL.
     */
    private static List<Map<String, Object>> connectorsShown(KeycloakSession session, RealmModel realm, UserModel user, AgentPolicy agent) {
        String issuer = RealmIssuer.of(session, realm);
        List<Map<String, Object>> out = new ArrayList<>();
        for (String alias : agent.allowedConnectors()) {
            Map<String, Object> m = new LinkedHashMap<>();
            Optional<Connector> connector = Connector.byAlias(realm, alias);
            m.put("alias", alias);
            m.put("name", connector.map(Connector::name).orElse(alias));
            m.put("releasesTokens", connector.map(Connector::releasesTokens).orElse(false));
            m.put("field", FORM_CONNECTION_PREFIX + alias);
            List<Map<String, String>> accounts = new ArrayList<>();
            if (connector.isPresent()) {
                for (UpstreamConnection c : accounts(session, realm, user, connector.get())) {
                    accounts.add(Map.of("id", c.id(), "label", c.label()));
                }
                if (accounts.isEmpty()) {
                    m.put("connectUri", connector.get().connectUri(issuer, agent.clientId()));
                }
            }
            m.put("accounts", accounts);
            out.add(m);
        }
        return out;
    }

    /**
     * The resource (RFC 8707) a request asks for, already checked where it was sent, with the name of the client that
     * owns it (e.g. an MCP server); null when it names none.
     */
    public static Map<String, String> resource(KeycloakSession session, RealmModel realm, String raw) {
        if (raw == null || raw.isBlank()) {
            return null;
        }
        String uri;
        try {
            uri = ResourceServers.normalize(raw); // checked where it was sent; stored as sent
        } catch (IllegalArgumentException e) {
            uri = raw; // shown as it is; the token endpoint refuses it
        }
        String connectorAlias = ConnectorResources.aliasOf(RealmIssuer.of(session, realm), uri);
        String name = connectorAlias != null
                ? Connector.byAlias(realm, connectorAlias).map(Connector::name).orElse(uri)
                : ResourceServers.owner(realm, uri).map(ConsentPage::clientName).orElse(uri);
        Map<String, String> m = new LinkedHashMap<>();
        m.put("uri", uri);
        m.put("name", name);
        return m;
    }

    /** The page may not be framed by anyone: our own headers instead of the realm's framing defaults. */
    public static Response notFramable(KeycloakSession session, RealmModel realm, Response r) {
        session.getProvider(SecurityHeadersProvider.class).options().skipHeaders();
        Map<String, String> realmHeaders = realm.getBrowserSecurityHeaders();
        Response.ResponseBuilder b = Response.fromResponse(r);
        for (BrowserSecurityHeaders h : BrowserSecurityHeaders.values()) {
            String v = realmHeaders == null ? null : realmHeaders.get(h.getKey());
            if (v == null) {
                v = h.getDefaultValue();
            }
            if (v != null && !v.isEmpty()) {
                b.header(h.getHeaderName(), null).header(h.getHeaderName(), v);
            }
        }
        b.header(BrowserSecurityHeaders.X_FRAME_OPTIONS.getHeaderName(), null).header(BrowserSecurityHeaders.X_FRAME_OPTIONS.getHeaderName(), "DENY");
        b.header(BrowserSecurityHeaders.CONTENT_SECURITY_POLICY.getHeaderName(), null)
                .header(BrowserSecurityHeaders.CONTENT_SECURITY_POLICY.getHeaderName(), "frame-src 'self'; frame-ancestors 'none'; object-src 'none';");
        return b.build();
    }

    /** Only absolute http(s) URLs are shown (no javascript:, data:, relative links). */
    static String httpUrl(String s) {
        if (s == null || s.isBlank()) {
            return null;
        }
        try {
            URI u = URI.create(s.trim());
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            return (scheme.equals("https") || scheme.equals("http")) && u.getHost() != null ? u.toString() : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
