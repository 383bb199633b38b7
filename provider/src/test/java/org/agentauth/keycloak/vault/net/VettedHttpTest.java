package org.agentauth.keycloak.vault.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.agentauth.keycloak.vault.HostPolicy;
import org.agentauth.keycloak.vault.VaultSettings;
import org.agentauth.keycloak.vault.crypto.KeyRing;
import org.apache.http.client.methods.CloseableHttpResponse;
import org.apache.http.client.methods.HttpGet;
import org.apache.http.util.EntityUtils;
import org.junit.jupiter.api.Test;

/** The HTTP client connects only to the addresses the host policy vetted: no second DNS lookup (issue 21, finding 7). */
class VettedHttpTest {

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
    void theResolverHandsBackExactlyTheVettedAddresses() throws Exception {
        HostPolicy.Vetted v = HostPolicy.vet(allowing("localhost"), "http://localhost:8080/x");
        assertNull(v.refusal());
        assertEquals("localhost", v.host());
        assertArrayEquals(v.addresses(), VettedHttp.resolveWhilePinned(v, "localhost"));
        assertArrayEquals(v.addresses(), VettedHttp.resolveWhilePinned(v, "LocalHost"));
        assertThrows(UnknownHostException.class, () -> VettedHttp.resolveWhilePinned(v, "example.com"), "no other name");
        assertThrows(UnknownHostException.class, () -> VettedHttp.RESOLVER.resolve("localhost"), "nothing outside a vetted call");
        HostPolicy.Vetted literal = HostPolicy.vet(allowing("::1"), "http://[::1]:8080/x");
        assertNull(literal.refusal());
        assertArrayEquals(new InetAddress[] {InetAddress.getByName("::1")}, VettedHttp.resolveWhilePinned(literal, "[::1]"));
    }

    @Test
    void refusedAndUnresolvableUrlsAreNotVetted() {
        assertNotNull(HostPolicy.vet(allowing(), "https://127.0.0.1/").refusal());
        assertNotNull(HostPolicy.vet(allowing(), "https://[64:ff9b::7f00:1]/").refusal());
        assertNotNull(HostPolicy.vet(allowing("nowhere.invalid"), "http://nowhere.invalid/").refusal(), "an allow-listed name is called only once it resolves");
        // saving such a connector stays possible (the name may resolve later)
        assertNull(HostPolicy.refusal(allowing("nowhere.invalid"), "http://nowhere.invalid/", true));
    }

    @Test
    void theClientConnectsToTheVettedAddressNotToWhatTheNameResolvesToNow() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            byte[] b = ("host " + ex.getRequestHeaders().getFirst("Host")).getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.start();
        try {
            int port = server.getAddress().getPort();
            // a name that does not resolve at all: only the vetted address can be used, and is
            HostPolicy.Vetted vetted = new HostPolicy.Vetted(null, "rebinding.invalid", new InetAddress[] {InetAddress.getLoopbackAddress()});
            HttpGet get = new HttpGet("http://rebinding.invalid:" + port + "/x");
            try (CloseableHttpResponse r = VettedHttp.execute(vetted, get)) {
                assertEquals(200, r.getStatusLine().getStatusCode());
                assertEquals("host rebinding.invalid:" + port, EntityUtils.toString(r.getEntity()));
            }
            // another host than the vetted one is never called
            assertThrows(IllegalArgumentException.class, () -> VettedHttp.execute(vetted, new HttpGet("http://localhost:" + port + "/x")));
            assertThrows(IllegalArgumentException.class,
                    () -> VettedHttp.execute(HostPolicy.vet(allowing(), "https://10.0.0.1/"), new HttpGet("https://10.0.0.1/")));
        } finally {
            server.stop(0);
        }
    }
}
