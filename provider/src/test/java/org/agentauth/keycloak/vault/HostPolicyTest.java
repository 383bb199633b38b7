package org.agentauth.keycloak.vault;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.Set;
import org.agentauth.keycloak.vault.crypto.KeyRing;
import org.junit.jupiter.api.Test;

class HostPolicyTest {

    private static VaultSettings allowing(String... hosts) {
        Set<String> allowed = Set.of(hosts);
        return new VaultSettings() {
            @Override
            public KeyRing keys() {
                return KeyRing.none();
            }

            @Override
            public boolean hostAllowListed(String host) {
                return allowed.contains(host);
            }
        };
    }

    @Test
    void publicHttpsOnlyUnlessAllowListed() {
        VaultSettings none = allowing();
        assertNull(HostPolicy.refusal(none, "https://93.184.215.14/x", true));
        assertNotNull(HostPolicy.refusal(none, "http://93.184.215.14/x", true), "plain http");
        for (String bad : new String[] {"https://127.0.0.1/", "https://10.1.2.3/", "https://192.168.0.1/", "https://169.254.169.254/latest",
                "https://[::1]/", "https://[fd00::1]/", "https://100.64.0.1/", "https://0.0.0.0/", "https://localhost/",
                "https://metadata.internal/", "https://[::ffff:127.0.0.1]/"}) {
            assertNotNull(HostPolicy.refusal(none, bad, true), bad);
        }
        for (String bad : new String[] {"ftp://example.com/", "https:///nohost", "https://user:pw@example.com/", "https://example.com/#f", "not a url"}) {
            assertNotNull(HostPolicy.refusal(none, bad, false), bad);
        }
        VaultSettings local = allowing("localhost");
        assertNull(HostPolicy.refusal(local, "http://localhost:8080/realms/x", true));
        assertNotNull(HostPolicy.refusal(local, "http://127.0.0.1:8080/", true), "only the named host");
    }

    @Test
    void classifiesAddresses() throws Exception {
        assertTrue(HostPolicy.isPublic(InetAddress.getByName("8.8.8.8")));
        assertTrue(HostPolicy.isPublic(InetAddress.getByName("2001:4860:4860::8888")));
        assertFalse(HostPolicy.isPublic(InetAddress.getByName("172.16.0.1")));
        assertFalse(HostPolicy.isPublic(InetAddress.getByName("198.18.0.1")));
        assertFalse(HostPolicy.isPublic(InetAddress.getByName("224.0.0.1")));
        assertFalse(HostPolicy.isPublic(InetAddress.getByName("fe80::1")));
    }
}
