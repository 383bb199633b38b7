package org.agentauth.keycloak.vault;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * IANA's IPv4 and IPv6 Special-Purpose Address Registries (as of 2025, with RFC 9780's dummy IPv6 prefix), plus the
 * multicast blocks and IPv6's deprecated site-local block: each entry with its "Globally Reachable" value ("N/A" counts
 * as not reachable). The most specific entry that contains an address decides; an address in no entry is ordinary
 * unicast and public. The forms that embed an IPv4 address are resolved by {@link HostPolicy#isPublic} before this
 * table.
 */
final class SpecialAddresses {

    /** One registry entry. */
    record Range(byte[] prefix, int bits, boolean globallyReachable, String name) {
        boolean contains(byte[] a) {
            if (a.length != prefix.length) {
                return false;
            }
            int full = bits / 8;
            for (int i = 0; i < full; i++) {
                if (a[i] != prefix[i]) {
                    return false;
                }
            }
            int rest = bits % 8;
            if (rest == 0) {
                return true;
            }
            int mask = (0xff << (8 - rest)) & 0xff;
            return (a[full] & mask) == (prefix[full] & mask);
        }
    }

    /** A table of ranges; the most specific containing one decides. */
    static final class Table {
        private final List<Range> ranges = new ArrayList<>();

        private Table add(String cidr, boolean globallyReachable, String name) {
            int slash = cidr.indexOf('/');
            try {
                byte[] p = InetAddress.getByName(cidr.substring(0, slash)).getAddress();
                ranges.add(new Range(p, Integer.parseInt(cidr.substring(slash + 1)), globallyReachable, name));
            } catch (UnknownHostException e) {
                throw new IllegalStateException(cidr, e);
            }
            return this;
        }

        /** The most specific entry containing the address, or null. */
        Range match(byte[] a) {
            Range best = null;
            for (Range r : ranges) {
                if (r.contains(a) && (best == null || r.bits() > best.bits())) {
                    best = r;
                }
            }
            return best;
        }

        boolean isPublic(byte[] a) {
            Range r = match(a);
            return r == null || r.globallyReachable();
        }
    }

    static final Table V4 = new Table()
            .add("0.0.0.0/8", false, "this network")
            .add("10.0.0.0/8", false, "private-use")
            .add("100.64.0.0/10", false, "shared address space")
            .add("127.0.0.0/8", false, "loopback")
            .add("169.254.0.0/16", false, "link local")
            .add("172.16.0.0/12", false, "private-use")
            .add("192.0.0.0/24", false, "IETF protocol assignments")
            .add("192.0.0.0/29", false, "IPv4 service continuity prefix")
            .add("192.0.0.8/32", false, "IPv4 dummy address")
            .add("192.0.0.9/32", true, "port control protocol anycast")
            .add("192.0.0.10/32", true, "traversal using relays around NAT anycast")
            .add("192.0.0.170/32", false, "NAT64/DNS64 discovery")
            .add("192.0.0.171/32", false, "NAT64/DNS64 discovery")
            .add("192.0.2.0/24", false, "documentation (TEST-NET-1)")
            .add("192.31.196.0/24", true, "AS112-v4")
            .add("192.52.193.0/24", true, "AMT")
            .add("192.88.99.0/24", false, "deprecated (6to4 relay anycast)")
            .add("192.168.0.0/16", false, "private-use")
            .add("192.175.48.0/24", true, "direct delegation AS112 service")
            .add("198.18.0.0/15", false, "benchmarking")
            .add("198.51.100.0/24", false, "documentation (TEST-NET-2)")
            .add("203.0.113.0/24", false, "documentation (TEST-NET-3)")
            .add("224.0.0.0/4", false, "multicast")
            .add("240.0.0.0/4", false, "reserved")
            .add("255.255.255.255/32", false, "limited broadcast");

    static final Table V6 = new Table()
            .add("::1/128", false, "loopback")
            .add("::/128", false, "unspecified")
            .add("::ffff:0:0/96", false, "IPv4-mapped")
            .add("64:ff9b::/96", true, "IPv4-IPv6 translation")
            .add("64:ff9b:1::/48", false, "IPv4-IPv6 translation, local use")
            .add("100::/64", false, "discard-only")
            .add("100:0:0:1::/64", false, "dummy IPv6 prefix")
            .add("2001::/23", false, "IETF protocol assignments")
            .add("2001::/32", false, "Teredo")
            .add("2001:1::1/128", true, "port control protocol anycast")
            .add("2001:1::2/128", true, "traversal using relays around NAT anycast")
            .add("2001:1::3/128", true, "DNS-SD service registration protocol anycast")
            .add("2001:2::/48", false, "benchmarking")
            .add("2001:3::/32", true, "AMT")
            .add("2001:4:112::/48", true, "AS112-v6")
            .add("2001:10::/28", false, "deprecated (previously ORCHID)")
            .add("2001:20::/28", true, "ORCHIDv2")
            .add("2001:30::/28", true, "drone remote ID protocol entity tags")
            .add("2001:db8::/32", false, "documentation")
            .add("2002::/16", false, "6to4")
            .add("2620:4f:8000::/48", true, "direct delegation AS112 service")
            .add("3fff::/20", false, "documentation")
            .add("5f00::/16", false, "segment routing (SRv6) SIDs")
            .add("fc00::/7", false, "unique-local")
            .add("fe80::/10", false, "link-local unicast")
            .add("fec0::/10", false, "deprecated site-local")
            .add("ff00::/8", false, "multicast");

    static final Range NAT64_WELL_KNOWN = V6.match(bytes("64:ff9b::"));
    static final Range SIX_TO_FOUR = V6.match(bytes("2002::"));
    static final Range TEREDO = V6.match(bytes("2001::"));

    private static byte[] bytes(String literal) {
        try {
            return InetAddress.getByName(literal).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalStateException(literal, e);
        }
    }

    private SpecialAddresses() {
    }
}
