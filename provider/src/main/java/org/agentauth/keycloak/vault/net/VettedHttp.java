package org.agentauth.keycloak.vault.net;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.agentauth.keycloak.vault.HostPolicy;
import org.apache.http.client.methods.CloseableHttpResponse;
import org.apache.http.client.methods.HttpRequestBase;
import org.apache.http.config.RegistryBuilder;
import org.apache.http.conn.DnsResolver;
import org.apache.http.conn.socket.ConnectionSocketFactory;
import org.apache.http.conn.socket.PlainConnectionSocketFactory;
import org.apache.http.conn.ssl.SSLConnectionSocketFactory;
import org.apache.http.impl.client.CloseableHttpClient;
import org.apache.http.impl.client.HttpClients;
import org.apache.http.impl.conn.PoolingHttpClientConnectionManager;

/**
 * The HTTP client of every call to a connector's URLs (token, revocation, userinfo, API, discovery). It connects only to
 * the addresses the host policy vetted for the request ({@link HostPolicy#vet}): its {@link DnsResolver} hands back
 * exactly those and knows no other name, so the name is resolved once, for the check, and a DNS answer that changes
 * between the check and the connection (DNS rebinding) is never used. Keycloak's shared {@code HttpClientProvider}
 * client cannot take a resolver, hence a client of our own: Apache HttpClient 4 as Keycloak's, TLS with the JVM's
 * default trust (which Keycloak's truststore options configure), no cookies, no redirects, no automatic retries;
 * timeouts are set per request by the callers.
 */
public final class VettedHttp {

    /** The vetted addresses of the request being executed on this thread, by host. */
    private static final ThreadLocal<Map<String, InetAddress[]>> PINNED = new ThreadLocal<>();

    /** Hands back the vetted addresses of the host, and nothing for a host that was not vetted. */
    static final DnsResolver RESOLVER = host -> {
        Map<String, InetAddress[]> pinned = PINNED.get();
        InetAddress[] a = pinned == null ? null : pinned.get(HostPolicy.normalizeHost(host));
        if (a == null || a.length == 0) {
            throw new UnknownHostException(host + ": not vetted by the connector host policy");
        }
        return a.clone();
    };

    private static volatile CloseableHttpClient client;

    private VettedHttp() {
    }

    /**
     * Executes the request to the addresses in {@code vetted} (which must be the policy's answer for this request's
     * URL, not refused). The caller closes the response.
     */
    public static CloseableHttpResponse execute(HostPolicy.Vetted vetted, HttpRequestBase request) throws IOException {
        if (vetted.refusal() != null || vetted.addresses() == null) {
            throw new IllegalArgumentException("the request's host was refused by the host policy");
        }
        String host = HostPolicy.normalizeHost(request.getURI().getHost());
        if (!host.equals(vetted.host())) {
            throw new IllegalArgumentException("the request's host is not the vetted one");
        }
        Map<String, InetAddress[]> before = PINNED.get();
        PINNED.set(Map.of(host, vetted.addresses()));
        try {
            return client().execute(request);
        } finally {
            if (before == null) {
                PINNED.remove();
            } else {
                PINNED.set(before);
            }
        }
    }

    /** For tests: what the resolver answers for {@code host} while {@code vetted} is pinned. */
    static InetAddress[] resolveWhilePinned(HostPolicy.Vetted vetted, String host) throws UnknownHostException {
        PINNED.set(Map.of(vetted.host(), vetted.addresses()));
        try {
            return RESOLVER.resolve(host);
        } finally {
            PINNED.remove();
        }
    }

    private static CloseableHttpClient client() {
        CloseableHttpClient c = client;
        if (c == null) {
            synchronized (VettedHttp.class) {
                c = client;
                if (c == null) {
                    PoolingHttpClientConnectionManager pool = new PoolingHttpClientConnectionManager(
                            RegistryBuilder.<ConnectionSocketFactory>create()
                                    .register("http", PlainConnectionSocketFactory.getSocketFactory())
                                    .register("https", SSLConnectionSocketFactory.getSystemSocketFactory())
                                    .build(),
                            null, null, RESOLVER, 60, TimeUnit.SECONDS);
                    pool.setMaxTotal(128);
                    pool.setDefaultMaxPerRoute(64);
                    pool.setValidateAfterInactivity(2000);
                    c = HttpClients.custom().setConnectionManager(pool).disableCookieManagement().disableRedirectHandling()
                            .disableAutomaticRetries().disableAuthCaching().build();
                    client = c;
                }
            }
        }
        return c;
    }
}
