package org.agentauth.keycloak.vault.connect;

import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.agentauth.keycloak.support.PublicClients;
import org.agentauth.keycloak.support.RealmJobs;
import org.keycloak.common.util.Encode;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.PostMigrationEvent;
import org.keycloak.provider.ProviderEvent;
import org.keycloak.urls.UrlType;

/**
 * The public client {@value #CLIENT_ID} that signs a user in when they open a connect link or the self-service page
 * without a session in the realm. Those pages never redeem its code: the sign-in only establishes Keycloak's own SSO
 * session, which they then rely on. Created in every realm, like {@code account-console}; it is shown in Keycloak's
 * account console ("Applications") with the self-service page as its home URL, so users find the page from there.
 */
public final class ConnectClient {

    public static final String CLIENT_ID = "agent-auth-account";
    static final String NAME = "Agents and connected accounts";
    /** The name clients created before the self-service page got. */
    private static final String OLD_NAME = "Agent Auth account pages";
    /**
     * Set once the client was made visible in the account console: a client created before that is changed once, and an
     * admin's later edits (hiding it again) are kept.
     */
    static final String CONSOLE_MARK = "agent_auth.account_console";

    private ConnectClient() {
    }

    /** The user pages' path below the server's base URL, ending with a slash. */
    public static String basePath(RealmModel realm) {
        return "/realms/" + Encode.encodePathAsIs(realm.getName()) + "/agent-auth/";
    }

    /** The self-service page's path below the server's base URL (its stable URL), ending with a slash. */
    public static String accountPagePath(RealmModel realm) {
        return basePath(realm) + "account/";
    }

    public static void onEvent(KeycloakSessionFactory factory, ProviderEvent event) {
        if (event instanceof PostMigrationEvent) {
            RealmJobs.eachRealmInOwnTransaction(factory, "create client " + CLIENT_ID, ConnectClient::ensure);
        } else if (event instanceof RealmModel.RealmPostCreateEvent created) {
            ensure(created.getKeycloakSession(), created.getCreatedRealm());
        }
    }

    public static void ensure(KeycloakSession session, RealmModel realm) {
        String base = basePath(realm);
        PublicClients.ensure(session, realm, CLIENT_ID, NAME,
                "Signs users in to the Agent Auth pages where they connect upstream accounts and manage what agents may do.",
                accountPagePath(realm), List.of(base + "connectors/*", base + "account/*"), false);
        ClientModel c = realm.getClientByClientId(CLIENT_ID);
        if (c != null && c.getAttribute(CONSOLE_MARK) == null) {
            // once per client, including those created before the self-service page existed
            c.setAlwaysDisplayInConsole(true);
            if (c.getBaseUrl() == null || c.getBaseUrl().isBlank()) {
                c.setBaseUrl(accountPagePath(realm));
            }
            if (OLD_NAME.equals(c.getName())) {
                c.setName(NAME);
            }
            c.setAttribute(CONSOLE_MARK, "true");
        }
    }

    /**
     * Sends the browser through the realm's authorization endpoint with this client (PKCE S256) and back to
     * {@code returnTo}, which must be under one of the client's redirect URIs. The code is never redeemed.
     *
     * @param uiLocales the {@code ui_locales} to pass on to the login page, or null
     */
    public static Response signIn(KeycloakSession session, URI returnTo, String uiLocales) {
        return signIn(session, returnTo, uiLocales, java.util.Map.of());
    }

    /** {@link #signIn(KeycloakSession, URI, String)} with more authorization parameters ({@code login_hint}, {@code max_age}). */
    public static Response signIn(KeycloakSession session, URI returnTo, String uiLocales, java.util.Map<String, String> extra) {
        RealmModel realm = session.getContext().getRealm();
        UriBuilder login = UriBuilder.fromUri(session.getContext().getUri(UrlType.FRONTEND).getBaseUri())
                .path("realms").path(realm.getName()).path("protocol/openid-connect/auth")
                .queryParam("client_id", CLIENT_ID)
                .queryParam("redirect_uri", encodeQuery(returnTo.toString()))
                .queryParam("response_type", "code")
                .queryParam("scope", "openid")
                .queryParam("state", ConnectResource.random(16))
                .queryParam("code_challenge", ConnectResource.challenge(ConnectResource.random(32)))
                .queryParam("code_challenge_method", "S256");
        if (uiLocales != null && !uiLocales.isBlank()) {
            login.queryParam("ui_locales", encodeQuery(uiLocales));
        }
        extra.forEach((k, v) -> login.queryParam(k, encodeQuery(v)));
        return Response.status(Response.Status.FOUND).location(login.build()).header("Referrer-Policy", "no-referrer").build();
    }

    /** UriBuilder treats '{' as a template and keeps '%xx': values are passed encoded. */
    private static String encodeQuery(String v) {
        return URLEncoder.encode(v, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
