package org.agentauth.keycloak.admin;

import org.jboss.logging.Logger;
import org.keycloak.common.util.Encode;
import org.keycloak.models.ClientModel;
import org.keycloak.models.Constants;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.KeycloakModelUtils;
import org.keycloak.models.utils.PostMigrationEvent;
import org.keycloak.protocol.oidc.OIDCConfigAttributes;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;
import org.keycloak.provider.ProviderEvent;
import org.agentauth.keycloak.support.RealmJobs;

/**
 * The public client {@value #CLIENT_ID} the agent admin page signs admins in with (Authorization Code + PKCE S256,
 * no secret). Created, like Keycloak's own {@code account-console}, in every realm: for existing realms at start-up
 * and for each realm created or imported later. Never changed once it exists, so an admin's edits stay.
 * Its redirect URI is relative to the server's own URL ({@code ${authBaseUrl}}), so it holds for any host and port.
 */
public final class AdminPageClient {

    public static final String CLIENT_ID = "agent-auth-admin";
    private static final Logger LOG = Logger.getLogger(AdminPageClient.class);

    private AdminPageClient() {
    }

    /** The page's path below the server's base URL, ending with a slash. */
    public static String pagePath(RealmModel realm) {
        return "/realms/" + Encode.encodePathAsIs(realm.getName()) + "/agent-auth/admin/";
    }

    /** Handles start-up (every existing realm) and realm creation or import. */
    public static void onEvent(KeycloakSessionFactory factory, ProviderEvent event) {
        if (event instanceof PostMigrationEvent) {
            // a failure (e.g. another cluster node created it at the same moment) leaves the page working with that one
            RealmJobs.eachRealmInOwnTransaction(factory, "create client " + CLIENT_ID, AdminPageClient::ensure);
        } else if (event instanceof RealmModel.RealmPostCreateEvent created) {
            ensure(created.getKeycloakSession(), created.getCreatedRealm());
        }
    }

    /** Creates the client in {@code realm} unless a client with its client ID exists. */
    public static void ensure(KeycloakSession session, RealmModel realm) {
        if (realm.getClientByClientId(CLIENT_ID) != null) {
            return;
        }
        RealmModel previous = session.getContext().getRealm();
        session.getContext().setRealm(realm);
        try {
            ClientModel c = KeycloakModelUtils.createPublicClient(realm, CLIENT_ID);
            c.setName("Agent Auth admin page");
            c.setDescription("Signs admins in to the agent policy page of the Agent Auth extension. "
                    + "Access is decided by the admin's realm-management roles.");
            c.setEnabled(true);
            c.setProtocol(OIDCLoginProtocol.LOGIN_PROTOCOL);
            c.setStandardFlowEnabled(true);
            c.setImplicitFlowEnabled(false);
            c.setDirectAccessGrantsEnabled(false);
            c.setServiceAccountsEnabled(false);
            c.setConsentRequired(false);
            c.setAlwaysDisplayInConsole(false);
            // Admin REST checks the user's realm-management roles through the client's scope: keep full scope.
            c.setFullScopeAllowed(true);
            c.setRootUrl(Constants.AUTH_BASE_URL_PROP);
            String path = pagePath(realm);
            c.setBaseUrl(path);
            c.addRedirectUri(path + "*");
            c.addWebOrigin("+");
            c.setAttribute(OIDCConfigAttributes.PKCE_CODE_CHALLENGE_METHOD, "S256");
            c.setAttribute(OIDCConfigAttributes.POST_LOGOUT_REDIRECT_URIS, "+");
            LOG.infof("Created client %s in realm %s for the agent admin page %s", CLIENT_ID, realm.getName(), path);
        } finally {
            session.getContext().setRealm(previous);
        }
    }
}
