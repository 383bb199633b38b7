package org.agentauth.keycloak.account;

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
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.FormatStyle;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.delegation.ScopeTexts;
import org.agentauth.keycloak.support.BrowserPages;
import org.agentauth.keycloak.support.Strings;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.token.TokenContainment;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.connect.ConnectClient;
import org.keycloak.common.util.Time;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.locale.LocaleSelectorProvider;
import org.keycloak.models.AccountRoles;
import org.keycloak.models.ClientModel;
import org.keycloak.models.Constants;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.RoleModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.services.managers.AppAuthManager;
import org.keycloak.services.managers.AuthenticationManager;
import org.keycloak.services.util.LocaleUtil;
import org.keycloak.urls.UrlType;

/**
 * {@code /realms/{realm}/agent-auth/account/}: the self-service page (issue 14), a server-rendered page in the login
 * theme, like the consent screen. It lists the signed-in user's delegation grants ("Agents acting for me") and, for every
 * connector of the realm, their connected accounts, and lets them revoke either and connect another account (the connect
 * flow, back to this page).
 * <p>
 * The page relies on the user's Keycloak browser session (the identity cookie), never on a bearer token: without a
 * session it signs the user in through the public client {@value ConnectClient#CLIENT_ID} (PKCE; the code is never
 * redeemed), as the connect flow does. A request whose bearer token carries {@code act} or {@code may_act} is refused
 * outright, and so are service accounts and users without {@code manage-account} (the account REST API's rule).
 * Revocations are POSTs carrying a per-session form token (a note on the user session, compared in constant time) and
 * are refused from a foreign {@code Origin}; they do exactly what the account REST API's DELETE calls do
 * ({@link AccountActions}), events included. Language as on Keycloak's own pages: {@code kc_locale} (the language
 * menu; sets Keycloak's locale cookie), the user's locale, {@code ui_locales}, the cookie, the browser's languages.
 */
public class AccountPageResource {

    static final String FORM_TOKEN_NOTE = "agent_auth.account_form_token";
    static final String LOGIN_MARK = "agent_auth_login";
    static final String TEMPLATE = "agent-account.ftl";
    private static final String RESULT_TEMPLATE = "agent-connect-result.ftl";

    private final KeycloakSession session;
    private final RealmModel realm;

    public AccountPageResource(KeycloakSession session) {
        this.session = session;
        this.realm = session.getContext().getRealm();
    }

    /** The signed-in user and their browser session. */
    private record Caller(UserModel user, UserSessionModel userSession) {
    }

    @GET
    public Response page(@QueryParam("ui_locales") String uiLocales, @QueryParam(LOGIN_MARK) String afterLogin,
            @QueryParam("revoked") String revoked, @QueryParam("connection_id") String connectionId,
            @QueryParam("error") String error) {
        URI request = session.getContext().getUri(UrlType.FRONTEND).getRequestUri();
        if (!request.getRawPath().endsWith("/")) {
            // one URL for the page (and the redirect URI pattern .../account/* of its client)
            return Response.status(Response.Status.FOUND).location(UriBuilder.fromUri(request).replacePath(request.getRawPath() + "/").build()).build();
        }
        String hint = localesHint(uiLocales);
        LocaleUtil.processLocaleParam(session, realm, null); // kc_locale, as on Keycloak's own pages
        Response refused = refuseDelegatedBearer();
        if (refused != null) {
            return refused;
        }
        AuthenticationManager.AuthResult auth = AuthenticationManager.authenticateIdentityCookie(session, realm, true);
        if (auth == null) {
            if (afterLogin != null) {
                return result(Response.Status.BAD_REQUEST, "agentAccountErrorTitle", "agentAccountNoSession");
            }
            return ConnectClient.signIn(session, pageUri(hint, Map.of(LOGIN_MARK, "1")), hint);
        }
        if (afterLogin != null) {
            // back from the sign-in: drop its code and state from the address bar
            return Response.seeOther(pageUri(hint, Map.of())).header("Referrer-Policy", "no-referrer").build();
        }
        Caller caller = new Caller(auth.user(), auth.session());
        refused = refuseCaller(caller.user());
        if (refused != null) {
            return refused;
        }
        applyHint(caller.user(), hint);
        Locale locale = session.getContext().resolveLocale(caller.user());

        List<Map<String, Object>> notices = new ArrayList<>();
        if ("grant".equals(revoked)) {
            notices.add(notice("agentAccountGrantRevoked"));
        } else if ("connection".equals(revoked)) {
            notices.add(notice("agentAccountConnectionRevoked"));
        }
        if (connectionId != null) {
            // back from the connect flow: name the account only when it is the user's own
            AccountActions.ownConnection(session, realm, caller.user(), connectionId).ifPresent(c -> notices.add(notice(
                    "agentAccountConnected", c.label(), Connector.byId(realm, c.connectorId()).map(Connector::name).orElse(""))));
        } else if ("access_denied".equals(error)) {
            notices.add(notice("agentAccountNotConnected"));
        }

        LoginFormsProvider form = session.getProvider(LoginFormsProvider.class).setUser(caller.user())
                .setAttribute("accountUser", caller.user().getUsername())
                .setAttribute("accountApprovals", approvals(caller.user(), locale, hint))
                .setAttribute("accountGrants", grants(caller.user(), locale))
                .setAttribute("accountConnectors", connectors(caller.user(), locale, hint))
                .setAttribute("accountNotices", notices)
                .setAttribute("accountAction", pageUri(null, Map.of()).resolve("revoke").toString())
                .setAttribute("accountFormToken", formToken(caller.userSession()))
                .setAttribute("accountConsoleUrl", frontendBase().path("realms").path(realm.getName()).path("account/").build().toString());
        if (hint != null) {
            form.setAttribute("accountUiLocales", hint);
        }
        // same-origin: the revoke forms' Origin is checked, and under no-referrer a browser would send "Origin: null"
        return BrowserPages.secure(session, form.createForm(TEMPLATE), "same-origin");
    }

