package org.agentauth.keycloak.account;

import jakarta.ws.rs.core.Response;
import java.util.Set;
import java.util.stream.Collectors;
import org.agentauth.keycloak.support.AfterCompletion;
import org.agentauth.keycloak.support.SingleFlightCache;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.utils.WebOriginsUtils;
import org.keycloak.provider.ProviderEvent;
import org.keycloak.representations.AccessToken;
import org.keycloak.services.cors.Cors;

/**
 * CORS for the account API, the way Keycloak's Account REST API does it ({@code AccountLoader}): a request allows the
 * web origins of its token's client (the token's {@code allowed-origins}, else the client's web origins: Keycloak's
 * {@link Cors} builder), and a request from any other origin (but the server's own) is refused with 403 before it
 * does anything; an origin not allowed never gets {@code Access-Control-Allow-Origin}.
 * <p>
 * A preflight carries no token, so its client is unknown: it is answered for the web origins of the realm's enabled
 * clients (every origin a token of this realm can allow) and for no other. (Keycloak's own account preflight answers
 * any origin.) Those origins are collected by one scan of the realm's clients, kept for at most
 * {@link #MAX_AGE_MILLIS}, rebuilt single-flight and forgotten when a client of the realm changes on this node; an
 * origin not in a set older than {@link #MISS_RESCAN_MILLIS} rescans once (a web origin added on another node). An
 * origin removed on another node may still get a preflight answer for up to {@link #MAX_AGE_MILLIS}; the request
 * itself is checked against its token's allowed origins.
 */
public final class AccountCors {

    static final String[] METHODS = {"GET", "DELETE"};
    static final long MAX_AGE_MILLIS = 30_000;
    /** An unknown origin rescans when the set is older than this (an origin added on another cluster node). */
    static final long MISS_RESCAN_MILLIS = 2_000;
    private static final long MAX_WAIT_MILLIS = 10_000;

    private static final SingleFlightCache<String, Set<String>> REALM_ORIGINS =
            new SingleFlightCache<>(MAX_AGE_MILLIS, MAX_WAIT_MILLIS, System::currentTimeMillis);

    private AccountCors() {
    }

    /** The answer to a preflight: CORS headers only for an origin that a client of the realm has as web origin. */
    static Response preflight(KeycloakSession session) {
        String origin = session.getContext().getRequestHeaders().getHeaderString(Cors.ORIGIN_HEADER);
        if (origin == null || !realmAllows(session, origin)) {
            return Response.ok().build();
        }
        return Cors.builder().auth().allowedMethods(METHODS).preflight().add(Response.ok());
    }

    /**
     * CORS headers for the actual request, from its (authenticated) token; throws 403 (Keycloak's "Invalid origin")
     * for an origin that the token's client does not allow.
     */
    static void check(AccessToken token) {
        Cors.builder().checkAllowedOrigins(token).allowedMethods(METHODS).auth().add();
    }

    private static boolean realmAllows(KeycloakSession session, String origin) {
        RealmModel realm = session.getContext().getRealm();
        long asked = System.currentTimeMillis();
        SingleFlightCache.Entry<Set<String>> e = REALM_ORIGINS.get(realm.getId(), () -> webOrigins(session, realm));
        if (allows(e.value(), origin) || asked - e.builtAt() < MISS_RESCAN_MILLIS) {
            return allows(e.value(), origin);
        }
        // an unknown origin against a set older than MISS_RESCAN_MILLIS: it may have been added on another node
        return allows(REALM_ORIGINS.refresh(realm.getId(), e, () -> webOrigins(session, realm)).value(), origin);
    }

    private static boolean allows(Set<String> origins, String origin) {
        return origins.contains(origin) || origins.contains(Cors.ACCESS_CONTROL_ALLOW_ORIGIN_WILDCARD);
    }

    private static Set<String> webOrigins(KeycloakSession session, RealmModel realm) {
        return realm.getClientsStream().filter(ClientModel::isEnabled)
                .flatMap(c -> WebOriginsUtils.resolveValidWebOrigins(session, c).stream())
                .collect(Collectors.toUnmodifiableSet());
    }

    /** Provider events that change a realm's web origins: the cached set is forgotten (again after the change's commit). */
    public static void onEvent(ProviderEvent event) {
        if (event instanceof ClientModel.ClientUpdatedEvent e) {
            forget(e.getKeycloakSession(), e.getUpdatedClient().getRealm());
        } else if (event instanceof ClientModel.ClientRemovedEvent e) {
            forget(e.getKeycloakSession(), e.getClient().getRealm());
        } else if (event instanceof RealmModel.RealmRemovedEvent e) {
            REALM_ORIGINS.invalidate(e.getRealm().getId());
        }
    }

    private static void forget(KeycloakSession session, RealmModel realm) {
        if (realm != null) {
            String realmId = realm.getId();
            AfterCompletion.nowAndAfterCompletion(session, () -> REALM_ORIGINS.invalidate(realmId));
        }
    }
}
