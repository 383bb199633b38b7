package org.agentauth.keycloak.vault.proxy;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The brokered proxy's safety rules (DESIGN section 5), as pure functions: which upstream URL a request maps to, and
 * which headers cross in each direction. The upstream URL is the connector's API base URL + the raw path: dot
 * segments, encoded slashes, backslashes, encoded dots, NUL, empty segments and anything not a plain path character
 * are refused, so the request can never leave the base path.
 */
public final class ProxyRules {

    /** Request headers forwarded upstream (lower case); every other header stays here. */
    static final Set<String> REQUEST_HEADERS = Set.of("accept", "accept-language", "content-type", "if-match", "if-none-match",
            "if-modified-since", "if-unmodified-since", "if-range", "range");
    /** Response headers passed back (lower case); Set-Cookie and the rest are dropped. */
    static final Set<String> RESPONSE_HEADERS = Set.of("content-type", "content-language", "content-range", "accept-ranges",
            "cache-control", "etag", "last-modified", "expires", "vary", "retry-after");
    /** The query parameter that chooses the account; never forwarded. */
    static final String CONNECTION_PARAM = "connection_id";

    private ProxyRules() {
    }

    /** A request the proxy refuses before anything is sent upstream; the message is safe to show to the caller. */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message);
        }
    }

    /**
     * The upstream URL for a raw path below {@code .../proxy} (empty or starting with '/') and a raw query.
     *
     * @throws Refused when the path or query could leave the base URL
     */
    public static URI upstream(String apiBaseUrl, String rawPath, String rawQuery) throws Refused {
        if (apiBaseUrl == null) {
            throw new Refused("The connector has no API base URL");
        }
        String path = rawPath == null ? "" : rawPath;
        if (!path.isEmpty() && !path.startsWith("/")) {
            throw new Refused("The path must start with '/'");
        }
        if (path.length() > 4096) {
            throw new Refused("The path is too long");
        }
        if (!path.isEmpty()) {
            String[] segments = path.substring(1).split("/", -1);
            for (int i = 0; i < segments.length; i++) {
                String seg = segments[i];
                if (seg.isEmpty() && i < segments.length - 1) {
                    throw new Refused("Empty path segments are not allowed");
                }
                checkSegment(seg);
            }
        }
        String query = forwardedQuery(rawQuery);
        String base = apiBaseUrl.endsWith("/") ? apiBaseUrl.substring(0, apiBaseUrl.length() - 1) : apiBaseUrl;
        URI baseUri = URI.create(base);
        URI target;
        try {
            target = URI.create(base + path + (query.isEmpty() ? "" : "?" + query));
        } catch (IllegalArgumentException e) {
            throw new Refused("The path or query is not a valid URI part");
        }
        String basePath = baseUri.getRawPath() == null ? "" : baseUri.getRawPath();
        if (!target.getScheme().equalsIgnoreCase(baseUri.getScheme()) || !target.getHost().equalsIgnoreCase(baseUri.getHost())
                || target.getPort() != baseUri.getPort() || !target.getRawPath().startsWith(basePath)) {
            throw new Refused("The path leaves the connector's API base URL");
        }
        return target;
    }

    private static void checkSegment(String seg) throws Refused {
        String lower = seg.toLowerCase(Locale.ROOT);
        if (seg.equals(".") || seg.equals("..") || lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c")
                || lower.contains("%00") || seg.contains("\\")) {
            throw new Refused("Dot segments, encoded slashes or dots, backslashes and NUL are not allowed in the path");
        }
        for (int i = 0; i < seg.length(); i++) {
            char c = seg.charAt(i);
            if (c == '%') {
                if (i + 2 >= seg.length() || !hex(seg.charAt(i + 1)) || !hex(seg.charAt(i + 2))) {
                    throw new Refused("Malformed percent-encoding in the path");
                }
                i += 2;
            } else if (!pchar(c)) {
                throw new Refused("The path contains a character that must be percent-encoded");
            }
        }
    }

    /** The raw query without {@code connection_id}; refused when it holds anything but query characters. */
    static String forwardedQuery(String rawQuery) throws Refused {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return "";
        }
        if (rawQuery.length() > 8192) {
            throw new Refused("The query is too long");
        }
        List<String> kept = new ArrayList<>();
        for (String pair : rawQuery.split("&", -1)) {
            String name = pair.contains("=") ? pair.substring(0, pair.indexOf('=')) : pair;
            if (name.equals(CONNECTION_PARAM)) {
                continue;
            }
            for (int i = 0; i < pair.length(); i++) {
                char c = pair.charAt(i);
                if (c == '%') {
                    if (i + 2 >= pair.length() || !hex(pair.charAt(i + 1)) || !hex(pair.charAt(i + 2))) {
                        throw new Refused("Malformed percent-encoding in the query");
                    }
                    if (pair.charAt(i + 1) == '0' && pair.charAt(i + 2) == '0') {
                        throw new Refused("NUL is not allowed in the query");
                    }
                    i += 2;
                } else if (!pchar(c) && c != '/' && c != '?') {
                    throw new Refused("The query contains a character that must be percent-encoded");
                }
            }
            kept.add(pair);
        }
        return String.join("&", kept);
    }

    /**
     * The connection chosen in the query ({@code connection_id}), if any. A value that is not valid percent-encoding is
     * returned as it is (no connection has such an id: {@code connection_not_found}), never an exception.
     */
    static String connectionParam(String rawQuery) {
        if (rawQuery == null) {
            return null;
        }
        for (String pair : rawQuery.split("&")) {
            if (pair.startsWith(CONNECTION_PARAM + "=")) {
                String raw = pair.substring(CONNECTION_PARAM.length() + 1);
                try {
                    return java.net.URLDecoder.decode(raw, java.nio.charset.StandardCharsets.UTF_8);
                } catch (IllegalArgumentException malformed) {
                    return raw;
                }
            }
        }
        return null;
    }

    /** Whether a request header (any case) is forwarded upstream. */
    static boolean forwardsRequestHeader(String name) {
        return name != null && REQUEST_HEADERS.contains(name.toLowerCase(Locale.ROOT));
    }

    /** Whether an upstream response header (any case) is passed back to the agent. */
    static boolean passesResponseHeader(String name) {
        return name != null && RESPONSE_HEADERS.contains(name.toLowerCase(Locale.ROOT));
    }

    private static boolean hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /** RFC 3986 pchar without '%' (handled by the caller). */
    private static boolean pchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~!$&'()*+,;=:@".indexOf(c) >= 0;
    }
}
