package org.agentauth.keycloak.support;

import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.services.Urls;

/**
 * The realm's issuer ({@code iss} of its tokens) as seen by the current request: Keycloak's own
 * {@code Urls.realmIssuer} of the request's base URI, so it follows the configured hostname exactly as Keycloak does.
 */
public final class RealmIssuer {

    private RealmIssuer() {
    }

    public static String of(KeycloakSession session, RealmModel realm) {
        return Urls.realmIssuer(session.getContext().getUri().getBaseUri(), realm.getName());
    }
}
