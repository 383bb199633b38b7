package org.agentauth.keycloak.cimd;

import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.agentauth.keycloak.agent.ResourceServers;
import org.keycloak.common.util.Time;
import org.keycloak.connections.jpa.JpaConnectionProvider;
import org.keycloak.models.AbstractKeycloakTransaction;
import org.keycloak.models.ClientModel;
import org.keycloak.models.ClientScopeModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;

/**
 * The local client a metadata document becomes (DESIGN section 11): public (or, for a {@code private_key_jwt}
 * document, confidential with Keycloak's {@code client-jwt} authenticator and the document's public keys stored inline,
 * so that Keycloak never fetches a key set itself), authorization code flow only, PKCE S256 required, consent required, no full scope, the realm's scope ceiling, exactly the document's redirect URIs (loopback
 * ones stored so that any port matches, {@link CimdRedirects#stored}); marked by attributes so that a client an admin
 * registered with a URL as its id is never confused with one and never fetched. Its name is the host of the document (what
 * the consent screen names); the self-declared {@code client_name} is kept in an attribute and the description.
 */
public final class CimdClients {

    /** "true" on every client this feature created. */
    public static final String MARK = ResourceServers.CLIENT_CIMD_MARK;
    public static final String HOST = ResourceServers.CLIENT_CIMD_HOST;
    public static final String SELF_DECLARED_NAME = "agent-auth.cimd.client-name";
    public static final String FETCHED_AT = "agent-auth.cimd.fetched-at";
    public static final String EXPIRES_AT = "agent-auth.cimd.expires-at";
    public static final String REDIRECTS_DIGEST = "agent-auth.cimd.redirects-digest";
    public static final String ALL_LOOPBACK = "agent-auth.cimd.all-loopback";
    /** The digest of the key set ({@link CimdKeys#digest}; absent or "none": a public client). */
    public static final String KEYS_DIGEST = "agent-auth.cimd.keys-digest";
    /** Where the key set was fetched from, for a {@code private_key_jwt} document with {@code jwks_uri}. */
    public static final String JWKS_URI = "agent-auth.cimd.jwks-uri";
    /** Keycloak's authenticator of a client that signs a JWT with its own key ({@code JWTClientAuthenticator}). */
    static final String CLIENT_JWT = "client-jwt";

    private CimdClients() {
    }

    public static boolean isCimd(ClientModel client) {
        return "true".equals(client.getAttribute(MARK));
    }

    private static final Map<String, Semaphore> LOCKS = new ConcurrentHashMap<>();
    static final long LOCK_WAIT_MILLIS = 10_000;

