package org.agentauth.keycloak.consent;

import org.agentauth.keycloak.support.RealmIssuer;
import org.agentauth.keycloak.agent.ConnectorResources;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.delegation.authz.RequestedActor;
import org.agentauth.keycloak.delegation.scope.DelegationScopes;
import org.jboss.logging.Logger;
import org.keycloak.OAuth2Constants;
import org.keycloak.authentication.RequiredActionContext;
import org.keycloak.authentication.RequiredActionProvider;
import org.keycloak.events.Errors;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.models.ClientModel;
import org.keycloak.models.ClientScopeModel;
import org.keycloak.models.RealmModel;
import org.keycloak.models.RequiredActionProviderModel;
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
 *
 * <p>The page is bound to what it showed: the form carries the agent and a digest of the authentication session's tab,
 * agent, host, scopes, connectors, downstream agents, grant lifetime and resource ({@link #FORM_SHOWN}). Allow records a
 * grant only when the login still asks for exactly that; a login that now asks for another agent (or none) ends with
 * {@code access_denied}, and one whose request changed otherwise (e.g. the agent's policy was edited meanwhile), or a
 * form that does not say what it showed, shows the page again. The {@code requested_actor} stays in the authentication session's client notes until the code is
 * bound, so a reset of the login flow (see {@link RequestedActor}) leads back to this page, never to a plain code.
 */
public class AgentConsentRequiredAction implements RequiredActionProvider {

    public static final String PROVIDER_ID = RequestedActor.CONSENT_ACTION;
    public static final String TEMPLATE = "agent-consent.ftl";
    /** Form field: allow or deny. */
    public static final String FORM_DECISION = "decision";
    /** Form field: the agent the page was shown for. */
    public static final String FORM_AGENT = "agent";
    /** Form field prefix: the account picked for a connector ({@code connection.<alias>}); empty = any account. */
    public static final String FORM_CONNECTION_PREFIX = "connection.";
    /** Form field: digest of what the page showed, see {@link #shownFor}. */
    public static final String FORM_SHOWN = "shown";
    /** Runs after Keycloak's own required actions. */
    public static final int PRIORITY = 10_000;

    private static final Logger LOG = Logger.getLogger(AgentConsentRequiredAction.class);
    private static final String CHANGED_MESSAGE = "agentConsentChanged";

    /**
     * Registers the required action in {@code realm} when it is missing (start-up, realm creation or import; never during
     * a login request). An admin may disable it: then agent logins are refused rather than let through without consent.
     */
    public static void ensureRegistered(RealmModel realm) {
        if (realm.getRequiredActionProviderByAlias(PROVIDER_ID) != null) {
            return;
        }
        RequiredActionProviderModel m = new RequiredActionProviderModel();
        m.setAlias(PROVIDER_ID);
        m.setProviderId(PROVIDER_ID);
        m.setName("Agent consent (Agent Auth)");
        m.setEnabled(true);
        m.setDefaultAction(false);
        m.setPriority(PRIORITY);
        realm.addRequiredActionProvider(m);
        LOG.infof("Registered required action %s in realm %s", PROVIDER_ID, realm.getName());
    }

    @Override
    public void evaluateTriggers(RequiredActionContext context) {
        AuthenticationSessionModel as = context.getAuthenticationSession();
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
        String resourceConnector = resourceConnector(context);
        if (existing.isPresent() && existing.get().coversScopes(req.scopes)
                && (resourceConnector == null || existing.get().connectors().contains(resourceConnector)) && !promptConsent(as)) {
            grants.touch(existing.get());
            bind(as, pending);
            return;
        }
        if (req.agent.preauthorized() && !promptConsent(as)) {
            DelegationGrant g = grants.grant(context.getRealm(), context.getUser().getId(), req.agent, req.host, req.scopes,
                    req.agent.allowedConnectors(), Map.of(), req.agent.downstreamAgents(), DelegationGrant.ORIGIN_PREAUTHORIZED);
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
        context.challenge(page(context, req, null));
    }

    @Override
    public void processAction(RequiredActionContext context) {
        AuthenticationSessionModel as = context.getAuthenticationSession();
        Pending pending = pending(as);
        Request req = pending == null ? null : request(context, pending);
        MultivaluedMap<String, String> form = context.getHttpRequest().getDecodedFormParameters();
        if (req == null) {
            if (pending != null) {
                denyEvent(context, pending.agent(), "The agent is no longer an enabled agent for this client");
            } else {
                denyEvent(context, form.getFirst(FORM_AGENT), "The login no longer asks for the agent the consent page was shown for");
            }
            context.failure();
            return;
        }
        if (!"allow".equals(form.getFirst(FORM_DECISION))) {
            denyEvent(context, pending.agent(), "The user denied the agent");
            context.failure();
            return;
        }
        String shownAgent = form.getFirst(FORM_AGENT);
        if (shownAgent != null && !shownAgent.equals(req.agent.clientId())) {
            denyEvent(context, pending.agent(), "The consent page was shown for another agent");
            context.failure();
            return;
        }
        // a form that does not say what it showed, or showed something else: the page again, nothing recorded
        String shown = form.getFirst(FORM_SHOWN);
        if (shownAgent == null || shown == null || !MessageDigest.isEqual(shown.getBytes(StandardCharsets.UTF_8),
                shownFor(context, req).getBytes(StandardCharsets.UTF_8))) {
            LOG.debugf("agent %s: the consent page showed another request than the login now asks for; shown again", pending.agent());
            context.challenge(page(context, req, CHANGED_MESSAGE));
            return;
        }
        Map<String, String> picks = ConsentPage.pickedConnections(context.getSession(), context.getRealm(), context.getUser(), req.agent, form);
        if (picks == null) {
            LOG.debugf("agent %s: the consent page offered an account that is no longer the user's active one; shown again", pending.agent());
            context.challenge(page(context, req, CHANGED_MESSAGE));
            return;
        }
        String origin = pending.byScope() ? DelegationGrant.ORIGIN_CONSENT_SCOPE : DelegationGrant.ORIGIN_CONSENT;
        DelegationGrant g = context.getSession().getProvider(DelegationGrantProvider.class).grant(context.getRealm(), context.getUser().getId(),
                req.agent, req.host, req.scopes, req.agent.allowedConnectors(), picks, req.agent.downstreamAgents(), origin);
        consentEvent(context, req, g, origin).success();
        bind(as, pending);
        context.success();
    }

    /**
     * The agent this login asks the user to delegate to: a validated {@code requested_actor} (DESIGN 4.1), or the agent
     * of a {@code delegation:client:<agent>} scope (DESIGN 4.6, checked at the authorization endpoint). Null when none.
     */
    static Pending pending(AuthenticationSessionModel as) {
        String actor = as.getClientNote(RequestedActor.CLIENT_REQUEST_PARAM_NOTE);
        if (actor != null) {
            return new Pending(actor, false);
        }
        List<String> byScope = DelegationScopes.agentsIn(as.getClientNote(OAuth2Constants.SCOPE));
        return byScope.size() == 1 ? new Pending(byScope.get(0), true) : null;
    }

    /** The connector whose resource URI this login asks for (a token for its brokered proxy), or null. */
    private static String resourceConnector(RequiredActionContext context) {
        String raw = context.getAuthenticationSession().getClientNote(OAuth2Constants.RESOURCE);
        return raw == null || raw.isBlank() ? null : ConnectorResources.aliasOf(issuer(context), raw);
    }

    private static String issuer(RequiredActionContext context) {
        return RealmIssuer.of(context.getSession(), context.getRealm());
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
        return requestedScopes(as.getClientNote(OAuth2Constants.SCOPE), host, agent);
    }

    /** {@link #requestedScopes(AuthenticationSessionModel, ClientModel, AgentPolicy)} for a scope parameter as sent. */
    public static Set<String> requestedScopes(String scopeParam, ClientModel host, AgentPolicy agent) {
        Set<String> asked = new LinkedHashSet<>(RequestedActor.scopeSet(RequestedActor.withoutMarker(scopeParam)));
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
     * marker, a client note, which a flow reset keeps) and drops the request note, so that it never reaches the client
     * session; a consent-by-scope login needs no binding: its token's {@code may_act} follows the grant.
     */
    private static void bind(AuthenticationSessionModel as, Pending pending) {
        if (!pending.byScope()) {
            as.setClientNote(OAuth2Constants.SCOPE, RequestedActor.withMarker(as.getClientNote(OAuth2Constants.SCOPE), pending.agent()));
            as.removeClientNote(RequestedActor.CLIENT_REQUEST_PARAM_NOTE);
        }
        as.setAuthNote(RequestedActor.AUTH_NOTE_BOUND, "true");
    }

    /**
     * What the consent page shows, as a digest bound to the authentication session's tab: agent, host, scopes,
     * connectors, downstream agents, grant lifetime and resource. Not a secret (everything in it is on the page): it
     * only lets Allow tell whether the login still asks for what the user saw.
     */
    private static String shownFor(RequiredActionContext context, Request req) {
        Map<String, String> resource = ConsentPage.resource(context.getSession(), context.getRealm(),
                context.getAuthenticationSession().getClientNote(OAuth2Constants.RESOURCE));
        return ConsentPage.digest(context.getAuthenticationSession().getTabId(), req.agent, req.host, req.scopes,
                resource == null ? "" : resource.get("uri"));
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
        if (actor != null && actor.length() <= RequestedActor.MAX_LENGTH) {
            e.detail(AgentAuthEvents.AGENT, actor);
        }
        e.error(Errors.CONSENT_DENIED);
    }

    private static Response page(RequiredActionContext context, Request req, String errorMessage) {
        LoginFormsProvider form = context.form();
        if (errorMessage != null) {
            form.setError(errorMessage);
        }
        ConsentPage.fill(context.getSession(), context.getRealm(), context.getUser(), form, req.agent, req.host, req.scopes,
                context.getAuthenticationSession().getClientNote(OAuth2Constants.RESOURCE))
                .setAttribute("agentFormDecision", FORM_DECISION)
                .setAttribute("agentFormAgent", FORM_AGENT)
                .setAttribute("agentFormShown", FORM_SHOWN)
                .setAttribute("agentShown", shownFor(context, req));
        return ConsentPage.notFramable(context.getSession(), context.getRealm(), form.createForm(TEMPLATE));
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
