package org.agentauth.keycloak.vault.connect;

import org.agentauth.keycloak.support.Digests;
import com.fasterxml.jackson.databind.JsonNode;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.FormParam;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.support.BrowserPages;
import org.agentauth.keycloak.support.Strings;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.VaultSettings;
import org.agentauth.keycloak.vault.crypto.TokenCipher.VaultKeyException;
import org.agentauth.keycloak.vault.proxy.ConnectionStatusResource;
import org.agentauth.keycloak.vault.proxy.ProxyResource;
import org.agentauth.keycloak.vault.upstream.UpstreamClient;
import org.agentauth.keycloak.vault.upstream.UpstreamException;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.SingleUseObjectProvider;
import org.keycloak.models.UserModel;
import org.keycloak.protocol.oidc.utils.RedirectUtils;
import org.keycloak.services.managers.AuthenticationManager;
import org.keycloak.urls.UrlType;

/**
 * The connect flow of one connector (DESIGN section 5): {@code GET connect} shows a confirmation page to the signed-in
 * user (signing them in first), {@code POST connect} (Allow, with a one-time form token bound to the user's session)
 * leaves for the upstream with Authorization Code + PKCE S256 and a one-time state bound to the same session, and
 * {@code GET callback} exchanges the code, names the account, stores the connection and returns to {@code return_to}.
 * {@code return_to} must be a redirect URI of {@code client_id}, checked before anything else happens. Errors end on a
 * themed page (or back at {@code return_to} with {@code error}, once it is known to be safe) and store nothing.
 */
public class ConnectResource {

    static final String PENDING_PREFIX = "agent-auth-connect-pending:";
    static final String STATE_PREFIX = "agent-auth-connect-state:";
    /** How long a confirmation page and an upstream round trip may take. */
    static final long LIFESPAN_SECONDS = 600;
    static final String LOGIN_MARK = "agent_auth_login";
    private static final Set<String> PROMPTS = Set.of("login", "consent", "select_account");

    private final KeycloakSession session;
    private final RealmModel realm;
    private final String alias;

    public ConnectResource(KeycloakSession session, String alias) {
        this.session = session;
        this.realm = session.getContext().getRealm();
        this.alias = alias;
    }

    /** What a connect request asked for, once validated. */
    private record Request(Connector connector, ClientModel client, String returnTo, Set<String> scopes, String prompt) {
    }

    /** The brokered proxy: {@code proxy/{path}} with any method. */
    @Path("proxy{path:(/.*)?}")
    public ProxyResource proxy() {
        return new ProxyResource(session, alias);
    }

    /** Which account a brokered call would use now ({@code connection_required} when none), without an upstream call. */
    @Path("connection")
    public ConnectionStatusResource connection() {
        return new ConnectionStatusResource(session, alias);
    }

