package org.agentauth.keycloak.cimd;

import jakarta.ws.rs.core.MultivaluedMap;
import java.util.List;
import org.agentauth.keycloak.support.ClientLookupHook;
import org.agentauth.keycloak.support.ProtocolError;
import org.jboss.logging.Logger;
import org.keycloak.OAuthErrorException;
import org.keycloak.common.util.Time;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;

/**
 * The CIMD step before Keycloak's client lookup (DESIGN section 11), at the authorization endpoint and at PAR. It acts
 * only where the realm has CIMD on and the request carries exactly one {@code client_id} starting with
 * {@code https://}; a client registered by an admin with that id is left alone (never fetched), as is a CIMD client
 * whose document is still fresh. Otherwise, in this order, nothing fetched before each check passes: the URL rules
 * ({@link CimdUrl}), the realm's denied and allowed hosts, the client cap (for a new client), the fetch-rate bound,
 * the fetch ({@link CimdFetcher}), the document ({@link CimdDocument}), the request's {@code redirect_uri} among the
 * document's ({@link CimdRedirects#matches}), for a {@code private_key_jwt} document with {@code jwks_uri} the key set
 * (fetched by the same rules, {@link CimdKeys}); then the client is created or updated ({@link CimdClients}) in the
 * request's transaction, and Keycloak's own flow continues with it. Failures are never cached: the next request
 * tries again. Each outcome is an event ({@code CLIENT_REGISTER} / {@code CLIENT_UPDATE}, or their errors) with the
 * host and the fetch outcome.
 */
public class CimdClientLookupHook implements ClientLookupHook {

    public static final String DETAIL_HOST = "cimd_host";
    public static final String DETAIL_FETCH = "cimd_fetch";
    public static final String DETAIL_REASON = "reason";
    /** {@code none} or {@code private_key_jwt}: how the client authenticates at the token endpoint. */
    public static final String DETAIL_AUTH = "cimd_auth";

    private static final Logger LOG = Logger.getLogger(CimdClientLookupHook.class);

    private final KeycloakSession session;

    public CimdClientLookupHook(KeycloakSession session) {
        this.session = session;
    }

