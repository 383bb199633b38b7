package org.agentauth.keycloak.vault;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The special-use address table of {@link HostPolicy#isPublic} against IANA's IPv4 and IPv6 Special-Purpose Address
 * Registries (and the multicast blocks): one case per range, with an address at its start, at its end and just outside
 * where the neighbour is ordinary unicast. An entry IANA marks "Globally Reachable: True" is public; "False" and "N/A"
 * are not, except the forms that embed an IPv4 address (IPv4-mapped, NAT64 well-known prefix, 6to4, Teredo), which are
 * as public as the IPv4 address they carry.
 */
class SpecialAddressesTest {

    @ParameterizedTest(name = "{0}: {1} {2} -> public={3}")
    @CsvSource({
            // IPv4 Special-Purpose Address Registry
            "this network 0.0.0.0/8,             0.0.0.0,        0.255.255.255,   false",
            "private 10.0.0.0/8,                 10.0.0.0,       10.255.255.255,  false",
            "shared address space 100.64.0.0/10, 100.64.0.0,     100.127.255.255, false",
            "loopback 127.0.0.0/8,               127.0.0.0,      127.255.255.255, false",
            "link local 169.254.0.0/16,          169.254.0.0,    169.254.255.255, false",
            "private 172.16.0.0/12,              172.16.0.0,     172.31.255.255,  false",
            "IETF protocol assignments 192.0.0.0/24, 192.0.0.0,  192.0.0.255,     false",
            "IPv4 service continuity 192.0.0.0/29, 192.0.0.1,    192.0.0.7,       false",
            "IPv4 dummy address 192.0.0.8/32,    192.0.0.8,      192.0.0.8,       false",
            "PCP anycast 192.0.0.9/32,           192.0.0.9,      192.0.0.9,       true",
            "TURN anycast 192.0.0.10/32,         192.0.0.10,     192.0.0.10,      true",
            "NAT64/DNS64 discovery 192.0.0.170/31, 192.0.0.170,  192.0.0.171,     false",
            "documentation TEST-NET-1 192.0.2.0/24, 192.0.2.0,   192.0.2.255,     false",
            "AS112-v4 192.31.196.0/24,           192.31.196.0,   192.31.196.255,  true",
            "AMT 192.52.193.0/24,                192.52.193.0,   192.52.193.255,  true",
            "deprecated 6to4 relay anycast 192.88.99.0/24, 192.88.99.0, 192.88.99.255, false",
            "private 192.168.0.0/16,             192.168.0.0,    192.168.255.255, false",
            "AS112 direct delegation 192.175.48.0/24, 192.175.48.0, 192.175.48.255, true",
            "benchmarking 198.18.0.0/15,         198.18.0.0,     198.19.255.255,  false",
            "documentation TEST-NET-2 198.51.100.0/24, 198.51.100.0, 198.51.100.255, false",
            "documentation TEST-NET-3 203.0.113.0/24, 203.0.113.0, 203.0.113.255, false",
            "reserved 240.0.0.0/4,               240.0.0.0,      255.255.255.254, false",
            "limited broadcast 255.255.255.255/32, 255.255.255.255, 255.255.255.255, false",
            // IPv4 multicast address space
            "multicast 224.0.0.0/4,              224.0.0.0,      239.255.255.255, false",
            // ordinary IPv4 unicast around the ranges
            "public IPv4,                        8.8.8.8,        93.184.215.14,   true",
            "just outside 100.64.0.0/10,         100.63.255.255, 100.128.0.0,     true",
            "just outside 172.16.0.0/12,         172.15.255.255, 172.32.0.0,      true",
            "just outside 198.18.0.0/15,         198.17.255.255, 198.20.0.0,      true",
            "just outside 192.0.0.0/24,          191.255.255.255, 192.0.1.0,      true",

            // IPv6 Special-Purpose Address Registry
            "loopback ::1/128,                   ::1,            ::1,             false",
            "unspecified ::/128,                 ::,             ::,              false",
            "IPv4-mapped of a private address,   ::ffff:10.0.0.1, ::ffff:127.0.0.1, false",
            "IPv4-mapped of a public address,    ::ffff:8.8.8.8, ::ffff:93.184.215.14, true",
            "IPv4-compatible ::/96 (deprecated), ::127.0.0.1,    ::8.8.8.8,       false",
            "NAT64 64:ff9b::/96 of a private address, 64:ff9b::7f00:1, 64:ff9b::a00:1, false",
            "NAT64 64:ff9b::/96 of a special address, 64:ff9b::a9fe:a9fe, 64:ff9b::c000:201, false",
            "NAT64 64:ff9b::/96 of a public address, 64:ff9b::808:808, 64:ff9b::5db8:d70e, true",
            "local-use NAT64 64:ff9b:1::/48,     64:ff9b:1::,    64:ff9b:1:ffff:ffff:ffff:ffff:ffff, false",
            "local-use NAT64 of a public address, 64:ff9b:1::808:808, 64:ff9b:1:0:0:0:808:808, false",
            "discard-only 100::/64,              100::,          100::ffff:ffff:ffff:ffff, false",
            "dummy IPv6 prefix 100:0:0:1::/64,   100:0:0:1::,    100::1:ffff:ffff:ffff:ffff, false",
            "IETF protocol assignments 2001::/23, 2001:100::,    2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff, false",
            "PCP anycast 2001:1::1/128,          2001:1::1,      2001:1::1,       true",
            "TURN anycast 2001:1::2/128,         2001:1::2,      2001:1::2,       true",
            "DNS-SD SRP anycast 2001:1::3/128,   2001:1::3,      2001:1::3,       true",
            "benchmarking 2001:2::/48,           2001:2::,       2001:2:0:ffff:ffff:ffff:ffff:ffff, false",
            "AMT 2001:3::/32,                    2001:3::,       2001:3:ffff:ffff:ffff:ffff:ffff:ffff, true",
            "AS112-v6 2001:4:112::/48,           2001:4:112::,   2001:4:112:ffff:ffff:ffff:ffff:ffff, true",
            "deprecated ORCHID 2001:10::/28,     2001:10::,      2001:1f:ffff:ffff:ffff:ffff:ffff:ffff, false",
            "ORCHIDv2 2001:20::/28,              2001:20::,      2001:2f:ffff:ffff:ffff:ffff:ffff:ffff, true",
            "drone remote ID DET 2001:30::/28,   2001:30::,      2001:3f:ffff:ffff:ffff:ffff:ffff:ffff, true",
            "documentation 2001:db8::/32,        2001:db8::,     2001:db8:ffff:ffff:ffff:ffff:ffff:ffff, false",
            // Teredo 2001:0:SSSS:SSSS:flags:port:CCCC:CCCC, client address and port inverted
            "Teredo with a loopback client,      2001:0:4136:e378:8000:63bf:80ff:fffe, 2001:0:4136:e378:8000:63bf:80ff:fffe, false",
            "Teredo with a private client,       2001:0:4136:e378:8000:63bf:f5ff:fffe, 2001:0:4136:e378:8000:63bf:3f57:fefd, false",
            "Teredo with a private server,       2001:0:a00:1:8000:63bf:3f57:fefd, 2001:0:a00:1:8000:63bf:3f57:fefd, false",
            "Teredo with public server and client, 2001:0:4136:e378:8000:63bf:f7f7:f7f7, 2001:0:4136:e378:8000:63bf:a247:28f1, true",
            // 6to4 2002:AABB:CCDD::/48 carries AA.BB.CC.DD
            "6to4 of a loopback address,         2002:7f00:1::,  2002:7f00:1:ffff::1, false",
            "6to4 of a private address,          2002:a00:1::1,  2002:c0a8:101::1, false",
            "6to4 of a link-local address,       2002:a9fe:a9fe::1, 2002:a9fe:a9fe::1, false",
            "6to4 of a public address,           2002:808:808::1, 2002:5db8:d70e::1, true",
            "AS112 direct delegation 2620:4f:8000::/48, 2620:4f:8000::, 2620:4f:8000:ffff:ffff:ffff:ffff:ffff, true",
            "documentation 3fff::/20,            3fff::,         3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff, false",
            "SRv6 SIDs 5f00::/16,                5f00::,         5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff, false",
            "unique local fc00::/7,              fc00::,         fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, false",
            "link local fe80::/10,               fe80::,         febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff, false",
            "deprecated site local fec0::/10,    fec0::,         feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, false",
            // IPv6 multicast
            "multicast ff00::/8,                 ff00::,         ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, false",
            // ordinary IPv6 unicast around the ranges
            "public IPv6,                        2001:4860:4860::8888, 2606:4700:4700::1111, true",
            "just outside 2001::/23,             2001:200::,     2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff, true",
            "just outside 2001:db8::/32,         2001:db7:ffff:ffff:ffff:ffff:ffff:ffff, 2001:db9::, true",
            "just outside 64:ff9b::/96 and 64:ff9b:1::/48, 64:ff9b:2::, 64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff, true",
            "just outside fc00::/7,              fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, fe00::, true",
    })
    void classifiesTheRange(String range, String first, String last, boolean expected) throws Exception {
        assertEquals(expected, HostPolicy.isPublic(InetAddress.getByName(first)), range + ": " + first);
        assertEquals(expected, HostPolicy.isPublic(InetAddress.getByName(last)), range + ": " + last);
    }
}
