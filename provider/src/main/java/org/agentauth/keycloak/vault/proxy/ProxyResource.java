package org.agentauth.keycloak.vault.proxy;

import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HEAD;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.HostPolicy;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.VaultSettings;
import org.agentauth.keycloak.vault.net.VettedHttp;
import org.agentauth.keycloak.vault.upstream.ConnectionTokens;
import org.agentauth.keycloak.vault.upstream.ConnectionUnusable;
import org.apache.http.Header;
import org.apache.http.HttpEntity;
import org.apache.http.client.config.RequestConfig;
import org.apache.http.client.methods.CloseableHttpResponse;
import org.apache.http.client.methods.HttpEntityEnclosingRequestBase;
import org.apache.http.client.methods.HttpRequestBase;
import org.apache.http.entity.InputStreamEntity;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;

/**
 * {@code ANY /realms/{realm}/agent-auth/connectors/{alias}/proxy/{path}} (DESIGN section 5): an agent acting for a user
 * calls the user's upstream account through us, with the user's upstream token, which the agent never sees. The bearer
 * must be a delegated token ({@code act}) issued for this connector's resource URI, whose grant chain is still consented
 * and whose agent's policy and grant include the connector. The request goes to the connector's API base URL + the raw
 * path ({@link ProxyRules}), with allow-listed headers only, no redirects followed, the connector's timeout and size
 * limit; the answer comes back without Set-Cookie. Every call is an event ({@code IDENTITY_PROVIDER_RETRIEVE_TOKEN},
 * operation {@code proxy}) naming user, agent, chain, connector, connection, method and upstream status; never a token.
 */
public class ProxyResource {

    /** Request bodies larger than this are refused (413). */
    static final int MAX_REQUEST_BYTES = 10 * 1024 * 1024;
    /**
     * Upstream answers up to this size (or the connector's limit, if smaller) are read whole before answering; larger
     * ones are streamed in small buffers. Neither the request body nor a large answer is ever held whole, so memory per
     * call stays within a few tens of KiB whatever the sizes and the number of parallel calls.
     */
    static final int BUFFERED_RESPONSE_BYTES = 64 * 1024;
    static final String CONNECTION_HEADER = "X-Connection-Id";

    private final KeycloakSession session;
    private final RealmModel realm;
    private final String alias;
    private final String rawPath;

    public ProxyResource(KeycloakSession session, String alias) {
        this.session = session;
        this.realm = session.getContext().getRealm();
        this.alias = alias;
        String full = session.getContext().getUri().getRequestUri().getRawPath();
        String marker = "/agent-auth/connectors/" + alias + "/proxy";
        int at = full.indexOf(marker);
        this.rawPath = at < 0 ? null : full.substring(at + marker.length());
    }

    @GET
    public Response get() {
        return handle("GET", null);
    }

    @HEAD
    public Response head() {
        return handle("HEAD", null);
    }

    @DELETE
    public Response delete(InputStream body) {
        return handle("DELETE", body);
    }

    @POST
    public Response post(InputStream body) {
        return handle("POST", body);
    }

    @PUT
    public Response put(InputStream body) {
        return handle("PUT", body);
    }

    @PATCH
    public Response patch(InputStream body) {
        return handle("PATCH", body);
    }

