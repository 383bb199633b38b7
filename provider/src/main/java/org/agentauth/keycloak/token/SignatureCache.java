package org.agentauth.keycloak.token;

import org.agentauth.keycloak.support.Digests;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.keycloak.component.ComponentModel;
import org.keycloak.keys.KeyProvider;
import org.keycloak.models.RealmModel;
import org.keycloak.representations.AccessToken;

/**
 * A node's memory of the access tokens whose signature {@link BearerVerification} has verified (docs/performance.md,
 * "Caches"): an agent sends the same actor token, and the same delegated token to the proxy, many times, and parsing the
 * JWT, finding the realm's key and checking the RSA signature were the larger part of each verification.
 *
 * <p>An entry is the parsed token under the SHA-256 of its exact text (never the text itself), remembered only after
 * every check of {@link BearerVerification#direct} passed, for at most {@value #TTL_MILLIS} ms and never beyond the
 * token's {@code exp}. It answers only for the same realm, the same expected issuer, and the same key providers: the
 * realm's key components, compared by identity with the ones seen at verification. Keycloak's realm cache hands out
 * the same component objects until the realm changes, so adding, disabling or removing a key (any realm change) makes
 * every entry of the realm miss at once, and a realm not served from Keycloak's cache never hits. What a signature does
 * not settle is checked again on every use by the caller: {@code exp}/{@code nbf}, revocation, the audience asked for,
 * the realm's, client's and user's not-before, the client, the session and the user.
 *
 * <p>The token object is shared by the requests that present the same text: callers read it and never change it.
 */
final class SignatureCache {

    /** Longest time an entry answers, in milliseconds. */
    static final long TTL_MILLIS = 60_000;
    /** Beyond this many entries the expired ones are dropped, and if that is not enough, all of them. */
    static final int MAX_ENTRIES = 10_000;

    private record Entry(String realmId, String issuer, List<ComponentModel> keyProviders, AccessToken token, long until) {
    }

    private static final Map<String, Entry> ENTRIES = new ConcurrentHashMap<>();

    private SignatureCache() {
    }

    /** The realm's key provider components, as its cache hands them out now. */
    static List<ComponentModel> keyProviders(RealmModel realm) {
        return realm.getComponentsStream(realm.getId(), KeyProvider.class.getName()).toList();
    }

    /** The cache key of a token's exact text: its SHA-256, base64url. */
    static String keyOf(String tokenString) {
        return Digests.sha256Url(tokenString);
    }

    /** The token verified earlier under the same conditions, or null. */
    static AccessToken get(String key, RealmModel realm, String issuer, List<ComponentModel> keyProviders, long now) {
        Entry e = ENTRIES.get(key);
        if (e == null) {
            return null;
        }
        if (e.until() <= now || !e.realmId().equals(realm.getId()) || !e.issuer().equals(issuer) || !same(e.keyProviders(), keyProviders)) {
            ENTRIES.remove(key, e);
            return null;
        }
        return e.token();
    }

    /** Remembers a token that passed every check, until {@code min(now + TTL, exp)}. */
    static void put(String key, RealmModel realm, String issuer, List<ComponentModel> keyProviders, AccessToken token, long now) {
        Long exp = token.getExp();
        long until = Math.min(now + TTL_MILLIS, exp == null ? now : exp * 1000L);
        if (until <= now) {
            return;
        }
        if (ENTRIES.size() >= MAX_ENTRIES) {
            ENTRIES.values().removeIf(x -> x.until() <= now);
            if (ENTRIES.size() >= MAX_ENTRIES) {
                ENTRIES.clear();
            }
        }
        ENTRIES.put(key, new Entry(realm.getId(), issuer, keyProviders, token, until));
    }

    /** Entries held now (tests). */
    static int size() {
        return ENTRIES.size();
    }

    /** Drops everything (tests). */
    static void clear() {
        ENTRIES.clear();
    }

    private static boolean same(List<ComponentModel> a, List<ComponentModel> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (a.get(i) != b.get(i)) {
                return false;
            }
        }
        return true;
    }
}
