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

    /** Whether {@code host} (lower case ASCII) matches the normalized {@code pattern}. */
    public static boolean matches(String pattern, String host) {
        if (pattern.startsWith("*.")) {
            String suffix = pattern.substring(1); // ".example.com"
            return host.length() > suffix.length() && host.endsWith(suffix);
        }
        return pattern.equals(host);
    }
}
