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

    /** Computed once per session and realm: a delegated exchange asks for it up to five times. */
    public static String of(KeycloakSession session, RealmModel realm) {
        String key = "agent-auth.issuer." + realm.getId();
        String issuer = session.getAttribute(key, String.class);
        if (issuer == null) {
            issuer = Urls.realmIssuer(session.getContext().getUri().getBaseUri(), realm.getName());
            session.setAttribute(key, issuer);
        }
        return issuer;
    }
}