    @GET
    @Path("connect")
    public Response connect(@QueryParam("client_id") String clientId, @QueryParam("return_to") String returnTo,
            @QueryParam("scope") String scope, @QueryParam("prompt") String prompt, @QueryParam(LOGIN_MARK) String afterLogin) {
        Connector connector = Connector.byAlias(realm, alias).filter(Connector::enabled).orElse(null);
        if (connector == null) {
            return unknownConnector();
        }
        Request req;
        try {
            req = validate(connector, clientId, returnTo, scope, prompt);
        } catch (Invalid e) {
            event(EventType.FEDERATED_IDENTITY_LINK, connector, null).detail(Details.REASON, e.getMessage()).error(e.error);
            return page(Response.Status.BAD_REQUEST, "agentConnectErrorTitle", "agentConnectInvalidRequest", e.error + ": " + e.getMessage());
        }
        AuthenticationManager.AuthResult auth = AuthenticationManager.authenticateIdentityCookie(session, realm, true);
        if (auth == null) {
            if (afterLogin != null) {
                return page(Response.Status.BAD_REQUEST, "agentConnectErrorTitle", "agentConnectNoSession", null);
            }
            return signIn();
        }
        String pending = random(32);
        Map<String, String> notes = new HashMap<>();
        notes.put("userSession", auth.session().getId());
        notes.put("user", auth.user().getId());
        notes.put("connector", connector.id());
        notes.put("client", req.client() == null ? "" : req.client().getClientId());
        notes.put("returnTo", req.returnTo() == null ? "" : req.returnTo());
        notes.put("scope", String.join(" ", req.scopes()));
        notes.put("prompt", req.prompt() == null ? "" : req.prompt());
        session.getProvider(SingleUseObjectProvider.class).put(PENDING_PREFIX + pending, LIFESPAN_SECONDS, notes);

        List<String> linked = session.getProvider(UpstreamConnectionProvider.class)
                .listForUser(realm, auth.user().getId(), connector.id()).stream().map(UpstreamConnection::label).toList();
        LoginFormsProvider form = forms(auth.user())
                .setAttribute("connector", connectorView(connector))
                .setAttribute("connectScopes", new ArrayList<>(req.scopes()))
                .setAttribute("connectLinked", linked)
                .setAttribute("connectUser", auth.user().getUsername())
                .setAttribute("connectAction", selfUri("connect").toString())
                .setAttribute("connectPending", pending);
        if (req.client() != null && !ConnectClient.CLIENT_ID.equals(req.client().getClientId())) {
            // an app asks (the self-service page, through the extension's own client, is the user asking)
            String name = req.client().getName();
            form.setAttribute("connectClient", name == null || name.isBlank() || name.contains("${") ? req.client().getClientId() : name);
        }
        return secure(form.createForm("agent-connect.ftl"));
    }

    /** Allow or Deny on the confirmation page. */
    @POST
    @Path("connect")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response decide(@FormParam("pending") String pending, @FormParam("decision") String decision) {
        Connector connector = Connector.byAlias(realm, alias).filter(Connector::enabled).orElse(null);
        if (connector == null) {
            return unknownConnector();
        }
        Map<String, String> notes = pending == null || pending.length() > 100 ? null
                : session.getProvider(SingleUseObjectProvider.class).remove(PENDING_PREFIX + pending);
        AuthenticationManager.AuthResult auth = AuthenticationManager.authenticateIdentityCookie(session, realm, true);
        if (notes == null || auth == null || !auth.session().getId().equals(notes.get("userSession"))
                || !connector.id().equals(notes.get("connector"))) {
            event(EventType.FEDERATED_IDENTITY_LINK, connector, auth == null ? null : auth.user())
                    .detail(Details.REASON, "connect form token unknown, used, expired or of another session").error(Errors.INVALID_REQUEST);
            return page(Response.Status.BAD_REQUEST, "agentConnectErrorTitle", "agentConnectExpired", null);
        }
        String returnTo = Strings.safe(notes.get("returnTo"), 4000);
        if (!"allow".equals(decision)) {
            event(EventType.FEDERATED_IDENTITY_LINK, connector, auth.user()).detail(Details.REASON, "user denied").error(Errors.CONSENT_DENIED);
            return returnTo == null || returnTo.isEmpty()
                    ? page(Response.Status.OK, "agentConnectDeniedTitle", "agentConnectDenied", null)
                    : back(returnTo, Map.of("error", "access_denied", "error_description", "The user did not connect an account"));
        }
        if (!session.getProvider(VaultSettings.class).keys().usable()) {
            event(EventType.FEDERATED_IDENTITY_LINK, connector, auth.user()).detail(Details.REASON, "vault has no key").error(Errors.INVALID_CONFIG);
            return page(Response.Status.SERVICE_UNAVAILABLE, "agentConnectErrorTitle", "agentConnectVaultLocked", null);
        }
        String state = random(32);
        String verifier = random(48);
        Map<String, String> stateNotes = new HashMap<>(notes);
        stateNotes.put("verifier", verifier);
        session.getProvider(SingleUseObjectProvider.class).put(STATE_PREFIX + state, LIFESPAN_SECONDS, stateNotes);

        Map<String, String> params = new java.util.LinkedHashMap<>(connector.extraAuthParams());
        params.put("response_type", "code");
        params.put("client_id", connector.clientId());
        params.put("redirect_uri", selfUri("callback").toString());
        params.put("state", state);
        params.put("code_challenge", challenge(verifier));
        params.put("code_challenge_method", "S256");
        String scope = notes.get("scope");
        if (scope != null && !scope.isEmpty()) {
            params.put("scope", scope);
        }
        String prompt = notes.get("prompt");
        if (prompt != null && !prompt.isEmpty()) {
            params.put("prompt", prompt);
        }
        URI upstream = URI.create(withQuery(connector.authorizationUrl(), params));
        return Response.seeOther(upstream).header("Referrer-Policy", "no-referrer").build();
    }

