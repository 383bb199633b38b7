package org.agentauth.keycloak.admin;

import org.keycloak.common.util.Encode;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.PostMigrationEvent;
import org.keycloak.provider.ProviderEvent;
import java.util.List;
import org.agentauth.keycloak.support.PublicClients;
import org.agentauth.keycloak.support.RealmJobs;

/**
 * The public client {@value #CLIENT_ID} the agent admin page signs admins in with (Authorization Code + PKCE S256,
 * no secret). Created, like Keycloak's own {@code account-console}, in every realm: for existing realms at start-up
 * and for each realm created or imported later. Never changed once it exists, so an admin's edits stay.
 * Its redirect URI is relative to the server's own URL ({@code ${authBaseUrl}}), so it holds for any host and port.
 */
public final class AdminPageClient {

    public static final String CLIENT_ID = "agent-auth-admin";

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
        String path = pagePath(realm);
        // Admin REST checks the user's realm-management roles through the client's scope: keep full scope.
        PublicClients.ensure(session, realm, CLIENT_ID, "Agent Auth admin page",
                "Signs admins in to the agent policy page of the Agent Auth extension. "
                        + "Access is decided by the admin's realm-management roles.", path, List.of(path + "*"), true);
    }
}