    /** A CIBA request's approval page: {@code account/approvals/{id}} (DESIGN section 12). */
    @Path("approvals/{id}")
    public ApprovalPageResource approval(@jakarta.ws.rs.PathParam("id") String id) {
        return new ApprovalPageResource(session, this, id);
    }

    /** A revoke button: {@code type} {@code grant} or {@code connection}, {@code id}, and the session's form token. */
    @POST
    @Path("revoke")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response revoke(@FormParam("form_token") String formToken, @FormParam("type") String type, @FormParam("id") String id,
            @FormParam("ui_locales") String uiLocales) {
        String hint = localesHint(uiLocales);
        boolean grant = "grant".equals(type);
        if (!grant && !"connection".equals(type)) {
            return result(Response.Status.BAD_REQUEST, "agentAccountErrorTitle", "agentAccountFormExpired");
        }
        EventType errorType = grant ? EventType.REVOKE_GRANT_ERROR : EventType.REMOVE_FEDERATED_IDENTITY_ERROR;
        Response refused = refuseDelegatedBearer();
        if (refused != null) {
            return refused;
        }
        AuthenticationManager.AuthResult auth = AuthenticationManager.authenticateIdentityCookie(session, realm, true);
        if (!sameOrigin()) {
            error(errorType, auth == null ? null : auth.user(), id, "request from a foreign origin");
            return result(Response.Status.FORBIDDEN, "agentAccountErrorTitle", "agentAccountFormExpired");
        }
        if (auth == null) {
            return result(Response.Status.UNAUTHORIZED, "agentAccountErrorTitle", "agentAccountNoSession");
        }
        refused = refuseCaller(auth.user());
        if (refused != null) {
            return refused;
        }
        applyHint(auth.user(), hint);
        if (!formTokenMatches(auth.session(), formToken)) {
            error(errorType, auth.user(), id, "form token missing, wrong or of another session");
            return result(Response.Status.FORBIDDEN, "agentAccountErrorTitle", "agentAccountFormExpired");
        }
        if (grant) {
            Optional<DelegationGrant> g = AccountActions.ownGrant(session, realm, auth.user(), id);
            if (g.isEmpty()) {
                error(errorType, auth.user(), id, "no such grant of this user");
                return result(Response.Status.NOT_FOUND, "agentAccountErrorTitle", "agentAccountNotFound");
            }
            AccountActions.revokeGrant(session, realm, auth.user(), g.get());
        } else {
            Optional<UpstreamConnection> c = AccountActions.ownConnection(session, realm, auth.user(), id);
            if (c.isEmpty()) {
                error(errorType, auth.user(), id, "no such connection of this user");
                return result(Response.Status.NOT_FOUND, "agentAccountErrorTitle", "agentAccountNotFound");
            }
            AccountActions.revokeConnection(session, realm, auth.user(), c.get());
        }
        return Response.seeOther(pageUri(hint, Map.of("revoked", type))).header("Referrer-Policy", "no-referrer").build();
    }