    /** The upstream's redirect back. */
    @GET
    @Path("callback")
    public Response callback(@QueryParam("code") String code, @QueryParam("state") String state, @QueryParam("error") String error) {
        Connector connector = Connector.byAlias(realm, alias).filter(Connector::enabled).orElse(null);
        if (connector == null) {
            return unknownConnector();
        }
        Map<String, String> notes = state == null || state.isEmpty() || state.length() > 100 ? null
                : session.getProvider(SingleUseObjectProvider.class).remove(STATE_PREFIX + state);
        AuthenticationManager.AuthResult auth = AuthenticationManager.authenticateIdentityCookie(session, realm, true);
        UserModel user = auth == null ? null : auth.user();
        if (notes == null || !connector.id().equals(notes.get("connector"))) {
            event(EventType.FEDERATED_IDENTITY_LINK, connector, user).detail(Details.REASON, "state unknown, used or expired")
                    .error(Errors.INVALID_CODE);
            return page(Response.Status.BAD_REQUEST, "agentConnectErrorTitle", "agentConnectBadState", null);
        }
        if (auth == null || !auth.session().getId().equals(notes.get("userSession")) || !auth.user().getId().equals(notes.get("user"))) {
            event(EventType.FEDERATED_IDENTITY_LINK, connector, user).detail(Details.REASON, "state belongs to another session")
                    .error(Errors.DIFFERENT_USER_AUTHENTICATED);
            return page(Response.Status.BAD_REQUEST, "agentConnectErrorTitle", "agentConnectOtherSession", null);
        }
        String returnTo = notes.get("returnTo");
        if (error != null || code == null || code.isEmpty()) {
            String err = "access_denied".equals(error) ? "access_denied" : "server_error";
            event(EventType.FEDERATED_IDENTITY_LINK, connector, user)
                    .detail(Details.REASON, "upstream answered " + (error == null ? "without a code" : Strings.safe(error, 64)))
                    .error(err.equals("access_denied") ? Errors.CONSENT_DENIED : Errors.IDENTITY_PROVIDER_ERROR);
            return fail(returnTo, err, err.equals("access_denied") ? "The account was not connected: the upstream provider refused"
                    : "The upstream provider did not complete the connection");
        }
        UpstreamClient upstream = new UpstreamClient(session, connector);
        UpstreamClient.Tokens tokens;
        String subject;
        String label;
        try {
            tokens = upstream.exchangeCode(code, selfUri("callback").toString(), notes.get("verifier"));
            JsonNode info = connector.userinfoUrl() != null ? upstream.userinfo(tokens.tokens().accessToken()) : tokens.idTokenClaims();
            subject = UpstreamClient.accountSubject(info);
            label = UpstreamClient.accountName(info);
        } catch (UpstreamException e) {
            event(EventType.FEDERATED_IDENTITY_LINK, connector, user).detail(Details.REASON, e.getMessage()).error(Errors.IDENTITY_PROVIDER_ERROR);
            return fail(returnTo, "server_error", "The upstream provider did not complete the connection");
        }
        if (subject == null) {
            // an upstream that names no account: each connect is an account of its own
            subject = "unnamed:" + random(12);
        }
        if (label == null) {
            label = connector.name();
        }
        Set<String> requested = Strings.split(notes.get("scope"));
        Set<String> scopes = tokens.grantedScope() != null ? tokens.grantedScope() : requested;
        UpstreamConnection c;
        try {
            c = session.getProvider(UpstreamConnectionProvider.class).link(realm, user.getId(), connector.id(),
                    Strings.safe(subject, 255), Strings.safe(label, 255), scopes, tokens.tokens());
        } catch (VaultKeyException e) {
            event(EventType.FEDERATED_IDENTITY_LINK, connector, user).detail(Details.REASON, e.getMessage()).error(Errors.INVALID_CONFIG);
            return page(Response.Status.SERVICE_UNAVAILABLE, "agentConnectErrorTitle", "agentConnectVaultLocked", null);
        }
        EventBuilder ev = event(EventType.FEDERATED_IDENTITY_LINK, connector, user)
                .detail(AgentAuthEvents.CONNECTION_ID, c.id())
                .detail(AgentAuthEvents.SCOPE, String.join(" ", c.scopes()))
                .detail(Details.IDENTITY_PROVIDER_USERNAME, c.label())
                .detail(AgentAuthEvents.OPERATION, "connect");
        String client = notes.get("client");
        if (client != null && !client.isEmpty()) {
            ev.client(client);
        }
        ev.success();
        if (returnTo != null && !returnTo.isEmpty()) {
            return back(returnTo, Map.of("connector", connector.alias(), "connection_id", c.id()));
        }
        return page(Response.Status.OK, "agentConnectDoneTitle", "agentConnectDone", c.label(), connector.name());
    }

