package org.agentauth.keycloak.cimd;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The rules a {@code client_id} must meet before anything is fetched (draft-ietf-oauth-client-id-metadata-document
 * section 3, DESIGN section 11): an {@code https} URL with a host and a path other than {@code /}, no fragment, no user
 * information, no dot segments (also percent-encoded), printable ASCII only, at most {@link #MAX_LENGTH} characters (the
 * length of Keycloak's client id column). A query is allowed, as the draft allows it. Pure logic.
 */
public final class CimdUrl {

    public static final int MAX_LENGTH = 255;

    /** A dot segment: {@code .} or {@code ..} between separators, raw or percent-encoded (once or twice). */
    private static final Pattern DOT_SEGMENT = Pattern.compile(
            "(^|/|%2f|%5c|\\\\)(\\.|%2e|%252e){1,2}(/|%2f|%5c|\\\\|;|\\?|$)", Pattern.CASE_INSENSITIVE);

    private CimdUrl() {
    }

    /** True when the value looks like a URL client id at all (the only ones this feature ever looks at). */
    public static boolean isCandidate(String clientId) {
        return clientId != null && clientId.regionMatches(true, 0, "https://", 0, 8);
    }

    /** Null when {@code url} may be fetched as a client id; otherwise why not (safe to show: no secret in it). */
    public static String refusal(String url) {
        if (url == null || url.isEmpty()) {
            return "client_id is missing";
        }
        if (url.length() > MAX_LENGTH) {
            return "client_id is longer than " + MAX_LENGTH + " characters";
        }
        for (int i = 0; i < url.length(); i++) {
            char c = url.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                return "client_id must be printable ASCII without spaces (an internationalized host in punycode)";
            }
        }
        if (!url.startsWith("https://")) {
            return "client_id must be an https URL";
        }
        if (url.indexOf('#') >= 0) {
            return "client_id must not contain a fragment";
        }
        if (url.indexOf('\\') >= 0) {
            return "client_id must not contain a backslash";
        }
        URI u;
        try {
            u = new URI(url);
        } catch (URISyntaxException e) {
            return "client_id is not a valid URL";
        }
        if (u.getRawUserInfo() != null || u.getRawAuthority() != null && u.getRawAuthority().contains("@")) {
            return "client_id must not contain a user name or password";
        }
        if (u.getHost() == null || u.getHost().isEmpty()) {
            return "client_id has no valid host";
        }
        String host = u.getHost();
        if (host.endsWith(".")) {
            return "the host of client_id must not end with a dot";
        }
        String path = u.getRawPath();
        if (path == null || path.isEmpty() || path.equals("/")) {
            return "client_id must have a path (where the metadata document is)";
        }
        if (DOT_SEGMENT.matcher(path).find()) {
            return "client_id must not contain dot segments";
        }
        if (path.contains("//")) {
            return "client_id must not contain empty path segments";
        }
        if (u.getPort() == 0) {
            return "client_id has an invalid port";
        }
        return null;
    }

    /** The host of a URL that passed {@link #refusal}: lower case, without the brackets of an IPv6 literal. */
    public static String host(String url) {
        String h = URI.create(url).getHost().toLowerCase(Locale.ROOT);
        return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }
}