    // ------------------------------------------------------------------------------------------------ what is shown

    private List<Map<String, Object>> grants(UserModel user, Locale locale) {
        long now = Time.currentTimeMillis();
        List<Map<String, Object>> out = new ArrayList<>();
        List<DelegationGrant> grants = new ArrayList<>(session.getProvider(DelegationGrantProvider.class).listForUser(realm, user.getId()));
        grants.sort(Comparator.comparingLong(DelegationGrant::createdAt).reversed());
        for (DelegationGrant g : grants) {
            ClientModel agent = realm.getClientById(g.agentClientUuid());
            ClientModel host = realm.getClientById(g.hostClientUuid());
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", g.id());
            m.put("agentName", clientName(agent));
            m.put("agentClientId", agent == null ? "" : agent.getClientId());
            m.put("hostName", clientName(host));
            m.put("scopes", g.scopes().stream().map(s -> ScopeTexts.consentText(realm, s)).toList());
            m.put("scopeNames", String.join(" ", g.scopes()));
            m.put("connectors", g.connectors().stream().map(a -> connectorOfGrant(g, a)).toList());
            m.put("createdAt", time(g.createdAt(), locale));
            m.put("active", g.isActive(now));
            if (g.expiresAt() != null) {
                m.put("expiresAt", time(g.expiresAt(), locale));
            }
            if (g.lastUsedAt() != null) {
                m.put("lastUsedAt", time(g.lastUsedAt(), locale));
            }
            out.add(m);
        }
        return out;
    }

