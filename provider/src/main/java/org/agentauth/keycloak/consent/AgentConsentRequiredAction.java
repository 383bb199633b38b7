package org.agentauth.keycloak.consent;

import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.delegation.AgentPolicy;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.delegation.authz.RequestedActor;
import org.agentauth.keycloak.delegation.scope.DelegationScopes;
import org.agentauth.keycloak.resource.ResourceIndicators;
import org.jboss.logging.Logger;
import org.keycloak.OAuth2Constants;
import org.keycloak.authentication.RequiredActionContext;
import org.keycloak.authentication.RequiredActionProvider;
import org.keycloak.events.Errors;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.headers.SecurityHeadersProvider;
import org.keycloak.models.BrowserSecurityHeaders;
import org.keycloak.models.ClientModel;
import org.keycloak.models.ClientScopeModel;
import org.keycloak.models.RealmModel;
import org.keycloak.models.RequiredActionProviderModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.utils.KeycloakModelUtils;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;
import org.keycloak.sessions.AuthenticationSessionModel;

/**
 * The agent consent step (DESIGN sections 4.2 and 6), as a required action of the login: it runs after the user
 * signed in, in every realm whatever its login theme (the page is an extension template), and only for logins that
 * carry a validated {@code requested_actor} or a {@code delegation:client:<agent>} scope (consent by scope, DESIGN 4.6).
 *
 * <ul>
 * <li>An active grant that covers agent, host and scopes skips the page unless {@code prompt=consent}.</li>
 * <li>An agent whose policy says {@code preauthorized} gets its grant without the page (recorded, revocable).</li>
 * <li>Allow records the grant; Deny ends the login with {@code access_denied}.</li>
 * </ul>
 * In every accepted case the login's code is bound to the agent (see {@link RequestedActor}).
 */
public class AgentConsentRequiredAction implements RequiredActionProvider {

    public static final String PROVIDER_ID = "agent-auth-consent";
    public static final String TEMPLATE = "agent-consent.ftl";
    /** Origin of grants an agent's {@code preauthorized} policy created. */
    public static final String FORM_DECISION = "decision";
    /** Runs after Keycloak's own required actions. */
    public static final int PRIORITY = 10_000;

    private static final Logger LOG = Logger.getLogger(AgentConsentRequiredAction.class);

    /**
     * Makes sure the required action is registered in {@code realm}; returns whether it is enabled (an admin may
     * have disabled it: then {@code requested_actor} is refused rather than let through without consent).
     */
    public static boolean ensureRegistered(RealmModel realm) {
        RequiredActionProviderModel m = realm.getRequiredActionProviderByAlias(PROVIDER_ID);
        if (m == null) {
            m = new RequiredActionProviderModel();
            m.setAlias(PROVIDER_ID);
            m.setProviderId(PROVIDER_ID);
            m.setName("Agent consent (Agent Auth)");
            m.setEnabled(true);
            m.setDefaultAction(false);
            m.setPriority(PRIORITY);
            realm.addRequiredActionProvider(m);
            LOG.infof("Registered required action %s in realm %s", PROVIDER_ID, realm.getName());
            return true;
        }
        return m.isEnabled();
    }

    @Override
    public void evaluateTriggers(RequiredActionContext context) {
        AuthenticationSessionModel as = context.getAuthenticationSession();
        String fromRequest = as.getClientNote(RequestedActor.CLIENT_REQUEST_PARAM_NOTE);
        if (fromRequest != null) {
            // never let it reach the client session (shared by later logins of this client in this browser session)
            as.removeClientNote(RequestedActor.CLIENT_REQUEST_PARAM_NOTE);
            as.setAuthNote(RequestedActor.AUTH_NOTE, fromRequest);
        }
        Pending pending = pending(as);
        if (pending == null || as.getAuthNote(RequestedActor.AUTH_NOTE_BOUND) != null) {
            return;
        }
        Request req = request(context, pending);
        if (req == null) {
            as.addRequiredAction(PROVIDER_ID); // the challenge ends the login with an error
            return;
        }
        DelegationGrantProvider grants = context.getSession().getProvider(DelegationGrantProvider.class);
        Optional<DelegationGrant> existing = grants.findActive(context.getRealm(), context.getUser().getId(), req.agent.client(), req.host);
        if (existing.isPresent() && existing.get().coversScopes(req.scopes) && !promptConsent(as)) {
            grants.touch(existing.get());
            bind(as, pending);
            return;
        }
        if (req.agent.preauthorized() && !promptConsent(as)) {
            DelegationGrant g = grants.grant(context.getRealm(), context.getUser().getId(), req.agent, req.host, req.scopes,
                    req.agent.allowedConnectors(), req.agent.downstreamAgents(), DelegationGrant.ORIGIN_PREAUTHORIZED);
            consentEvent(context, req, g, DelegationGrant.ORIGIN_PREAUTHORIZED).success();
            bind(as, pending);
            return;
        }
        as.addRequiredAction(PROVIDER_ID);
    }

