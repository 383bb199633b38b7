package org.agentauth.keycloak.vault;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * Which hosts a connector may reach (DESIGN section 5, proxy safety): public addresses only, unless the host is on the
 * server's allow-list ({@link VaultSettings#hostAllowListed}). Checked when an admin saves a connector and again before
 * every upstream call, so a name that later resolves to an internal address is still refused.
 */
public final class HostPolicy {

    private HostPolicy() {
    }

    /** Null when the URL may be called; otherwise why not (no secret in it: URLs of connectors are configuration). */
    public static String refusal(VaultSettings settings, String url, boolean resolve) {
        URI u;
        try {
            u = URI.create(url);
        } catch (IllegalArgumentException e) {
            return "is not a valid URL";
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http")) {
            return "must be an http(s) URL";
        }
        String host = u.getHost();
        if (host == null || host.isEmpty()) {
            return "has no host";
        }
        if (u.getRawUserInfo() != null) {
            return "must not contain user information";
        }
        if (u.getRawFragment() != null) {
            return "must not contain a fragment";
        }
        host = host.toLowerCase(Locale.ROOT);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        if (settings.hostAllowListed(host)) {
            return null;
        }
        if (scheme.equals("http")) {
            return "must use https (plain http only for hosts on the server's allowed-hosts list)";
        }
        if (host.equals("localhost") || host.endsWith(".localhost") || host.endsWith(".internal") || host.endsWith(".local")) {
            return "names a local host; add it to the server's allowed-hosts list to allow it";
        }
        if (isIpLiteral(host) || resolve) {
            try {
                for (InetAddress a : InetAddress.getAllByName(host)) {
                    if (!isPublic(a)) {
                        return "resolves to a non-public address; add the host to the server's allowed-hosts list to allow it";
                    }
                }
            } catch (UnknownHostException e) {
                return resolve ? "does not resolve" : null;
            }
        }
        return null;
    }

    private static boolean isIpLiteral(String host) {
        return host.matches("[0-9.]+") || host.contains(":");
    }

    /** False for loopback, private, link-local, CGNAT, multicast, unspecified, unique-local and mapped such addresses. */
    public static boolean isPublic(InetAddress a) {
        if (a.isAnyLocalAddress() || a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress()
                || a.isMulticastAddress()) {
            return false;
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            int b0 = b[0] & 0xff;
            int b1 = b[1] & 0xff;
            return !(b0 == 0 || (b0 == 100 && b1 >= 64 && b1 <= 127) || (b0 == 192 && b1 == 0 && (b[2] & 0xff) == 0)
                    || (b0 == 198 && (b1 == 18 || b1 == 19)) || b0 >= 240);
        }
        if (a instanceof Inet6Address) {
            int b0 = b[0] & 0xff;
            if ((b0 & 0xfe) == 0xfc) {
                return false; // fc00::/7 unique local
            }
            boolean mapped = true;
            for (int i = 0; i < 10; i++) {
                mapped &= b[i] == 0;
            }
            if (mapped && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
                try {
                    return isPublic(InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]}));
                } catch (UnknownHostException e) {
                    return false;
                }
            }
        }
        return true;
    }
}