    // ------------------------------------------------------------------------------------------------ validation

    private static final class Invalid extends Exception {
        final String error;

        Invalid(String error, String message) {
            super(message);
            this.error = error;
        }
    }

    private Request validate(Connector connector, String clientId, String returnTo, String scope, String prompt) throws Invalid {
        ClientModel client = null;
        if (clientId != null && !clientId.isEmpty()) {
            client = clientId.length() > 255 ? null : realm.getClientByClientId(clientId);
            if (client == null || !client.isEnabled()) {
                throw new Invalid("invalid_request", "client_id names no enabled client of this realm");
            }
        }
        String verified = null;
        if (returnTo != null && !returnTo.isEmpty()) {
            if (client == null) {
                throw new Invalid("invalid_request", "return_to needs the client_id whose redirect URI it is");
            }
            verified = returnTo.length() > 4000 ? null : RedirectUtils.verifyRedirectUri(session, returnTo, client);
            if (verified == null) {
                throw new Invalid("invalid_request", "return_to is not a redirect URI of client " + client.getClientId());
            }
        }
        Set<String> scopes;
        if (scope == null || scope.isBlank()) {
            scopes = new LinkedHashSet<>(connector.scopes());
        } else {
            scopes = Strings.split(scope.length() > 2000 ? "" : scope);
            List<String> outside = scopes.stream().filter(s -> !connector.scopes().contains(s)).toList();
            if (scopes.isEmpty() || !outside.isEmpty()) {
                throw new Invalid("invalid_scope", "scope names scopes the connector does not offer"
                        + (outside.isEmpty() ? "" : ": " + Strings.safe(String.join(" ", outside), 200)));
            }
        }
        if (prompt != null && !prompt.isEmpty() && !PROMPTS.contains(prompt)) {
            throw new Invalid("invalid_request", "prompt must be login, consent or select_account");
        }
        return new Request(connector, client, verified, scopes, prompt == null || prompt.isEmpty() ? null : prompt);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** Sends the browser through the realm's login, back to this same URL (the code is never redeemed). */
    private Response signIn() {
        URI self = UriBuilder.fromUri(session.getContext().getUri(UrlType.FRONTEND).getRequestUri())
                .replaceQueryParam(LOGIN_MARK, "1").build();
        return ConnectClient.signIn(session, self, null);
    }

    private URI selfUri(String leaf) {
        return UriBuilder.fromUri(session.getContext().getUri(UrlType.FRONTEND).getBaseUri())
                .path("realms").path(realm.getName()).path("agent-auth").path("connectors").path(alias).path(leaf).build();
    }

    private Response fail(String returnTo, String error, String description) {
        if (returnTo != null && !returnTo.isEmpty()) {
            return back(returnTo, Map.of("error", error, "error_description", description));
        }
        return page(Response.Status.BAD_GATEWAY, "agentConnectErrorTitle", "agentConnectUpstreamFailed", null);
    }

    /** Back to a {@code return_to} that was verified against the client's redirect URIs. */
    private static Response back(String returnTo, Map<String, String> params) {
        return Response.status(Response.Status.FOUND).location(URI.create(withQuery(returnTo, new java.util.TreeMap<>(params))))
                .header("Referrer-Policy", "no-referrer").build();
    }

    /** Adds query parameters to a URL (before any fragment), each value form-encoded. */
    static String withQuery(String url, Map<String, String> params) {
        int hash = url.indexOf('#');
        String head = hash < 0 ? url : url.substring(0, hash);
        String fragment = hash < 0 ? "" : url.substring(hash);
        StringBuilder sb = new StringBuilder(head);
        char sep = head.contains("?") ? '&' : '?';
        for (Map.Entry<String, String> p : params.entrySet()) {
            sb.append(sep).append(encodeQuery(p.getKey())).append('=').append(encodeQuery(p.getValue()));
            sep = '&';
        }
        return sb.append(fragment).toString();
    }

    private LoginFormsProvider forms(UserModel user) {
        LoginFormsProvider form = session.getProvider(LoginFormsProvider.class);
        if (user != null) {
            form.setUser(user);
        }
        return form;
    }

    /**
     * 404 for an unknown connector: the themed page, except for an alias no connector can have (outside
     * {@link org.agentauth.keycloak.vault.ConnectorValidator#ALIAS_PATTERN}): Keycloak's theme rebuilds the request URI for
     * its language links, which fails for a decoded path with characters such as braces, quotes or spaces (a 500 found by
     * HostileInputIT); such a request gets the proxy's JSON {@code not_found} instead.
     */
    private Response unknownConnector() {
        if (alias == null || !alias.matches(org.agentauth.keycloak.vault.ConnectorValidator.ALIAS_PATTERN)) {
            return Response.status(Response.Status.NOT_FOUND).type(MediaType.APPLICATION_JSON).header("Cache-Control", "no-store")
                    .entity(Map.of("error", "not_found", "error_description", "There is no such connector")).build();
        }
        return page(Response.Status.NOT_FOUND, "agentConnectErrorTitle", "agentConnectUnknownConnector", null);
    }

    private Response page(Response.Status status, String title, String message, String detail, Object... more) {
        List<Object> args = new ArrayList<>();
        if (detail != null) {
            args.add(detail);
        }
        args.addAll(List.of(more));
        LoginFormsProvider form = forms(null).setStatus(status)
                .setAttribute("connectTitle", title)
                .setAttribute("connectMessage", message)
                .setAttribute("connectArgs", args)
                .setAttribute("connectOk", status.getFamily() == Response.Status.Family.SUCCESSFUL);
        return secure(form.createForm("agent-connect-result.ftl"));
    }

    private Response secure(Response r) {
        return BrowserPages.secure(session, r);
    }

    private EventBuilder event(EventType type, Connector connector, UserModel user) {
        EventBuilder e = new EventBuilder(realm, session, session.getContext().getConnection()).event(type)
                .detail(AgentAuthEvents.CONNECTOR, connector.alias());
        if (user != null) {
            e.user(user);
        }
        return e;
    }

    private static String safeUrl(String url) {
        return url != null && url.matches("(?i)https?://[^\\s\"'<>]+") ? url : null;
    }

    /** UriBuilder treats '{' as a template and keeps '%xx': values are passed encoded. */
    private static String encodeQuery(String v) {
        return java.net.URLEncoder.encode(v, StandardCharsets.UTF_8).replace("+", "%20");
    }

    static String random(int bytes) {
        return BrowserPages.random(bytes);
    }

    /** PKCE S256 (RFC 7636): the verifier is ASCII, so its UTF-8 bytes are its ASCII bytes. */
    static String challenge(String verifier) {
        return Digests.sha256Url(verifier);
    }

    /** What the confirmation page shows of the connector (admin-provided text is escaped by the template). */
    private static Map<String, String> connectorView(Connector connector) {
        Map<String, String> view = new HashMap<>();
        view.put("name", connector.name());
        view.put("alias", connector.alias());
        // proxy_exchange: the vault exchange may hand an agent short-lived upstream access tokens; the page says so
        view.put("releasesTokens", String.valueOf(connector.releasesTokens()));
        String logo = safeUrl(connector.logoUri());
        if (logo != null) {
            view.put("logoUri", logo);
        }
        return view;
    }
}