    @Override
    public void beforeClientLookup(Endpoint endpoint, MultivaluedMap<String, String> params) {
        List<String> ids = params.get(OIDCLoginProtocol.CLIENT_ID_PARAM);
        if (ids == null || ids.size() != 1 || !CimdUrl.isCandidate(ids.get(0))) {
            return;
        }
        if (endpoint == Endpoint.AUTHORIZATION && params.containsKey(OIDCLoginProtocol.REQUEST_URI_PARAM)) {
            return; // a pushed request: its client was prepared at PAR moments ago, and its parameters are not in this request
        }
        RealmModel realm = session.getContext().getRealm();
        if (realm == null) {
            return;
        }
        CimdSettings settings = CimdSettings.of(realm);
        if (!settings.enabled()) {
            return;
        }
        String url = ids.get(0);
        long now = Time.currentTime();
        ClientModel existing = url.length() <= CimdUrl.MAX_LENGTH ? realm.getClientByClientId(url) : null;
        if (existing != null && !CimdClients.isCimd(existing)) {
            return; // registered by an admin: Keycloak's own flow decides
        }
        String stock = CimdStockExecutor.activePolicy(session, realm);
        if (stock != null) {
            // Keycloak's own CIMD executor was configured after ours was turned on: neither runs, nothing is fetched
            LOG.warnf("Realm %s: CIMD refused, %s", realm.getName(), CimdStockExecutor.reason(stock));
            throw refuse(new EventBuilder(realm, session, session.getContext().getConnection()).event(EventType.CLIENT_REGISTER)
                    .client(url.length() <= CimdUrl.MAX_LENGTH ? url : null), null, "stock_cimd_configured", CimdStockExecutor.reason(stock));
        }
        if (existing != null && (!existing.isEnabled() || CimdClients.fresh(existing, now))) {
            return; // registered by an admin, disabled by an admin, or still fresh: Keycloak's own flow decides
        }
        String why = CimdUrl.refusal(url);
        if (why != null) {
            throw refuse(new EventBuilder(realm, session, session.getContext().getConnection()).event(EventType.CLIENT_REGISTER),
                    null, "url_refused", why);
        }
        if (existing == null && CimdClients.blocked(realm).contains(url)) {
            throw refuse(new EventBuilder(realm, session, session.getContext().getConnection()).event(EventType.CLIENT_REGISTER)
                    .client(url), CimdUrl.host(url), "blocked", "this client is blocked in this realm");
        }
        // one request per realm and document at a time on this node, until its transaction has ended: a second first
        // request waits, then finds the client the first one created, instead of creating it again
        if (!CimdClients.lockUntilTransactionEnds(session, realm.getId() + " " + url)) {
            throw refuse(new EventBuilder(realm, session, session.getContext().getConnection()).event(EventType.CLIENT_REGISTER),
                    null, "busy", "the metadata document of this client is being fetched by another request: try again");
        }
        existing = CimdClients.find(session, realm, url);
        if (existing != null && (!CimdClients.isCimd(existing) || !existing.isEnabled() || CimdClients.fresh(existing, now))) {
            return;
        }
        EventBuilder event = new EventBuilder(realm, session, session.getContext().getConnection())
                .event(existing == null ? EventType.CLIENT_REGISTER : EventType.CLIENT_UPDATE);
        event.client(url);
        String host = CimdUrl.host(url);
        if (!settings.hostPermitted(host)) {
            throw refuse(event, host, "host_not_allowed", "this realm does not accept client metadata documents from " + host);
        }
        String redirect = params.getFirst(OIDCLoginProtocol.REDIRECT_URI_PARAM);
        if (redirect == null || redirect.isEmpty()) {
            throw refuse(event, host, "no_redirect_uri", "redirect_uri is required for a client identified by a metadata document");
        }
        if (existing == null && CimdClients.count(session, realm) >= settings.maxClients()) {
            LOG.warnf("Realm %s: CIMD client cap (%d) reached; refused a document on %s", realm.getName(), settings.maxClients(), host);
            throw refuse(event, host, "client_cap", "this realm accepts no more clients without registration (limit reached)");
        }
        CimdServerSettings server = session.getProvider(CimdServerSettings.class);
        if (!server.rateBound().tryAcquire(realm.getId() + " " + host, System.currentTimeMillis())) {
            throw refuse(event, host, "rate_limited", "too many metadata document fetches for " + host + ": try again in a minute");
        }
        CimdFetcher.Result fetched = CimdFetcher.fetch(server, url);
        if (!fetched.ok()) {
            throw refuse(event, host, fetched.outcome(), fetched.description());
        }
        CimdDocument doc;
        try {
            doc = CimdDocument.parse(url, fetched.body());
        } catch (CimdDocument.Refused e) {
            throw refuse(event, host, "document_refused", e.getMessage());
        }
        long keep = keepSeconds(settings, fetched);
        if (!CimdRedirects.matches(doc.redirectUris(), redirect)) {
            throw refuse(event, host, "redirect_uri_refused", "redirect_uri is not one of the redirect_uris of the metadata document of the client");
        }
        if (doc.jwksUri() != null) {
            CimdFetcher.Result keys = fetchKeys(server, settings, event, host, doc.jwksUri());
            doc = doc.withKeys(parseKeys(event, host, keys));
            keep = Math.min(keep, keepSeconds(settings, keys));
        }
        event.detail(DETAIL_HOST, host).detail(DETAIL_FETCH, "ok").detail(DETAIL_AUTH, doc.privateKeyJwt() ? "private_key_jwt" : "none");
        if (existing == null) {
            ClientModel created = CimdClients.create(session, realm, settings, doc, now + keep);
            event.detail("client_uuid", created.getId()).success();
        } else {
            CimdClients.Changes changed = CimdClients.update(session, realm, existing, doc, now + keep);
            event.detail("redirects_changed", Boolean.toString(changed.redirects())).detail("keys_changed", Boolean.toString(changed.keys())).success();
        }
    }

