package org.agentauth.keycloak.support.cluster;

/**
 * An invalidation as sent on an {@link InvalidationChannel}: a kind (one character the cache defines), a realm id and a
 * value (an id of the kind's), as {@code <prefix><kind><length of realm id>:<realm id><value>} (ids may hold any
 * character). {@link #REALM} and {@link #ALL} are every cache's; a text that does not decode is {@link #ALL}: never less
 * than was meant.
 */
public record InvalidationText(char kind, String realmId, String value) {

    public static final char REALM = 'r';
    public static final char ALL = '*';

    public static InvalidationText all() {
        return new InvalidationText(ALL, "", "");
    }

    public String encode(String prefix) {
        return prefix + kind + realmId.length() + ":" + realmId + value;
    }

    /**
     * The invalidation {@code text} names; {@link #all()} when it lacks {@code prefix}, does not parse, or has a kind
     * that is neither {@link #REALM} nor one of {@code valueKinds} with a value.
     */
    public static InvalidationText decode(String prefix, String text, String valueKinds) {
        try {
            if (text == null || !text.startsWith(prefix)) {
                return all();
            }
            String s = text.substring(prefix.length());
            char kind = s.charAt(0);
            int colon = s.indexOf(':');
            int len = Integer.parseInt(s.substring(1, colon));
            String realmId = s.substring(colon + 1, colon + 1 + len);
            String value = s.substring(colon + 1 + len);
            if (kind == REALM) {
                return new InvalidationText(REALM, realmId, "");
            }
            return valueKinds.indexOf(kind) >= 0 && !value.isEmpty() ? new InvalidationText(kind, realmId, value) : all();
        } catch (RuntimeException e) {
            return all();
        }
    }
}