    /**
     * Takes the node-wide lock of {@code key} (waiting up to {@link #LOCK_WAIT_MILLIS}) and releases it when the
     * session's transaction has ended, committed or rolled back. False when it could not be taken in time.
     */
    static boolean lockUntilTransactionEnds(KeycloakSession session, String key) {
        Semaphore lock = LOCKS.computeIfAbsent(key, k -> new Semaphore(1));
        try {
            if (!lock.tryAcquire(LOCK_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                return false;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        Runnable release = () -> {
            lock.release();
            if (!lock.hasQueuedThreads()) {
                LOCKS.remove(key, lock); // forget idle keys, so that many documents do not fill the map
            }
        };
        try {
            session.getTransactionManager().enlistAfterCompletion(new AbstractKeycloakTransaction() {
                @Override
                protected void commitImpl() {
                    release.run();
                }

                @Override
                protected void rollbackImpl() {
                    release.run();
                }
            });
        } catch (RuntimeException e) {
            release.run();
            throw e;
        }
        return true;
    }

    /**
     * The realm's client with this client id as stored right now: read from the client table itself (another request
     * may have committed it a moment ago), then through the realm.
     */
    static ClientModel find(KeycloakSession session, RealmModel realm, String clientId) {
        List<String> ids = session.getProvider(JpaConnectionProvider.class).getEntityManager()
                .createQuery("select c.id from ClientEntity c where c.clientId = :clientId and c.realmId = :realm", String.class)
                .setParameter("clientId", clientId).setParameter("realm", realm.getId()).getResultList();
        return ids.isEmpty() ? null : realm.getClientById(ids.get(0));
    }

    /** The realm's CIMD clients, ordered by client id. */
    public static List<ClientModel> list(KeycloakSession session, RealmModel realm) {
        return session.getProvider(JpaConnectionProvider.class).getEntityManager()
                .createQuery("select a.client.id from ClientAttributeEntity a where a.name = :name and a.client.realmId = :realm"
                        + " order by a.client.clientId", String.class)
                .setParameter("name", MARK).setParameter("realm", realm.getId()).getResultList().stream()
                .map(realm::getClientById).filter(Objects::nonNull).toList();
    }

    /** Realm attribute: the client ids (URLs) an admin blocked, JSON; kept when the client is deleted. */
    public static final String BLOCKED_ATTRIBUTE = "agent-auth.cimd.blocked";
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** The client ids an admin blocked in the realm. */
    public static Set<String> blocked(RealmModel realm) {
        String v = realm.getAttribute(BLOCKED_ATTRIBUTE);
        if (v == null || v.isBlank()) {
            return Set.of();
        }
        try {
            return new LinkedHashSet<>(List.of(JSON.readValue(v, String[].class)));
        } catch (java.io.IOException e) {
            return Set.of();
        }
    }

    /** Blocks ({@code true}) or unblocks a client id in the realm; a blocked client is also disabled where it exists. */
    public static void setBlocked(RealmModel realm, String clientId, boolean block) {
        Set<String> b = new LinkedHashSet<>(blocked(realm));
        if (block ? b.add(clientId) : b.remove(clientId)) {
            try {
                realm.setAttribute(BLOCKED_ATTRIBUTE, JSON.writeValueAsString(b));
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
        ClientModel c = realm.getClientByClientId(clientId);
        if (c != null && isCimd(c)) {
            c.setEnabled(!block);
        }
    }

    /** Whether the client's document may still be used without fetching it again. */
    public static boolean fresh(ClientModel client, long nowSeconds) {
        try {
            return Long.parseLong(Objects.requireNonNullElse(client.getAttribute(EXPIRES_AT), "0")) > nowSeconds;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * The number of the realm's CIMD clients. Counted in the client attribute table itself: Keycloak's attribute search
     * serves only the attributes the server lists as searchable ({@code spi-client--jpa--searchable-attributes}).
     */
    public static long count(KeycloakSession session, RealmModel realm) {
        return session.getProvider(JpaConnectionProvider.class).getEntityManager()
                .createQuery("select count(a) from ClientAttributeEntity a where a.name = :name and a.client.realmId = :realm", Long.class)
                .setParameter("name", MARK).setParameter("realm", realm.getId()).getSingleResult();
    }

    /** Creates the client of a document that was fetched and checked. */
    public static ClientModel create(KeycloakSession session, RealmModel realm, CimdSettings settings, CimdDocument doc, long expiresAt) {
        ClientModel c = realm.addClient(doc.clientId());
        c.setProtocol(OIDCLoginProtocol.LOGIN_PROTOCOL); // Keycloak attaches the realm's default client scopes here
        c.setEnabled(true);
        c.setBearerOnly(false);
        c.setStandardFlowEnabled(true);
        c.setImplicitFlowEnabled(false);
        c.setDirectAccessGrantsEnabled(false);
        c.setServiceAccountsEnabled(false);
        c.setConsentRequired(true);
        c.setFullScopeAllowed(false);
        c.setFrontchannelLogout(false);
        c.setAttribute("pkce.code.challenge.method", "S256");
        c.setAttribute("oauth2.device.authorization.grant.enabled", "false");
        c.setAttribute("oidc.ciba.grant.enabled", "false");
        c.setAttribute(MARK, "true");
        c.setAttribute(HOST, CimdUrl.host(doc.clientId()));
        c.setName(CimdHosts.display(CimdUrl.host(doc.clientId()))); // the title of Keycloak's consent screen
        applyScopes(realm, c, settings);
        apply(c, doc, expiresAt);
        // Keycloak's ClientUpdatedEvent, as after an admin's save: the delegation:client:<agent> scopes of the agents whose
        // allowed hosts name this URL are attached to it (DelegationScopes.syncClient), as to any registered host
        c.updateClient();
        return c;
    }

    /** What a refetch changed: the redirect set, the key set; either revokes consents and refresh tokens. */
    public record Changes(boolean redirects, boolean keys) {
        public boolean revoked() {
            return redirects || keys;
        }
    }

    /**
     * Brings the client up to date with a document fetched again. When its redirect set or its key set changed (a
     * public client that now has keys, or the reverse, is a changed key set), every consent to it is removed and every
     * token issued to it before now stops refreshing (its not-before moves).
     */
    public static Changes update(KeycloakSession session, RealmModel realm, ClientModel c, CimdDocument doc, long expiresAt) {
        Changes changes = new Changes(!CimdRedirects.digest(doc.redirectUris()).equals(c.getAttribute(REDIRECTS_DIGEST)),
                !CimdKeys.digest(doc.jwks()).equals(Objects.requireNonNullElse(c.getAttribute(KEYS_DIGEST), CimdKeys.digest(null))));
        apply(c, doc, expiresAt);
        if (changes.revoked()) {
            session.users().preRemove(realm, c); // the consents to this client (Keycloak's own removal path)
            c.setNotBefore(Time.currentTime() + 1);
        }
        if (changes.keys()) {
            c.updateClient(); // Keycloak's ClientUpdatedEvent: its cache of the client's public keys forgets the old set
        }
        return changes;
    }

    private static void apply(ClientModel c, CimdDocument doc, long expiresAt) {
        if (doc.privateKeyJwt()) {
            c.setPublicClient(false);
            c.setClientAuthenticatorType(CLIENT_JWT);
            c.setAttribute("use.jwks.string", "true");
            c.setAttribute("jwks.string", doc.jwks());
            c.setAttribute("use.jwks.url", "false"); // Keycloak never fetches a key set for this client: we did, vetted
            c.removeAttribute("jwks.url");
            if (doc.jwksUri() != null) {
                c.setAttribute(JWKS_URI, doc.jwksUri());
            } else {
                c.removeAttribute(JWKS_URI);
            }
        } else {
            c.setPublicClient(true);
            c.setClientAuthenticatorType("client-secret"); // Keycloak's default; a public client does not authenticate
            c.removeAttribute("use.jwks.string");
            c.removeAttribute("jwks.string");
            c.removeAttribute("use.jwks.url");
            c.removeAttribute("jwks.url");
            c.removeAttribute(JWKS_URI);
        }
        c.setAttribute(KEYS_DIGEST, CimdKeys.digest(doc.jwks()));
        c.setRedirectUris(doc.redirectUris().stream().map(CimdRedirects::stored).collect(Collectors.toCollection(LinkedHashSet::new)));
        c.setWebOrigins(new HashSet<>());
        c.setAttribute(SELF_DECLARED_NAME, doc.clientName());
        c.setDescription("Client ID metadata document of " + CimdUrl.host(doc.clientId()) + "; self-declared name: " + doc.clientName());
        c.setAttribute(REDIRECTS_DIGEST, CimdRedirects.digest(doc.redirectUris()));
        c.setAttribute(ALL_LOOPBACK, Boolean.toString(CimdRedirects.allLoopback(doc.redirectUris())));
        c.setAttribute(FETCHED_AT, Long.toString(Time.currentTime()));
        c.setAttribute(EXPIRES_AT, Long.toString(expiresAt));
        // Keycloak's consent screen: its title names the client's name (the host); this line says the rest
        c.setAttribute("display.on.consent.screen", "true");
        c.setAttribute("consent.screen.text", consentText(doc));
    }

    /**
     * The client's line on Keycloak's consent screen: the self-declared name, marked as such, the hosts it redirects to,
     * and a warning when every redirect is on the user's own computer. The name is reduced to letters, digits, spaces
     * and plain punctuation, so that it can be neither markup nor a message key or format pattern of the theme.
     */
    static String consentText(CimdDocument doc) {
        StringBuilder name = new StringBuilder();
        doc.clientName().codePoints().forEach(cp -> name.appendCodePoint(
                Character.isLetterOrDigit(cp) || cp == ' ' || ".,-_()&:!?+/#@".indexOf(cp) >= 0 ? cp : '?'));
        String text = "Calls itself \"" + name + "\" (self-declared, not verified); sends you back to " + redirectHosts(doc.redirectUris());
        if (CimdRedirects.allLoopback(doc.redirectUris())) {
            text += ". Every redirect is on this computer: continue only if you just started this application yourself";
        }
        return text;
    }

    /**
     * The hosts the redirect URIs lead to, as a consent screen shows them: at most three (then "and others"), each
     * {@link CimdHosts#display}, a private-use scheme as {@code scheme:}.
     */
    static String redirectHosts(java.util.Collection<String> redirectUris) {
        Set<String> hosts = new LinkedHashSet<>();
        for (String r : redirectUris) {
            java.net.URI u;
            try {
                u = java.net.URI.create(r);
            } catch (IllegalArgumentException e) {
                continue;
            }
            hosts.add(u.getHost() != null ? CimdHosts.display(u.getHost()) : u.getScheme() + ":");
        }
        List<String> shown = List.copyOf(hosts).subList(0, Math.min(3, hosts.size()));
        return String.join(", ", shown) + (hosts.size() > shown.size() ? " and others" : "");
    }

    /**
     * What the agent consent screen shows of a CIMD client (the same as Keycloak's consent screen shows), or null for any
     * other client: {@code host} ({@link CimdHosts#display}) and {@code fullHost}, the self-declared {@code name},
     * {@code redirectHosts}, and {@code allLoopback}. Values are plain text: the template escapes them.
     */
    public static Map<String, Object> consentDetails(ClientModel c) {
        if (c == null || !isCimd(c)) {
            return null;
        }
        String host = Objects.requireNonNullElse(c.getAttribute(HOST), "");
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("host", CimdHosts.display(host));
        m.put("fullHost", host);
        m.put("name", Objects.requireNonNullElse(c.getAttribute(SELF_DECLARED_NAME), ""));
        m.put("redirectHosts", redirectHosts(new java.util.TreeSet<>(c.getRedirectUris())));
        m.put("allLoopback", Boolean.parseBoolean(c.getAttribute(ALL_LOOPBACK)));
        return m;
    }

    /** Keeps only the ceiling's client scopes on the client (realm default scopes as default, the others optional). */
    static void applyScopes(RealmModel realm, ClientModel c, CimdSettings settings) {
        Set<String> defaults = realm.getDefaultClientScopesStream(true).map(ClientScopeModel::getName).collect(Collectors.toSet());
        Set<String> ceiling = ceiling(realm, settings);
        for (ClientScopeModel s : List.copyOf(c.getClientScopes(true).values())) {
            if (!ceiling.contains(s.getName())) {
                c.removeClientScope(s);
            }
        }
        for (ClientScopeModel s : List.copyOf(c.getClientScopes(false).values())) {
            if (!ceiling.contains(s.getName())) {
                c.removeClientScope(s);
            }
        }
        Set<String> attached = new HashSet<>(c.getClientScopes(true).keySet());
        attached.addAll(c.getClientScopes(false).keySet());
        realm.getClientScopesStream()
                .filter(s -> ceiling.contains(s.getName()) && !attached.contains(s.getName())
                        && OIDCLoginProtocol.LOGIN_PROTOCOL.equals(s.getProtocol()))
                .toList()
                .forEach(s -> c.addClientScope(s, defaults.contains(s.getName())));
    }

    /** The names of the client scopes a CIMD client may have: the settings' list, else the realm's default and optional ones. */
    public static Set<String> ceiling(RealmModel realm, CimdSettings settings) {
        if (settings.scopes() != null) {
            return new HashSet<>(settings.scopes());
        }
        Set<String> s = realm.getDefaultClientScopesStream(true).map(ClientScopeModel::getName).collect(Collectors.toSet());
        realm.getDefaultClientScopesStream(false).map(ClientScopeModel::getName).forEach(s::add);
        return s;
    }
}