    private Response handle(String method, InputStream body) {
        EventBuilder event = new EventBuilder(realm, session, session.getContext().getConnection())
                .event(EventType.IDENTITY_PROVIDER_RETRIEVE_TOKEN)
                .detail(AgentAuthEvents.OPERATION, "proxy")
                .detail(AgentAuthEvents.CONNECTOR, alias)
                .detail("method", method);
        Connector connector = Connector.byAlias(realm, alias).filter(Connector::enabled).orElse(null);
        if (connector == null) {
            return error(event, Response.Status.NOT_FOUND, "not_found", "There is no connector " + alias, Errors.INVALID_REQUEST, null);
        }
        // who calls: a delegated token for this connector; which account
        BrokeredAccess.Caller caller;
        UpstreamConnection connection;
        try {
            BrokeredAccess.Reach reach = BrokeredAccess.ofRequest(session, realm, connector, event);
            caller = reach.caller();
            connection = reach.connection();
        } catch (BrokeredAccess.Refusal r) {
            return refused(event, r);
        }
        HttpHeaders headers = session.getContext().getRequestHeaders();
        String rawQuery = session.getContext().getUri().getRequestUri().getRawQuery();

        // where to: refused before anything is sent upstream
        URI target;
        try {
            target = ProxyRules.upstream(connector.apiBaseUrl(), rawPath, rawQuery);
        } catch (ProxyRules.Refused e) {
            return error(event, Response.Status.BAD_REQUEST, "invalid_request", e.getMessage(), Errors.INVALID_REQUEST, null);
        }
        if (headers.getHeaderString("Upgrade") != null) {
            return error(event, Response.Status.BAD_REQUEST, "invalid_request", "Upgrade is not supported by the proxy", Errors.INVALID_REQUEST, null);
        }
        HostPolicy.Vetted vetted = HostPolicy.vet(session.getProvider(VaultSettings.class), target.toString());
        if (vetted.refusal() != null) {
            return error(event, Response.Status.BAD_GATEWAY, "upstream_refused", "The connector's API " + vetted.refusal(), Errors.INVALID_CONFIG, null);
        }
        // the request body is streamed to the upstream, never held whole: refused early when it announces too much
        long announced = contentLength(headers);
        if (announced > MAX_REQUEST_BYTES) {
            return tooLarge(event);
        }
        boolean hasBody = body != null && (announced > 0 || headers.getHeaderString("Transfer-Encoding") != null);

        // the user's upstream token (refreshed when due), then the call
        String access;
        try {
            access = ConnectionTokens.tokens(session, realm, connector, connection).accessToken();
        } catch (ConnectionUnusable e) {
            return switch (e.reason()) {
                case RECONNECT -> refused(event, BrokeredAccess.connectionRequired(session, realm, connector, caller,
                        "The linked account must be connected again: " + e.getMessage()));
                case VAULT_LOCKED -> error(event, Response.Status.SERVICE_UNAVAILABLE, "temporarily_unavailable",
                        "The vault cannot read this connection's tokens", Errors.INVALID_CONFIG, null);
                default -> error(event, Response.Status.BAD_GATEWAY, "upstream_unavailable", e.getMessage(), Errors.IDENTITY_PROVIDER_ERROR, null);
            };
        }
        return forward(event, connector, connection, method, vetted, target, hasBody ? new Bounded(body, MAX_REQUEST_BYTES) : null,
                announced, headers, access);
    }

