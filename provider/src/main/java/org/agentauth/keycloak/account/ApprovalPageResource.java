package org.agentauth.keycloak.account;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.ciba.CibaBinding;
import org.agentauth.keycloak.ciba.CibaRequests;
import org.agentauth.keycloak.consent.AgentConsentRequiredAction;
import org.agentauth.keycloak.consent.ConsentPage;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.delegation.ScopeTexts;
import org.agentauth.keycloak.delegation.authz.RequestedActor;
import org.agentauth.keycloak.support.BrowserPages;
import org.agentauth.keycloak.vault.connect.ConnectClient;
import org.keycloak.common.util.Time;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.OAuth2DeviceCodeModel;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.protocol.oidc.grants.device.DeviceGrantType;
import org.keycloak.protocol.oidc.grants.device.endpoints.DeviceEndpoint;
import org.keycloak.services.managers.AuthenticationManager;
import org.keycloak.urls.UrlType;

/**
 * {@code /realms/{realm}/agent-auth/account/approvals/{id}}: the page where a user decides on a CIBA request the built-in
 * approval channel stored (DESIGN section 12). It is the agent consent screen plus the binding message and the
 * {@code authorization_details} description (a plain CIBA request, without an agent, gets the short form: client and
 * scopes). Only the request's user decides: without a session the page signs them in with {@code login_hint} (and
 * {@code max_age} when the request set one, then a sign-in older than that is refused and redone); a session of another
 * user is told so and decides nothing, and the request stays pending. Allow records or renews the grant (origin
 * {@code ciba}) and marks the request approved for that grant; Deny makes the agent's next poll {@code access_denied}.
 * Exactly one decision counts, on any node. Decisions are POSTs with the self-service page's per-session form token,
 * refused from a foreign {@code Origin}.
 */
public class ApprovalPageResource {

    static final String FORM_DECISION = AgentConsentRequiredAction.FORM_DECISION;
    static final String FORM_SHOWN = AgentConsentRequiredAction.FORM_SHOWN;
    static final String TITLE = "agentApprovalTitle";
    private static final java.util.regex.Pattern ID = java.util.regex.Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private final KeycloakSession session;
    private final RealmModel realm;
    private final AccountPageResource page;
    private final String id;

    ApprovalPageResource(KeycloakSession session, AccountPageResource page, String id) {
        this.session = session;
        this.realm = session.getContext().getRealm();
        this.page = page;
        this.id = id;
    }

    /** Who decides, what is asked, for whom. */
    private record Ask(CibaRequests.Pending request, UserModel user, ClientModel client, AgentPolicy agent, Set<String> scopes) {
    }

