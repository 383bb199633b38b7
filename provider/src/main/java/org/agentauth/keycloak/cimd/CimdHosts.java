package org.agentauth.keycloak.cimd;

import java.net.IDN;
import java.util.Locale;

/**
 * Host patterns of the realm's allowed and denied lists: an exact host or {@code *.suffix} (every host below the
 * suffix, not the suffix itself), compared in ASCII (IDNA to ASCII) and lower case. Pure logic.
 */
public final class CimdHosts {

    private CimdHosts() {
    }

    /**
     * The normal form of a pattern as an admin wrote it, or {@link IllegalArgumentException} saying why it is no host
     * pattern.
     */
    public static String normalize(String pattern) {
        if (pattern == null || pattern.isBlank()) {
            throw new IllegalArgumentException("a host must not be empty");
        }
        String p = pattern.trim();
        boolean wildcard = p.startsWith("*.");
        String host = wildcard ? p.substring(2) : p;
        if (host.startsWith("[") && host.endsWith("]") && !wildcard) {
            String literal = host.substring(1, host.length() - 1).toLowerCase(Locale.ROOT);
            if (!literal.matches("[0-9a-f:.]+")) {
                throw new IllegalArgumentException("'" + pattern + "' is not a host");
            }
            return literal;
        }
        String ascii;
        try {
            ascii = IDN.toASCII(host, IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + pattern + "' is not a host name");
        }
        if (ascii.isEmpty() || ascii.length() > 253 || ascii.startsWith(".") || ascii.endsWith(".") || ascii.contains("..")
                || !ascii.matches("[a-z0-9.-]+")) {
            throw new IllegalArgumentException("'" + pattern + "' is not a host name (exact, or *.suffix)");
        }
        return wildcard ? "*." + ascii : ascii;
    }

    /** How many characters of a host a consent screen shows at most ({@link #display}). */
    public static final int MAX_SHOWN = 40;

    /** {@link #display(String, int)} with {@link #MAX_SHOWN}. */
    public static String display(String host) {
        return display(host, MAX_SHOWN);
    }

    /**
     * A host as a consent screen shows it: in ASCII (punycode, so that look-alike letters show as {@code xn--}), lower
     * case, and when longer than {@code max} characters truncated <em>from the left</em> with a leading ellipsis, so that
     * the registrable domain at its end stays visible (a long host is how a look-alike pushes it out of view). The cut
     * is moved to the next label boundary when what remains still has two labels. Pure logic.
     */
    public static String display(String host, int max) {
        if (host == null || host.isEmpty()) {
            return "";
        }
        String ascii;
        try {
            ascii = IDN.toASCII(host, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            ascii = host.toLowerCase(Locale.ROOT);
        }
        if (ascii.length() <= max || max < 2) {
            return ascii;
        }
        String tail = ascii.substring(ascii.length() - (max - 1));
        int dot = tail.indexOf('.');
        if (dot > 0 && tail.indexOf('.', dot + 1) > dot + 1) {
            tail = tail.substring(dot); // starts at a label: ".example.com", never "ample.com"
        }
        return "\u2026" + tail;
    }

    /** Whether {@code host} (lower case ASCII) matches the normalized {@code pattern}. */
    public static boolean matches(String pattern, String host) {
        if (pattern.startsWith("*.")) {
            String suffix = pattern.substring(1); // ".example.com"
            return host.length() > suffix.length() && host.endsWith(suffix);
        }
        return pattern.equals(host);
    }
}
