package org.agentauth.keycloak.cimd;

import org.agentauth.keycloak.support.Digests;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Collection;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Redirect URIs of a metadata document: which entries are acceptable, how a request's {@code redirect_uri} is matched
 * (exactly; a loopback {@code http} entry matches any port, RFC 8252 section 7.3; never a wildcard), and the form they
 * are stored in on the client so that Keycloak's own redirect check applies exactly these rules. Keycloak retries a
 * loopback {@code http} redirect with port 80 ({@code RedirectUtils}, 26.7), so a loopback entry stored without a port
 * matches the same URI on any port, and an entry without {@code *} is matched as an exact string. Pure logic.
 */
public final class CimdRedirects {

    public static final int MAX_LENGTH = 2000;
    private static final Set<String> LOOPBACK = Set.of("127.0.0.1", "[::1]", "localhost");

    private CimdRedirects() {
    }

    /** Null when {@code uri} is an acceptable redirect URI of a document; otherwise why not. */
    public static String refusal(String uri) {
        if (uri == null || uri.isEmpty()) {
            return "a redirect URI is empty";
        }
        if (uri.length() > MAX_LENGTH) {
            return "a redirect URI is longer than " + MAX_LENGTH + " characters";
        }
        for (int i = 0; i < uri.length(); i++) {
            char c = uri.charAt(i);
            if (c <= 0x20 || c >= 0x7f || c == '\\') {
                return "a redirect URI contains a character that is not allowed";
            }
        }
        if (uri.indexOf('*') >= 0) {
            return "a redirect URI contains a * (wildcards are not allowed)";
        }
        if (uri.indexOf('#') >= 0) {
            return "a redirect URI contains a fragment";
        }
        URI u;
        try {
            u = new URI(uri);
        } catch (URISyntaxException e) {
            return "a redirect URI is not a valid URI";
        }
        String scheme = u.getScheme();
        if (scheme == null) {
            return "a redirect URI is not absolute";
        }
        if (u.getRawUserInfo() != null) {
            return "a redirect URI contains user information";
        }
        if (scheme.equals("https")) {
            return u.getHost() == null ? "an https redirect URI has no host" : null;
        }
        if (scheme.equals("http")) {
            return u.getHost() != null && LOOPBACK.contains(u.getHost().toLowerCase(Locale.ROOT)) ? null
                    : "an http redirect URI must be on a loopback address (127.0.0.1, [::1] or localhost)";
        }
        // a private-use URI scheme of a native app, in reverse domain name form (RFC 8252 section 7.1)
        if (scheme.matches("[a-z][a-z0-9+-]*(\\.[a-z0-9+-]+)+")) {
            return null;
        }
        return "a redirect URI must be https, http on a loopback address, or a private-use scheme in reverse domain name form";
    }

    /** Whether {@code uri} (acceptable per {@link #refusal}) is an {@code http} loopback redirect. */
    public static boolean isLoopback(String uri) {
        URI u = URI.create(uri);
        return "http".equals(u.getScheme()) && u.getHost() != null && LOOPBACK.contains(u.getHost().toLowerCase(Locale.ROOT));
    }

    /** The form stored on the client: a loopback entry loses its port (any port matches), every other one is kept as is. */
    public static String stored(String uri) {
        if (!isLoopback(uri)) {
            return uri;
        }
        URI u = URI.create(uri);
        return "http://" + u.getRawAuthority().replaceFirst(":[0-9]*$", "") + (u.getRawPath() == null ? "" : u.getRawPath())
                + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
    }

    /** Whether the request's {@code redirect_uri} is one of the document's (exactly; loopback on any port). */
    public static boolean matches(Collection<String> documentRedirects, String requested) {
        if (requested == null) {
            return false;
        }
        if (documentRedirects.contains(requested)) {
            return true;
        }
        if (refusal(requested) != null || !isLoopback(requested)) {
            return false;
        }
        String r = stored(requested);
        return documentRedirects.stream().filter(CimdRedirects::isLoopback).map(CimdRedirects::stored).anyMatch(r::equals);
    }

    /** Whether every redirect is on this computer (the consent screen warns about such clients). */
    public static boolean allLoopback(Collection<String> redirects) {
        return !redirects.isEmpty() && redirects.stream().allMatch(CimdRedirects::isLoopback);
    }

    /** A digest of the set of stored forms, to notice a changed redirect set at a refetch. */
    public static String digest(Collection<String> redirects) {
        TreeSet<String> sorted = new TreeSet<>();
        redirects.forEach(r -> sorted.add(stored(r)));
        return Digests.sha256Url(String.join("\n", sorted));
    }
}