    /** The user's CIBA requests waiting for a decision, each with its approval page. */
    private List<Map<String, Object>> approvals(UserModel user, Locale locale, String hint) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (org.agentauth.keycloak.ciba.CibaRequests.Pending p : new org.agentauth.keycloak.ciba.CibaRequests(session).pendingForUser(realm, user.getId())) {
            ClientModel client = realm.getClientById(p.clientUuid());
            ClientModel agent = p.agentUuid() == null ? null : realm.getClientById(p.agentUuid());
            if (client == null) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", p.id());
            m.put("who", agent != null && !agent.getId().equals(client.getId()) ? clientName(agent) + " (" + clientName(client) + ")"
                    : clientName(agent != null ? agent : client));
            if (p.bindingMessage() != null) {
                m.put("bindingMessage", p.bindingMessage());
            }
            m.put("expiresAt", time(p.expiresAt(), locale));
            UriBuilder b = frontendBase().path("realms").path(realm.getName()).path("agent-auth").path("account").path("approvals").path(p.id());
            if (hint != null) {
                b.queryParam("ui_locales", encode(hint));
            }
            m.put("url", b.build().toString());
            out.add(m);
        }
        return out;
    }

    /** A grant's connector as the page names it: its name, and the account the user picked for it on the consent screen. */
    private String connectorOfGrant(DelegationGrant g, String alias) {
        String name = Connector.byAlias(realm, alias).map(Connector::name).orElse(alias);
        String picked = g.pickedConnection(alias);
        if (picked == null) {
            return name;
        }
        String account = session.getProvider(UpstreamConnectionProvider.class).byId(realm, picked)
                .filter(c -> c.userId().equals(g.userId())).map(UpstreamConnection::label).orElse(null);
        return account == null ? name : name + " (" + account + ")";
    }

    /** Every connector of the realm, with the user's connections on it (possibly none). */
    private List<Map<String, Object>> connectors(UserModel user, Locale locale, String hint) {
        Map<String, List<UpstreamConnection>> byConnector = session.getProvider(UpstreamConnectionProvider.class)
                .listForUser(realm, user.getId()).stream()
                .collect(Collectors.groupingBy(UpstreamConnection::connectorId, LinkedHashMap::new, Collectors.toList()));
        String returnTo = pageUri(hint, Map.of()).toString();
        List<Map<String, Object>> out = new ArrayList<>();
        for (Connector connector : Connector.all(realm).filter(Connector::enabled).sorted(Comparator.comparing(Connector::name, String.CASE_INSENSITIVE_ORDER)).toList()) {
            List<UpstreamConnection> mine = new ArrayList<>(byConnector.getOrDefault(connector.id(), List.of()));
            mine.sort(Comparator.comparingLong(UpstreamConnection::createdAt));
            List<Map<String, Object>> connections = new ArrayList<>();
            for (UpstreamConnection c : mine) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", c.id());
                m.put("account", c.label());
                m.put("status", c.status().name());
                m.put("createdAt", time(c.createdAt(), locale));
                if (c.lastUsedAt() != null) {
                    m.put("lastUsedAt", time(c.lastUsedAt(), locale));
                }
                connections.add(m);
            }
            UriBuilder connect = frontendBase().path("realms").path(realm.getName()).path("agent-auth").path("connectors")
                    .path(connector.alias()).path("connect")
                    .queryParam("client_id", ConnectClient.CLIENT_ID)
                    .queryParam("return_to", encode(returnTo));
            if (!mine.isEmpty()) {
                // another account: the upstream asks who signs in, instead of answering from its own session
                connect.queryParam("prompt", "login");
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("alias", connector.alias());
            m.put("name", connector.name());
            String logo = httpUrl(connector.logoUri());
            if (logo != null) {
                m.put("logoUri", logo);
            }
            m.put("connections", connections);
            m.put("connectUrl", connect.build().toString());
            out.add(m);
        }
        return out;
    }

    private static String clientName(ClientModel c) {
        if (c == null) {
            return "";
        }
        String n = c.getName();
        return n == null || n.isBlank() ? c.getClientId() : n;
    }

    /** A time as the user reads it, in the page's language; in UTC, since the server does not know the user's zone. */
    static String time(long epochMillis, Locale locale) {
        return DateTimeFormatter.ofLocalizedDateTime(FormatStyle.MEDIUM, FormatStyle.SHORT).withLocale(locale)
                .withZone(ZoneOffset.UTC).format(Instant.ofEpochMilli(epochMillis)) + " UTC";
    }

    private static Map<String, Object> notice(String key, Object... args) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("key", key);
        m.put("args", List.of(args));
        return m;
    }

    // ------------------------------------------------------------------------------------------------ who may

    /** A bearer token carrying {@code act} or {@code may_act} never gets in, whatever cookie comes with it. */
    Response refuseDelegatedBearer() {
        AppAuthManager.AuthHeader header = AppAuthManager.extractAuthorizationHeaderTokenOrReturnNull(session.getContext().getRequestHeaders());
        if (header != null && DelegatedTokens.peek(header.getToken()).map(TokenContainment::carriesDelegation).orElse(false)) {
            return result(Response.Status.FORBIDDEN, "agentAccountErrorTitle", "agentAccountForbidden");
        }
        return null;
    }

    /** Service accounts have no such page; a user needs {@code manage-account}, as for the account REST API. */
    Response refuseCaller(UserModel user) {
        ClientModel account = realm.getClientByClientId(Constants.ACCOUNT_MANAGEMENT_CLIENT_ID);
        RoleModel manage = account == null ? null : account.getRole(AccountRoles.MANAGE_ACCOUNT);
        if (user.getServiceAccountClientLink() != null || manage == null || !user.hasRole(manage)) {
            return result(Response.Status.FORBIDDEN, "agentAccountErrorTitle", "agentAccountForbidden");
        }
        return null;
    }

    /**
     * A POST must come from this server's own pages: a browser sends {@code Origin} with every form POST, and one naming
     * another origin (or {@code null}) is refused. (The form token is the main protection; this is a second one.)
     */
    boolean sameOrigin() {
        String origin = session.getContext().getRequestHeaders().getHeaderString("Origin");
        if (origin == null) {
            return true;
        }
        return origin.equals(originOf(session.getContext().getUri(UrlType.FRONTEND).getBaseUri()))
                || origin.equals(originOf(session.getContext().getUri().getBaseUri()));
    }

    static String originOf(URI uri) {
        int port = uri.getPort();
        boolean defaultPort = port == -1 || ("https".equals(uri.getScheme()) && port == 443) || ("http".equals(uri.getScheme()) && port == 80);
        return uri.getScheme() + "://" + uri.getHost() + (defaultPort ? "" : ":" + port);
    }

    /** Whether {@code formToken} is the session's form token (compared in constant time); false when either is missing. */
    static boolean formTokenMatches(UserSessionModel userSession, String formToken) {
        String expected = userSession.getNote(FORM_TOKEN_NOTE);
        return expected != null && formToken != null
                && MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), formToken.getBytes(StandardCharsets.UTF_8));
    }

    /** The session's form token, made on first use; kept as a note of the user session (so it ends with the session). */
    static String formToken(UserSessionModel userSession) {
        String token = userSession.getNote(FORM_TOKEN_NOTE);
        if (token == null) {
            token = BrowserPages.random(32);
            userSession.setNote(FORM_TOKEN_NOTE, token);
        }
        return token;
    }

    // ------------------------------------------------------------------------------------------------ language

    /**
     * {@code ui_locales} ranks where Keycloak ranks it for its login pages: below {@code kc_locale} and the user's own
     * locale, above the locale cookie and the browser's languages. It holds for this request (the page keeps it in its
     * links and forms).
     */
    void applyHint(UserModel user, String uiLocales) {
        if (uiLocales == null || uiLocales.isBlank() || !realm.isInternationalizationEnabled()
                || session.getAttribute(LocaleSelectorProvider.USER_REQUEST_LOCALE) != null) {
            return;
        }
        List<String> supported = realm.getSupportedLocalesStream().toList();
        String own = user.getFirstAttribute(UserModel.LOCALE);
        if (own != null && supported.contains(own)) {
            return;
        }
        for (String tag : uiLocales.trim().split("\\s+")) {
            String match = supported.stream().filter(s -> s.equalsIgnoreCase(tag)).findFirst()
                    .or(() -> supported.stream().filter(s -> Locale.forLanguageTag(s).getLanguage()
                            .equals(Locale.forLanguageTag(tag).getLanguage())).findFirst())
                    .orElse(null);
            if (match != null) {
                session.setAttribute(LocaleSelectorProvider.USER_REQUEST_LOCALE, match);
                return;
            }
        }
    }

    /** {@code ui_locales} as given when it looks like language tags (kept in links and forms), else null. */
    static String localesHint(String uiLocales) {
        return uiLocales != null && uiLocales.matches("[A-Za-z0-9_ -]{1,100}") && !uiLocales.isBlank() ? uiLocales.trim() : null;
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private UriBuilder frontendBase() {
        return UriBuilder.fromUri(session.getContext().getUri(UrlType.FRONTEND).getBaseUri());
    }

    /** The page's own URL (with a trailing slash), keeping {@code ui_locales}, plus {@code params}. */
    private URI pageUri(String uiLocales, Map<String, String> params) {
        UriBuilder b = frontendBase().path("realms").path(realm.getName()).path("agent-auth").path("account/");
        if (uiLocales != null && !uiLocales.isBlank()) {
            b.queryParam("ui_locales", encode(uiLocales));
        }
        params.forEach((k, v) -> b.queryParam(k, encode(v)));
        return b.build();
    }

    private void error(EventType type, UserModel user, String id, String reason) {
        EventBuilder e = new EventBuilder(realm, session, session.getContext().getConnection()).event(type)
                .detail(AgentAuthEvents.OPERATION, AccountActions.OPERATION_REVOKE)
                .detail(Details.REASON, reason);
        if (user != null) {
            e.user(user);
        }
        e.detail(type == EventType.REVOKE_GRANT_ERROR ? AgentAuthEvents.GRANT_ID : AgentAuthEvents.CONNECTION_ID, Strings.safeId(id));
        e.error(Errors.INVALID_REQUEST);
    }

    Response result(Response.Status status, String title, String message) {
        return result(status, title, message, List.of());
    }

    /** A one-message result page (the connect flow's), with the message's arguments and a link back to the page. */
    Response result(Response.Status status, String title, String message, List<String> args) {
        LoginFormsProvider form = session.getProvider(LoginFormsProvider.class).setStatus(status)
                .setAttribute("connectTitle", title)
                .setAttribute("connectMessage", message)
                .setAttribute("connectArgs", args)
                .setAttribute("connectOk", false)
                .setAttribute("connectBackUrl", pageUri(null, Map.of()).toString());
        return BrowserPages.secure(session, form.createForm(RESULT_TEMPLATE));
    }

    /** Only absolute http(s) URLs are shown (no javascript:, data:, relative links). */
    private static String httpUrl(String s) {
        return s != null && s.matches("(?i)https?://[^\\s\"'<>]+") ? s : null;
    }

    /** UriBuilder treats '{' as a template and keeps '%xx': values are passed encoded. */
    private static String encode(String v) {
        return java.net.URLEncoder.encode(v, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