    @Override
    public void requiredActionChallenge(RequiredActionContext context) {
        AuthenticationSessionModel as = context.getAuthenticationSession();
        Pending pending = pending(as);
        Request req = pending == null ? null : request(context, pending);
        if (req == null) {
            if (pending == null) {
                context.success(); // nothing to consent to (e.g. started through kc_action)
            } else {
                denyEvent(context, pending.agent(), "The agent is no longer an enabled agent for this client");
                context.failure();
            }
            return;
        }
        context.challenge(page(context, req));
    }

    @Override
    public void processAction(RequiredActionContext context) {
        AuthenticationSessionModel as = context.getAuthenticationSession();
        Pending pending = pending(as);
        Request req = pending == null ? null : request(context, pending);
        if (req == null) {
            if (pending != null) {
                denyEvent(context, pending.agent(), "The agent is no longer an enabled agent for this client");
            }
            context.failure();
            return;
        }
        MultivaluedMap<String, String> form = context.getHttpRequest().getDecodedFormParameters();
        String decision = form.getFirst(FORM_DECISION);
        if ("allow".equals(decision)) {
            String origin = pending.byScope() ? DelegationGrant.ORIGIN_CONSENT_SCOPE : DelegationGrant.ORIGIN_CONSENT;
            DelegationGrant g = context.getSession().getProvider(DelegationGrantProvider.class).grant(context.getRealm(), context.getUser().getId(),
                    req.agent, req.host, req.scopes, req.agent.allowedConnectors(), req.agent.downstreamAgents(), origin);
            consentEvent(context, req, g, origin).success();
            bind(as, pending);
            context.success();
        } else {
            denyEvent(context, pending.agent(), "The user denied the agent");
            context.failure();
        }
    }

    /**
     * The agent this login asks the user to delegate to: a validated {@code requested_actor} (DESIGN 4.1), or the agent
     * of a {@code delegation:client:<agent>} scope (DESIGN 4.6, checked at the authorization endpoint). Null when none.
     */
    static Pending pending(AuthenticationSessionModel as) {
        String actor = as.getAuthNote(RequestedActor.AUTH_NOTE);
        if (actor != null) {
            return new Pending(actor, false);
        }
        List<String> byScope = DelegationScopes.agentsIn(as.getClientNote(OAuth2Constants.SCOPE));
        return byScope.size() == 1 ? new Pending(byScope.get(0), true) : null;
    }

    /** What this login asks the user to delegate; null when the agent no longer qualifies. */
    private static Request request(RequiredActionContext context, Pending pending) {
        ClientModel host = context.getAuthenticationSession().getClient();
        AgentPolicy agent;
        try {
            agent = RequestedActor.validate(context.getRealm(), host, pending.agent());
        } catch (IllegalArgumentException e) {
            LOG.debugf("agent %s refused after login: %s", pending.agent(), e.getMessage());
            return null;
        }
        return new Request(agent, host, requestedScopes(context.getAuthenticationSession(), host, agent));
    }

    /**
     * The scopes the grant covers: those the host asked for (its scope parameter and its default client scopes),
     * within the agent's ceiling.
     */
    static Set<String> requestedScopes(AuthenticationSessionModel as, ClientModel host, AgentPolicy agent) {
        Set<String> asked = new LinkedHashSet<>(RequestedActor.scopeSet(
                RequestedActor.withoutMarker(as.getClientNote(OAuth2Constants.SCOPE))));
        host.getClientScopes(true).values().stream().filter(ClientScopeModel::isIncludeInTokenScope)
                .map(ClientScopeModel::getName).forEach(asked::add);
        Set<String> out = new LinkedHashSet<>();
        for (String s : agent.allowedScopes()) {
            if (asked.contains(s)) {
                out.add(s);
            }
        }
        return out;
    }

    private static boolean promptConsent(AuthenticationSessionModel as) {
        String prompt = as.getClientNote(OIDCLoginProtocol.PROMPT_PARAM);
        return prompt != null && RequestedActor.scopeSet(prompt).contains(OIDCLoginProtocol.PROMPT_VALUE_CONSENT);
    }

    /**
     * Marks the login as consented. A {@code requested_actor} login also binds its code to the agent (the scope
     * marker); a consent-by-scope login needs no binding: its token's {@code may_act} follows the grant.
     */
    private static void bind(AuthenticationSessionModel as, Pending pending) {
        if (!pending.byScope()) {
            as.setClientNote(OAuth2Constants.SCOPE, RequestedActor.withMarker(as.getClientNote(OAuth2Constants.SCOPE), pending.agent()));
        }
        as.setAuthNote(RequestedActor.AUTH_NOTE_BOUND, "true");
    }