    @GET
    public Response show(@QueryParam("ui_locales") String uiLocales, @QueryParam(AccountPageResource.LOGIN_MARK) String afterLogin) {
        if (!wellFormed(id)) {
            return notFound();
        }
        String hint = AccountPageResource.localesHint(uiLocales);
        Optional<CibaRequests.Pending> row = new CibaRequests(session).byId(realm, id);
        if (row.isEmpty()) {
            return page.result(Response.Status.NOT_FOUND, TITLE, "agentApprovalNotFound");
        }
        Response refused = page.refuseDelegatedBearer();
        if (refused != null) {
            return refused;
        }
        UserModel owner = session.users().getUserById(realm, row.get().userId());
        if (owner == null) {
            return page.result(Response.Status.NOT_FOUND, TITLE, "agentApprovalNotFound");
        }
        AuthenticationManager.AuthResult auth = AuthenticationManager.authenticateIdentityCookie(session, realm, true);
        boolean fresh = auth != null && fresh(auth, row.get().maxAge());
        if (auth == null || (!fresh && auth.user().getId().equals(owner.getId()))) {
            if (afterLogin != null) {
                return page.result(Response.Status.BAD_REQUEST, TITLE, auth == null ? "agentAccountNoSession" : "agentApprovalSignInAgain");
            }
            Map<String, String> extra = new LinkedHashMap<>();
            extra.put("login_hint", owner.getUsername());
            if (row.get().maxAge() != null) {
                extra.put("max_age", Integer.toString(row.get().maxAge()));
            }
            return ConnectClient.signIn(session, selfUri(hint, true), hint, extra);
        }
        if (afterLogin != null) {
            // back from the sign-in: drop its code and state from the address bar
            return Response.seeOther(selfUri(hint, false)).header("Referrer-Policy", "no-referrer").build();
        }
        if (!auth.user().getId().equals(owner.getId())) {
            refusal(auth.user(), row.get(), "signed in as another user");
            return page.result(Response.Status.FORBIDDEN, TITLE, "agentApprovalOtherUser");
        }
        refused = page.refuseCaller(auth.user());
        if (refused != null) {
            return refused;
        }
        page.applyHint(auth.user(), hint);
        Ask ask = ask(row.get(), auth.user());
        if (ask == null || !row.get().decidable(Time.currentTimeMillis())) {
            return page.result(Response.Status.GONE, TITLE, "agentApprovalClosed");
        }
        return render(ask, AccountPageResource.formToken(auth.session()), hint);
    }

    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response decide() {
        if (!wellFormed(id)) {
            return notFound();
        }
        MultivaluedMap<String, String> form = session.getContext().getHttpRequest().getDecodedFormParameters();
        String hint = AccountPageResource.localesHint(form.getFirst("ui_locales"));
        Optional<CibaRequests.Pending> row = new CibaRequests(session).byId(realm, id);
        if (row.isEmpty()) {
            return page.result(Response.Status.NOT_FOUND, TITLE, "agentApprovalNotFound");
        }
        Response refused = page.refuseDelegatedBearer();
        if (refused != null) {
            return refused;
        }
        AuthenticationManager.AuthResult auth = AuthenticationManager.authenticateIdentityCookie(session, realm, true);
        if (!page.sameOrigin()) {
            refusal(auth == null ? null : auth.user(), row.get(), "request from a foreign origin");
            return page.result(Response.Status.FORBIDDEN, TITLE, "agentAccountFormExpired");
        }
        if (auth == null) {
            return page.result(Response.Status.UNAUTHORIZED, TITLE, "agentAccountNoSession");
        }
        if (!auth.user().getId().equals(row.get().userId())) {
            refusal(auth.user(), row.get(), "signed in as another user");
            return page.result(Response.Status.FORBIDDEN, TITLE, "agentApprovalOtherUser");
        }
        refused = page.refuseCaller(auth.user());
        if (refused != null) {
            return refused;
        }
        page.applyHint(auth.user(), hint);
        if (!AccountPageResource.formTokenMatches(auth.session(), form.getFirst("form_token"))) {
            refusal(auth.user(), row.get(), "form token missing, wrong or of another session");
            return page.result(Response.Status.FORBIDDEN, TITLE, "agentAccountFormExpired");
        }
        if (!fresh(auth, row.get().maxAge())) {
            refusal(auth.user(), row.get(), "sign-in older than the request's max_age");
            return page.result(Response.Status.FORBIDDEN, TITLE, "agentApprovalSignInAgain");
        }
        Ask ask = ask(row.get(), auth.user());
        long now = Time.currentTimeMillis();
        OAuth2DeviceCodeModel stored = DeviceEndpoint.getDeviceByUserCode(session, realm, row.get().authResultId());
        if (ask == null || !row.get().decidable(now) || stored == null || !stored.isPending() || stored.isExpired()) {
            return page.result(Response.Status.GONE, TITLE, "agentApprovalClosed");
        }
        String who = ask.agent != null ? ask.agent.displayName() : ConsentPage.clientName(ask.client);
        CibaRequests requests = new CibaRequests(session);
        if (!"allow".equals(form.getFirst(FORM_DECISION))) {
            if (!requests.decide(id, CibaRequests.DENIED)) {
                return page.result(Response.Status.GONE, TITLE, "agentApprovalClosed");
            }
            DeviceGrantType.denyUserCode(session, realm, row.get().authResultId());
            event(auth.user(), ask).event(EventType.GRANT_CONSENT_ERROR).detail(Details.REASON, "The user denied the request")
                    .error(Errors.CONSENT_DENIED);
            return page.result(Response.Status.OK, TITLE, "agentApprovalDenied", List.of(who));
        }
        String shown = form.getFirst(FORM_SHOWN);
        Map<String, String> picks = ask.agent == null ? Map.of()
                : ConsentPage.pickedConnections(session, realm, auth.user(), ask.agent, form);
        if (shown == null || picks == null || !MessageDigest.isEqual(shown.getBytes(StandardCharsets.UTF_8),
                shownFor(ask).getBytes(StandardCharsets.UTF_8))) {
            // the request's agent or policy changed while the page was open, or the form does not say what it showed
            LoginFormsProvider f = session.getProvider(LoginFormsProvider.class).setError("agentConsentChanged");
            return render(f, ask, AccountPageResource.formToken(auth.session()), hint);
        }
        if (!requests.decide(id, CibaRequests.APPROVED)) {
            return page.result(Response.Status.GONE, TITLE, "agentApprovalClosed");
        }
        Map<String, String> approval = new LinkedHashMap<>();
        EventBuilder e = event(auth.user(), ask).event(EventType.GRANT_CONSENT).detail(AgentAuthEvents.ORIGIN, DelegationGrant.ORIGIN_CIBA);
        if (ask.agent != null) {
            DelegationGrant g = session.getProvider(DelegationGrantProvider.class).grant(realm, auth.user().getId(), ask.agent, ask.client,
                    ask.scopes, ask.agent.allowedConnectors(), picks, ask.agent.downstreamAgents(), DelegationGrant.ORIGIN_CIBA);
            approval.put(CibaBinding.APPROVED_GRANT, g.id());
            e.detail(AgentAuthEvents.GRANT_ID, g.id());
        }
        if (!DeviceGrantType.approveUserCode(session, realm, row.get().authResultId(), "fake", approval)) {
            // Keycloak's store no longer has it (expired between the check and now): the grant stays, unused
            return page.result(Response.Status.GONE, TITLE, "agentApprovalClosed");
        }
        e.success();
        return page.result(Response.Status.OK, TITLE, "agentApprovalAllowed", List.of(who));
    }

