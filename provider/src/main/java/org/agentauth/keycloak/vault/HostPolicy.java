package org.agentauth.keycloak.vault;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * Which hosts a connector may reach (DESIGN section 5, proxy safety): public addresses only, unless the host is on the
 * server's allow-list ({@link VaultSettings#hostAllowListed}). Checked when an admin saves a connector and again before
 * every upstream call ({@link #vet}), so a name that later resolves to an internal address is still refused; the call
 * then connects only to the addresses that check vetted ({@link org.agentauth.keycloak.vault.net.VettedHttp}).
 */
public final class HostPolicy {

    private HostPolicy() {
    }

    /**
     * The outcome of the policy for one URL: a refusal, or the host and exactly the addresses that were vetted. The HTTP
     * client connects only to these ({@link org.agentauth.keycloak.vault.net.VettedHttp}): one DNS resolution serves
     * both the check and the connection, so a name cannot change its answer in between (DNS rebinding).
     */
    public record Vetted(String refusal, String host, InetAddress[] addresses) {
        static Vetted refused(String why) {
            return new Vetted(why, null, null);
        }

        @Override
        public String toString() {
            return refusal != null ? "Vetted[refused: " + refusal + "]" : "Vetted[" + host + " -> " + java.util.Arrays.toString(addresses) + "]";
        }
    }

    /** Null when the URL may be called; otherwise why not (no secret in it: URLs of connectors are configuration). */
    public static String refusal(VaultSettings settings, String url, boolean resolve) {
        return check(settings::hostAllowListed, url, resolve).refusal();
    }

    /** The policy for a URL about to be called: resolves the host once and vets every address. */
    public static Vetted vet(VaultSettings settings, String url) {
        return vet(settings::hostAllowListed, url);
    }

    /**
     * {@link #vet(VaultSettings, String)} with another server allow-list (the client metadata documents of package
     * {@code cimd} have their own).
     */
    public static Vetted vet(java.util.function.Predicate<String> allowListed, String url) {
        Vetted v = check(allowListed, url, true);
        if (v.refusal() == null && v.addresses() == null) {
            return Vetted.refused("does not resolve");
        }
        return v;
    }

    private static Vetted check(java.util.function.Predicate<String> allowListed, String url, boolean resolve) {
        URI u;
        try {
            u = URI.create(url);
        } catch (IllegalArgumentException e) {
            return Vetted.refused("is not a valid URL");
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http")) {
            return Vetted.refused("must be an http(s) URL");
        }
        String host = u.getHost();
        if (host == null || host.isEmpty()) {
            return Vetted.refused("has no host");
        }
        if (u.getRawUserInfo() != null) {
            return Vetted.refused("must not contain user information");
        }
        if (u.getRawFragment() != null) {
            return Vetted.refused("must not contain a fragment");
        }
        host = normalizeHost(host);
        boolean listed = allowListed.test(host);
        if (!listed && scheme.equals("http")) {
            return Vetted.refused("must use https (plain http only for hosts on the server's allowed-hosts list)");
        }
        if (!listed && (host.equals("localhost") || host.endsWith(".localhost") || host.endsWith(".internal") || host.endsWith(".local"))) {
            return Vetted.refused("names a local host; add it to the server's allowed-hosts list to allow it");
        }
        if (!isIpLiteral(host) && !resolve) {
            return new Vetted(null, host, null);
        }
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            // an allow-listed name may be saved before it resolves; it is called only once it does (vet)
            return resolve && !listed ? Vetted.refused("does not resolve") : new Vetted(null, host, null);
        }
        if (!listed) {
            for (InetAddress a : addresses) {
                if (!isPublic(a)) {
                    return Vetted.refused("resolves to a non-public address; add the host to the server's allowed-hosts list to allow it");
                }
            }
        }
        return new Vetted(null, host, addresses);
    }

    /** Lower case, without the brackets of an IPv6 literal: the form hosts are compared and pinned in. */
    public static String normalizeHost(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }

    private static boolean isIpLiteral(String host) {
        return host.matches("[0-9.]+") || host.contains(":");
    }

    /**
     * False for the special-purpose addresses of IANA's IPv4 and IPv6 Special-Purpose Address Registries whose entry
     * is not "Globally Reachable: True", and for multicast; the forms that embed an IPv4 address are judged by that
     * address: IPv4-mapped ({@code ::ffff:0:0/96}), the NAT64 well-known prefix ({@code 64:ff9b::/96}), 6to4
     * ({@code 2002::/16}) and Teredo ({@code 2001::/32}, server and client address); IPv4-compatible
     * ({@code ::/96}, deprecated) and local-use NAT64 ({@code 64:ff9b:1::/48}) are never public.
     */
    public static boolean isPublic(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 4) {
            return SpecialAddresses.V4.isPublic(b);
        }
        // the forms that carry an IPv4 address
        if (prefix(b, 10) && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
            return SpecialAddresses.V4.isPublic(slice(b, 12)); // IPv4-mapped
        }
        if (prefix(b, 12)) {
            return false; // ::/128, ::1/128 and IPv4-compatible ::a.b.c.d (deprecated, RFC 4291 2.5.5.1)
        }
        if (SpecialAddresses.NAT64_WELL_KNOWN.contains(b)) {
            return SpecialAddresses.V4.isPublic(slice(b, 12));
        }
        if (SpecialAddresses.SIX_TO_FOUR.contains(b)) {
            return SpecialAddresses.V4.isPublic(slice(b, 2));
        }
        if (SpecialAddresses.TEREDO.contains(b)) {
            byte[] client = slice(b, 12);
            for (int i = 0; i < 4; i++) {
                client[i] = (byte) ~client[i];
            }
            return SpecialAddresses.V4.isPublic(slice(b, 4)) && SpecialAddresses.V4.isPublic(client);
        }
        return SpecialAddresses.V6.isPublic(b);
    }

    /** True when the first {@code n} bytes are zero. */
    private static boolean prefix(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static byte[] slice(byte[] b, int from) {
        return java.util.Arrays.copyOfRange(b, from, from + 4);
    }
}
