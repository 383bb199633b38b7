package org.agentauth.keycloak.support;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The extension's string helpers: space-separated lists, and values made safe to echo in errors, events and logs. */
public final class Strings {

    private Strings() {
    }

    /**
     * A client-supplied value to echo in an error description, event detail or log line: control characters removed,
     * at most {@code max} characters. Never pass a token here: name what is wrong, not the value.
     */
    public static String safe(String value, int max) {
        if (value == null) {
            return "";
        }
        if (value.startsWith("eyJ") && value.indexOf('.') > 0) {
            // a token sent where a value belongs (a resource, a redirect): never echoed, not even its header
            return "(a token, not shown)";
        }
        String s = value.replaceAll("\\p{Cntrl}", "");
        return s.length() > max ? s.substring(0, max) + "..." : s;
    }

    /** An identifier (client id, claim, scope) to echo: anything outside a conservative set becomes {@code ?}; 64 characters. */
    public static String safeId(String value) {
        if (value == null) {
            return "(none)";
        }
        if (value.startsWith("eyJ") && value.indexOf('.') > 0) {
            // a token sent where an id belongs: even 64 characters of it are its header and claims (HostileInputIT)
            return "(a token, not shown)";
        }
        String t = value.replaceAll("[^A-Za-z0-9._:/@-]", "?");
        return t.length() > 64 ? t.substring(0, 64) + "..." : t;
    }

    /** A space-separated list (scope, attribute values) as an ordered set without blanks. */
    public static Set<String> split(String value) {
        Set<String> out = new LinkedHashSet<>();
        if (value != null) {
            for (String s : value.trim().split("\\s+")) {
                if (!s.isEmpty()) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    /** The values of a JSON array claim as an ordered set of strings (anything else: empty). */
    public static Set<String> strings(Object claim) {
        Set<String> out = new LinkedHashSet<>();
        if (claim instanceof Collection<?> c) {
            c.forEach(v -> out.add(String.valueOf(v)));
        }
        return out;
    }

    /** The values of a JSON array claim as a list of strings, or a single string claim as a one-element list. */
    public static List<String> list(Object claim) {
        if (claim instanceof String s) {
            return List.of(s);
        }
        return List.copyOf(strings(claim));
    }

    public static String join(Collection<String> values) {
        return String.join(" ", values);
    }
}