    // ------------------------------------------------------------------------------------------------ what is shown

    /** What the request asks, as it stands now; null when its client or agent no longer qualifies. */
    private Ask ask(CibaRequests.Pending row, UserModel user) {
        ClientModel client = realm.getClientById(row.clientUuid());
        if (client == null || !client.isEnabled()) {
            return null;
        }
        if (row.agentUuid() == null) {
            return new Ask(row, user, client, null, new LinkedHashSet<>(RequestedActor.scopeSet(row.scope())));
        }
        ClientModel agentClient = realm.getClientById(row.agentUuid());
        if (agentClient == null) {
            return null;
        }
        AgentPolicy agent;
        try {
            agent = RequestedActor.validate(realm, client, agentClient.getClientId());
        } catch (IllegalArgumentException e) {
            return null;
        }
        return new Ask(row, user, client, agent, AgentConsentRequiredAction.requestedScopes(row.scope(), client, agent));
    }

    private Response render(Ask ask, String formToken, String hint) {
        return render(session.getProvider(LoginFormsProvider.class), ask, formToken, hint);
    }

    private Response render(LoginFormsProvider form, Ask ask, String formToken, String hint) {
        form.setUser(ask.user);
        if (ask.agent != null) {
            ConsentPage.fill(session, realm, ask.user, form, ask.agent, ask.client, ask.scopes, ask.request.resource());
            if (ask.agent.client().getId().equals(ask.client.getId())) {
                form.setAttribute("agentSelfHost", true); // the agent asked itself, from no app the user sees
            }
        } else {
            Map<String, Object> client = new LinkedHashMap<>();
            client.put("clientId", ask.client.getClientId());
            client.put("name", ConsentPage.clientName(ask.client));
            client.put("description", ask.client.getDescription() == null ? "" : ask.client.getDescription());
            form.setAttribute("cibaPlain", true).setAttribute("agent", client).setAttribute("agentHostName", ConsentPage.clientName(ask.client))
                    .setAttribute("agentScopes", ask.scopes.stream().map(s -> Map.of("name", s, "text", ScopeTexts.consentText(realm, s))).toList());
        }
        if (ask.request.bindingMessage() != null) {
            form.setAttribute("agentBindingMessage", ask.request.bindingMessage());
        }
        if (ask.request.description() != null) {
            form.setAttribute("agentActionDescription", ask.request.description());
        }
        String action = selfUri(hint, false).toString();
        form.setAttribute("agentFormAction", action)
                .setAttribute("agentFormToken", formToken)
                .setAttribute("agentFormDecision", FORM_DECISION)
                .setAttribute("agentFormAgent", AgentConsentRequiredAction.FORM_AGENT)
                .setAttribute("agentFormShown", FORM_SHOWN)
                .setAttribute("agentShown", shownFor(ask));
        // same-origin: the decision form's Origin is checked
        return BrowserPages.secure(session, ConsentPage.notFramable(session, realm, form.createForm(AgentConsentRequiredAction.TEMPLATE)), "same-origin");
    }