    /**
     * Fetches the key set a {@code private_key_jwt} document names by {@code jwks_uri}: ourselves, never Keycloak (whose
     * fetch of a client's {@code jwks.url} would bypass the address vetting), with exactly the document's rules: the
     * realm's host lists, the fetch-rate bound of that host, the vetted addresses, no redirects, 2 s / 5 s, 5 KiB, JSON.
     */
    private static CimdFetcher.Result fetchKeys(CimdServerSettings server, CimdSettings settings, EventBuilder event, String host, String jwksUri) {
        String keysHost = CimdUrl.host(jwksUri);
        if (!settings.hostPermitted(keysHost)) {
            throw refuse(event, host, "jwks_host_not_allowed", "this realm does not accept key sets (jwks_uri) from " + keysHost);
        }
        if (!server.rateBound().tryAcquire(event.getEvent().getRealmId() + " " + keysHost, System.currentTimeMillis())) {
            throw refuse(event, host, "rate_limited", "too many metadata document fetches for " + keysHost + ": try again in a minute");
        }
        CimdFetcher.Result keys = CimdFetcher.fetch(server, jwksUri);
        if (!keys.ok()) {
            throw refuse(event, host, "jwks_" + keys.outcome(), "jwks_uri: " + keys.description().replace("the document", "the key set"));
        }
        return keys;
    }

    private static String parseKeys(EventBuilder event, String host, CimdFetcher.Result keys) {
        try {
            return CimdKeys.parse(keys.body());
        } catch (CimdDocument.Refused e) {
            throw refuse(event, host, "jwks_refused", e.getMessage());
        }
    }

    /** How long a fetched document is kept: the realm's cacheSeconds, less when the answer's Cache-Control says so. */
    static long keepSeconds(CimdSettings settings, CimdFetcher.Result fetched) {
        return fetched.maxAgeSeconds() < 0 ? settings.cacheSeconds() : Math.min(settings.cacheSeconds(), fetched.maxAgeSeconds());
    }

    /**
     * Fetches a CIMD client's document again now (the admin API's refetch), with the same rules as at sign-in but the
     * redirect check (no request): returns whether the redirect set or key set changed (then consents and refresh tokens
     * are revoked), or {@link ProtocolError} saying why the document was refused (the client is then left as it was).
     */
    public static CimdClients.Changes refetch(KeycloakSession session, RealmModel realm, ClientModel client) {
        String url = client.getClientId();
        String host = CimdUrl.host(url);
        EventBuilder event = new EventBuilder(realm, session, session.getContext().getConnection()).event(EventType.CLIENT_UPDATE).client(url);
        CimdServerSettings server = session.getProvider(CimdServerSettings.class);
        if (!server.rateBound().tryAcquire(realm.getId() + " " + host, System.currentTimeMillis())) {
            throw refuse(event, host, "rate_limited", "too many metadata document fetches for " + host + ": try again in a minute");
        }
        CimdFetcher.Result fetched = CimdFetcher.fetch(server, url);
        if (!fetched.ok()) {
            throw refuse(event, host, fetched.outcome(), fetched.description());
        }
        CimdDocument doc;
        try {
            doc = CimdDocument.parse(url, fetched.body());
        } catch (CimdDocument.Refused e) {
            throw refuse(event, host, "document_refused", e.getMessage());
        }
        CimdSettings settings = CimdSettings.of(realm);
        long keep = keepSeconds(settings, fetched);
        if (doc.jwksUri() != null) {
            CimdFetcher.Result keys = fetchKeys(server, settings, event, host, doc.jwksUri());
            doc = doc.withKeys(parseKeys(event, host, keys));
            keep = Math.min(keep, keepSeconds(settings, keys));
        }
        CimdClients.Changes changed = CimdClients.update(session, realm, client, doc, Time.currentTime() + keep);
        event.detail(DETAIL_HOST, host).detail(DETAIL_FETCH, "ok").detail(DETAIL_AUTH, doc.privateKeyJwt() ? "private_key_jwt" : "none")
                .detail("redirects_changed", Boolean.toString(changed.redirects())).detail("keys_changed", Boolean.toString(changed.keys())).success();
        return changed;
    }

    private static ProtocolError refuse(EventBuilder event, String host, String outcome, String description) {
        if (host != null) {
            event.detail(DETAIL_HOST, host);
        }
        event.detail(DETAIL_FETCH, outcome).detail(DETAIL_REASON, description).error(Errors.INVALID_CLIENT);
        return new ProtocolError(OAuthErrorException.INVALID_CLIENT, "Client metadata document refused: " + description,
                Errors.INVALID_CLIENT, jakarta.ws.rs.core.Response.Status.BAD_REQUEST, null);
    }
}