    /** The request's Content-Length, -1 when it has none (or a malformed one, which the server refuses before us). */
    private static long contentLength(HttpHeaders headers) {
        String v = headers.getHeaderString(HttpHeaders.CONTENT_LENGTH);
        try {
            return v == null ? -1 : Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Response tooLarge(EventBuilder event) {
        return error(event, Response.Status.REQUEST_ENTITY_TOO_LARGE, "invalid_request", "The request body is larger than "
                + MAX_REQUEST_BYTES + " bytes", Errors.INVALID_REQUEST, null);
    }

    private Response forward(EventBuilder event, Connector connector, UpstreamConnection connection, String method,
            HostPolicy.Vetted vetted, URI target, Bounded requestBody, long announced, HttpHeaders headers, String access) {
        HttpRequestBase request = new HttpEntityEnclosingRequestBase() {
            @Override
            public String getMethod() {
                return method;
            }
        };
        request.setURI(target);
        for (Map.Entry<String, List<String>> h : headers.getRequestHeaders().entrySet()) {
            if (ProxyRules.forwardsRequestHeader(h.getKey()) && !HttpHeaders.CONTENT_LENGTH.equalsIgnoreCase(h.getKey())) {
                for (String v : h.getValue()) {
                    request.addHeader(h.getKey(), v);
                }
            }
        }
        request.setHeader("Authorization", "Bearer " + access);
        if (requestBody != null && request instanceof HttpEntityEnclosingRequestBase withBody) {
            withBody.setEntity(new InputStreamEntity(requestBody, announced));
        }
        int t = connector.timeoutMillis();
        request.setConfig(RequestConfig.custom().setConnectTimeout(t).setSocketTimeout(t).setConnectionRequestTimeout(t)
                .setRedirectsEnabled(false).build());
        CloseableHttpResponse r = null;
        boolean streaming = false;
        try {
            r = VettedHttp.execute(vetted, request);
            int status = r.getStatusLine().getStatusCode();
            HttpEntity entity = r.getEntity();
            long max = connector.maxResponseBytes();
            Response.ResponseBuilder out = Response.status(status);
            if (entity != null && !"HEAD".equals(method)) {
                if (entity.getContentLength() > max) {
                    return error(event, Response.Status.BAD_GATEWAY, "upstream_response_too_large", "The upstream answer is larger than "
                            + max + " bytes", Errors.IDENTITY_PROVIDER_ERROR, status);
                }
                // a small answer is read whole (so that one over the limit is still a clean 502); a larger one is streamed
                InputStream in = entity.getContent();
                int window = (int) Math.min(max, BUFFERED_RESPONSE_BYTES);
                byte[] head = in.readNBytes(window + 1);
                if (head.length > max) {
                    return error(event, Response.Status.BAD_GATEWAY, "upstream_response_too_large", "The upstream answer is larger than "
                            + max + " bytes", Errors.IDENTITY_PROVIDER_ERROR, status);
                }
                if (head.length <= window) {
                    out.entity(head.length == 0 ? null : head);
                } else {
                    CloseableHttpResponse upstream = r;
                    out.entity((StreamingOutput) sink -> stream(upstream, head, in, max, sink));
                    streaming = true;
                }
            }
            for (Header h : r.getAllHeaders()) {
                if (ProxyRules.passesResponseHeader(h.getName())) {
                    out.header(h.getName(), h.getValue());
                }
            }
            session.getProvider(UpstreamConnectionProvider.class).touch(connection);
            event.detail("upstream_status", String.valueOf(status)).success();
            return out.header("X-Content-Type-Options", "nosniff").header(CONNECTION_HEADER, connection.id())
                    .header("Cache-Control", r.getFirstHeader("Cache-Control") == null ? "no-store" : r.getFirstHeader("Cache-Control").getValue())
                    .build();
        } catch (SocketTimeoutException e) {
            return error(event, Response.Status.GATEWAY_TIMEOUT, "upstream_timeout", "The upstream did not answer within " + t + " ms",
                    Errors.IDENTITY_PROVIDER_ERROR, null);
        } catch (IOException e) {
            if (requestBody != null && requestBody.exceeded()) {
                return tooLarge(event);
            }
            return error(event, Response.Status.BAD_GATEWAY, "upstream_unreachable", "The upstream could not be reached ("
                    + e.getClass().getSimpleName() + ")", Errors.IDENTITY_PROVIDER_ERROR, null);
        } finally {
            if (r != null && !streaming) {
                closeQuietly(r);
            }
        }
    }

    /**
     * Writes a streamed answer: the bytes already read, then the rest as it comes, in small buffers. An answer that
     * grows past the connector's limit (it announced no length) is cut off: the client sees a broken answer, never more
     * than the limit.
     */
    private static void stream(CloseableHttpResponse upstream, byte[] head, InputStream in, long max, OutputStream sink) throws IOException {
        try (upstream; in) {
            sink.write(head);
            long total = head.length;
            byte[] buf = new byte[16 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                total += n;
                if (total > max) {
                    throw new IOException("the upstream answer grew past " + max + " bytes; cut off");
                }
                sink.write(buf, 0, n);
            }
        }
    }

    private static void closeQuietly(CloseableHttpResponse r) {
        try {
            r.close();
        } catch (IOException ignored) {
            // the connection is discarded
        }
    }

    /** The agent's request body as it arrives, refusing to deliver more than {@code max} bytes. */
    static final class Bounded extends FilterInputStream {
        private final long max;
        private long count;
        private volatile boolean exceeded;

        Bounded(InputStream in, long max) {
            super(in);
            this.max = max;
        }

        boolean exceeded() {
            return exceeded;
        }

        private int counted(int n) throws IOException {
            if (n > 0) {
                count += n;
                if (count > max) {
                    exceeded = true;
                    throw new IOException("the request body is larger than " + max + " bytes");
                }
            }
            return n;
        }

        @Override
        public int read() throws IOException {
            int c = super.read();
            if (c >= 0) {
                counted(1);
            }
            return c;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return counted(super.read(b, off, len));
        }

        @Override
        public long skip(long n) throws IOException {
            throw new IOException("skip is not supported");
        }
    }

    static Response refused(EventBuilder event, BrokeredAccess.Refusal r) {
        if (r.connectUri == null) {
            return error(event, r.status, r.error, r.getMessage(), r.eventError, null);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", r.error);
        body.put("error_description", r.getMessage());
        body.put("connect_uri", r.connectUri);
        event.detail(Details.REASON, r.getMessage()).error(r.eventError);
        return Response.status(r.status).type(MediaType.APPLICATION_JSON).entity(body).header("Cache-Control", "no-store").build();
    }

    static Response error(EventBuilder event, Response.Status status, String error, String description, String eventError,
            Integer upstreamStatus) {
        if (upstreamStatus != null) {
            event.detail("upstream_status", String.valueOf(upstreamStatus));
        }
        event.detail(Details.REASON, description).error(eventError);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", error);
        body.put("error_description", description);
        Response.ResponseBuilder r = Response.status(status).type(MediaType.APPLICATION_JSON).entity(body).header("Cache-Control", "no-store");
        if (status == Response.Status.UNAUTHORIZED) {
            r.header("WWW-Authenticate", "Bearer error=\"" + error + "\"");
        }
        return r.build();
    }
}