    /** The digest of what the page shows for this request (see {@link ConsentPage#digest}). */
    private static String shownFor(Ask ask) {
        if (ask.agent == null) {
            return ConsentPage.digest(ask.request.id(), null, ask.client, ask.scopes, null);
        }
        return ConsentPage.digest(ask.request.id(), ask.agent, ask.client, ask.scopes, ask.request.resource());
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** Request ids are UUIDs: anything else never names a request (and a themed page cannot be built for its URL). */
    static boolean wellFormed(String id) {
        return id != null && ID.matcher(id).matches();
    }

    private static Response notFound() {
        return Response.status(Response.Status.NOT_FOUND).type(MediaType.APPLICATION_JSON_TYPE)
                .entity(Map.of("error", "not_found", "error_description", "No such approval request")).build();
    }

    /** Whether the session's sign-in is recent enough for the request's {@code max_age} (always, without one). */
    private static boolean fresh(AuthenticationManager.AuthResult auth, Integer maxAge) {
        if (maxAge == null) {
            return true;
        }
        String at = auth.session().getNote(AuthenticationManager.AUTH_TIME);
        int authTime = at == null ? auth.session().getStarted() : Integer.parseInt(at);
        return Time.currentTime() - authTime <= maxAge;
    }

    private URI selfUri(String uiLocales, boolean afterLogin) {
        UriBuilder b = UriBuilder.fromUri(session.getContext().getUri(UrlType.FRONTEND).getBaseUri()).path("realms").path(realm.getName())
                .path("agent-auth").path("account").path("approvals").path(id);
        if (uiLocales != null) {
            b.queryParam("ui_locales", uiLocales.replace(" ", "%20"));
        }
        if (afterLogin) {
            b.queryParam(AccountPageResource.LOGIN_MARK, "1");
        }
        return b.build();
    }

    private EventBuilder event(UserModel user, Ask ask) {
        EventBuilder e = new EventBuilder(realm, session, session.getContext().getConnection()).user(user)
                .client(ask.client)
                .detail(AgentAuthEvents.OPERATION, "ciba_decision")
                .detail(AgentAuthEvents.CIBA_REQUEST_ID, ask.request.id())
                .detail(AgentAuthEvents.HOST, ask.client.getClientId())
                .detail(AgentAuthEvents.SCOPE, String.join(" ", ask.scopes));
        if (ask.agent != null) {
            e.detail(AgentAuthEvents.AGENT, ask.agent.clientId());
        }
        if (ask.request.bindingMessage() != null) {
            e.detail(AgentAuthEvents.BINDING_MESSAGE, ask.request.bindingMessage());
        }
        return e;
    }

    private void refusal(UserModel user, CibaRequests.Pending row, String reason) {
        EventBuilder e = new EventBuilder(realm, session, session.getContext().getConnection()).event(EventType.GRANT_CONSENT_ERROR)
                .detail(AgentAuthEvents.OPERATION, "ciba_decision").detail(Details.REASON, reason)
                .detail(AgentAuthEvents.CIBA_REQUEST_ID, row.id());
        if (user != null) {
            e.user(user);
        }
        ClientModel client = realm.getClientById(row.clientUuid());
        if (client != null) {
            e.client(client);
        }
        e.error(Errors.NOT_ALLOWED);
    }
}
