package org.agentauth.keycloak.delegation;

import org.keycloak.OAuth2Constants;
import org.keycloak.models.ClientScopeModel;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.KeycloakModelUtils;

/**
 * How a granted scope is named to the user, the same on the consent screen and on the self-service page: a message key
 * ({@code ${...}}, resolved by the theme's {@code advancedMsg}), the client scope's consent text, else its name.
 */
public final class ScopeTexts {

    private ScopeTexts() {
    }

    public static String consentText(RealmModel realm, String scope) {
        if (OAuth2Constants.SCOPE_OPENID.equals(scope)) {
            return "${agentConsentScopeOpenid}";
        }
        if (OfflineAccess.SCOPE.equals(scope)) {
            return "${agentConsentScopeOfflineAccess}";
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
}
