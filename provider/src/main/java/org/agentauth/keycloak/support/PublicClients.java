package org.agentauth.keycloak.support;

import java.util.List;
import org.jboss.logging.Logger;
import org.keycloak.models.ClientModel;
import org.keycloak.models.Constants;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.KeycloakModelUtils;
import org.keycloak.protocol.oidc.OIDCConfigAttributes;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;

/**
 * The extension's own public clients (Authorization Code + PKCE S256, no secret), created in every realm like Keycloak's
 * {@code account-console}: the admin page's and the user pages'. Redirect URIs are relative to the server's own URL
 * ({@code ${authBaseUrl}}), so they hold for any host and port. Never changed once created, so an admin's edits stay.
 */
public final class PublicClients {

    private static final Logger LOG = Logger.getLogger(PublicClients.class);

    private PublicClients() {
    }

    /**
     * Creates the client unless one with its client ID exists.
     *
     * @param basePath the page's path below the server URL; {@code redirectPaths} are allowed redirect URI patterns
     * @param fullScope whether the client keeps full scope (the admin page needs the admin's realm-management roles)
     */
    public static void ensure(KeycloakSession session, RealmModel realm, String clientId, String name, String description,
            String basePath, List<String> redirectPaths, boolean fullScope) {
        if (realm.getClientByClientId(clientId) != null) {
            return;
        }
        RealmModel previous = session.getContext().getRealm();
        session.getContext().setRealm(realm);
        try {
            ClientModel c = KeycloakModelUtils.createPublicClient(realm, clientId);
            c.setName(name);
            c.setDescription(description);
            c.setEnabled(true);
            c.setProtocol(OIDCLoginProtocol.LOGIN_PROTOCOL);
            c.setStandardFlowEnabled(true);
            c.setImplicitFlowEnabled(false);
            c.setDirectAccessGrantsEnabled(false);
            c.setServiceAccountsEnabled(false);
            c.setConsentRequired(false);
            c.setAlwaysDisplayInConsole(false);
            c.setFullScopeAllowed(fullScope);
            c.setRootUrl(Constants.AUTH_BASE_URL_PROP);
            c.setBaseUrl(basePath);
            redirectPaths.forEach(c::addRedirectUri);
            c.addWebOrigin("+");
            c.setAttribute(OIDCConfigAttributes.PKCE_CODE_CHALLENGE_METHOD, "S256");
            c.setAttribute(OIDCConfigAttributes.POST_LOGOUT_REDIRECT_URIS, "+");
            LOG.infof("Created client %s in realm %s for %s", clientId, realm.getName(), basePath);
        } finally {
            session.getContext().setRealm(previous);
        }
    }
}
