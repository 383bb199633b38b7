package org.agentauth.keycloak.vault.connect;

import java.util.List;
import org.agentauth.keycloak.support.PublicClients;
import org.agentauth.keycloak.support.RealmJobs;
import org.keycloak.common.util.Encode;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.PostMigrationEvent;
import org.keycloak.provider.ProviderEvent;

/**
 * The public client {@value #CLIENT_ID} that signs a user in when they open a connect link without a session in the
 * realm. The connect endpoint never redeems its code: the sign-in only establishes Keycloak's own SSO session, which the
 * connect flow then relies on. Created in every realm, like {@code account-console}.
 */
public final class ConnectClient {

    public static final String CLIENT_ID = "agent-auth-account";

    private ConnectClient() {
    }

    /** The user pages' path below the server's base URL, ending with a slash. */
    public static String basePath(RealmModel realm) {
        return "/realms/" + Encode.encodePathAsIs(realm.getName()) + "/agent-auth/";
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
        PublicClients.ensure(session, realm, CLIENT_ID, "Agent Auth account pages",
                "Signs users in to the Agent Auth pages where they connect upstream accounts and manage what agents may do.",
                base + "account/", List.of(base + "connectors/*", base + "account/*"), false);
    }
}