    private static EventBuilder consentEvent(RequiredActionContext context, Request req, DelegationGrant g, String origin) {
        EventBuilder e = context.getEvent().clone().event(EventType.GRANT_CONSENT)
                .detail(AgentAuthEvents.AGENT, req.agent.clientId())
                .detail(AgentAuthEvents.HOST, req.host.getClientId())
                .detail(AgentAuthEvents.SCOPE, String.join(" ", req.scopes))
                .detail(AgentAuthEvents.GRANT_ID, g.id())
                .detail(AgentAuthEvents.ORIGIN, origin);
        String resource = context.getAuthenticationSession().getClientNote(OAuth2Constants.RESOURCE);
        if (resource != null) {
            e.detail(AgentAuthEvents.RESOURCE, resource);
        }
        return e;
    }

    private static void denyEvent(RequiredActionContext context, String actor, String reason) {
        EventBuilder e = context.getEvent().clone().event(EventType.GRANT_CONSENT_ERROR)
                .detail(AgentAuthEvents.HOST, context.getAuthenticationSession().getClient().getClientId())
                .detail(org.keycloak.events.Details.REASON, reason);
        if (actor.length() <= RequestedActor.MAX_LENGTH) {
            e.detail(AgentAuthEvents.AGENT, actor);
        }
        e.error(Errors.CONSENT_DENIED);
    }

    private static Response page(RequiredActionContext context, Request req) {
        ClientModel a = req.agent.client();
        List<Map<String, String>> scopes = new ArrayList<>();
        for (String s : req.scopes) {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("name", s);
            m.put("text", consentText(context.getRealm(), s));
            scopes.add(m);
        }
        List<String> downstream = new ArrayList<>();
        for (String d : req.agent.downstreamAgents()) {
            ClientModel c = context.getRealm().getClientByClientId(d);
            downstream.add(c == null ? d : AgentPolicy.of(c).map(AgentPolicy::displayName).orElse(d));
        }
        long lifetime = req.agent.grantLifetimeSeconds();
        Map<String, Object> agent = new LinkedHashMap<>();
        agent.put("clientId", a.getClientId());
        agent.put("name", req.agent.displayName());
        agent.put("description", a.getDescription() == null ? "" : a.getDescription());
        agent.put("logoUri", httpUrl(a.getAttribute("logoUri")));
        agent.put("policyUri", httpUrl(a.getAttribute("policyUri")));
        agent.put("tosUri", httpUrl(a.getAttribute("tosUri")));
        String hostName = req.host.getName() == null || req.host.getName().isBlank() ? req.host.getClientId() : req.host.getName();

        LoginFormsProvider form = context.form();
        Map<String, String> resource = resource(context);
        if (resource != null) {
            form.setAttribute("agentResource", resource);
        }
        Response r = form
                .setAttribute("agent", agent)
                .setAttribute("agentHostName", hostName)
                .setAttribute("agentScopes", scopes)
                .setAttribute("agentConnectors", new ArrayList<>(req.agent.allowedConnectors()))
                .setAttribute("agentDownstream", downstream)
                .setAttribute("agentLifetimeDays", lifetime == 0 ? 0 : (lifetime % 86400 == 0 ? lifetime / 86400 : 0))
                .setAttribute("agentLifetimeHours", lifetime == 0 || lifetime % 86400 == 0 ? 0 : (lifetime + 3599) / 3600)
                .setAttribute("agentFormDecision", FORM_DECISION)
                .createForm(TEMPLATE);
        return notFramable(context, r);
    }

    /**
     * The resource (RFC 8707) the login asks for, already checked at the authorization endpoint, with the name of the
     * client that owns it (e.g. an MCP server); null when the login names none.
     */
    private static Map<String, String> resource(RequiredActionContext context) {
        String uri = context.getAuthenticationSession().getClientNote(OAuth2Constants.RESOURCE);
        if (uri == null || uri.isBlank()) {
            return null;
        }
        String name = ResourceIndicators.owner(context.getRealm(), uri)
                .map(c -> c.getName() == null || c.getName().isBlank() ? c.getClientId() : c.getName()).orElse(uri);
        Map<String, String> m = new LinkedHashMap<>();
        m.put("uri", uri);
        m.put("name", name);
        return m;
    }

    /** The page may not be framed by anyone: our own headers instead of the realm's framing defaults. */
    private static Response notFramable(RequiredActionContext context, Response r) {
        context.getSession().getProvider(SecurityHeadersProvider.class).options().skipHeaders();
        Map<String, String> realmHeaders = context.getRealm().getBrowserSecurityHeaders();
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

    private static String consentText(RealmModel realm, String scope) {
        if (OAuth2Constants.SCOPE_OPENID.equals(scope)) {
            return "${agentConsentScopeOpenid}";
        }
        ClientScopeModel cs = KeycloakModelUtils.getClientScopeByName(realm, scope);
        if (cs != null) {
            String t = cs.getConsentScreenText();
            if (t != null && !t.isBlank()) {
                return t;
            }
        }
        return scope;
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

    @Override
    public void close() {
    }

    private record Request(AgentPolicy agent, ClientModel host, Set<String> scopes) {
    }

    /** The agent to consent to, and whether it came from a {@code delegation:client} scope. */
    record Pending(String agent, boolean byScope) {
    }
}
