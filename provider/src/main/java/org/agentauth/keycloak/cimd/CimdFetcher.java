package org.agentauth.keycloak.cimd;

import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.agentauth.keycloak.vault.HostPolicy;
import org.agentauth.keycloak.vault.net.VettedHttp;
import org.apache.http.Header;
import org.apache.http.HttpEntity;
import org.apache.http.client.config.RequestConfig;
import org.apache.http.client.methods.CloseableHttpResponse;
import org.apache.http.client.methods.HttpGet;
import org.apache.http.conn.ConnectTimeoutException;

/**
 * Fetches a client ID metadata document (DESIGN section 11): only from addresses the vault's host policy vetted (public,
 * unless the server allow-lists the host), connecting to exactly those ({@link VettedHttp}: no second DNS lookup); no
 * redirects; 2 s to connect, 5 s in all (a read timeout of 5 s, the body's reads checked against the 5 s deadline, and
 * the request aborted at the deadline, which on a TLS socket takes effect at the next read timeout at the latest); at
 * most {@link #MAX_BYTES} bytes; HTTP 200 with a JSON media type only. The
 * outcome names what happened ({@link Result#outcome}) for the event, never with the body in it.
 */
public final class CimdFetcher {

    public static final int MAX_BYTES = 5 * 1024;
    static final int CONNECT_MILLIS = 2000;
    static final int TOTAL_MILLIS = 5000;

    private static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-auth-cimd-deadline");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param outcome {@code ok}, {@code address_refused}, {@code http_<status>}, {@code not_json}, {@code too_large},
     *        {@code timeout} or {@code io_error}
     * @param maxAgeSeconds what the answer's Cache-Control allows (-1: no limit stated, 0: do not keep)
     */
    public record Result(String outcome, String description, byte[] body, long maxAgeSeconds) {
        boolean ok() {
            return "ok".equals(outcome);
        }

        static Result failed(String outcome, String description) {
            return new Result(outcome, description, null, 0);
        }
    }

    private CimdFetcher() {
    }

    public static Result fetch(CimdServerSettings server, String url) {
        HostPolicy.Vetted vetted = HostPolicy.vet(server::hostAllowListed, url);
        if (vetted.refusal() != null) {
            return Result.failed("address_refused", "the host of the document " + vetted.refusal());
        }
        HttpGet get = new HttpGet(url);
        get.setConfig(RequestConfig.custom().setConnectTimeout(CONNECT_MILLIS).setConnectionRequestTimeout(CONNECT_MILLIS)
                .setSocketTimeout(TOTAL_MILLIS).setRedirectsEnabled(false).build());
        get.setHeader("Accept", "application/json");
        long started = System.nanoTime();
        ScheduledFuture<?> deadline = DEADLINES.schedule(get::abort, TOTAL_MILLIS, TimeUnit.MILLISECONDS);
        try (CloseableHttpResponse response = VettedHttp.execute(vetted, get)) {
            int status = response.getStatusLine().getStatusCode();
            if (status != 200) {
                return Result.failed("http_" + status, "fetching the document answered HTTP " + status
                        + (status >= 300 && status < 400 ? " (redirects are not followed)" : ""));
            }
            HttpEntity entity = response.getEntity();
            Header type = response.getFirstHeader("Content-Type");
            if (!isJson(type == null ? null : type.getValue())) {
                return Result.failed("not_json", "the document is not served as JSON (Content-Type application/json)");
            }
            if (entity == null) {
                return Result.failed("not_json", "the document is empty");
            }
            if (entity.getContentLength() > MAX_BYTES) {
                return Result.failed("too_large", "the document is larger than " + MAX_BYTES + " bytes");
            }
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            try (InputStream in = entity.getContent()) {
                byte[] chunk = new byte[1024];
                int n;
                while ((n = in.read(chunk)) >= 0) {
                    out.write(chunk, 0, n);
                    if (out.size() > MAX_BYTES) {
                        return Result.failed("too_large", "the document is larger than " + MAX_BYTES + " bytes");
                    }
                    if (System.nanoTime() - started > TOTAL_MILLIS * 1_000_000L) {
                        // a server that drips its answer: each read is bounded by the socket timeout, the whole by this
                        return Result.failed("timeout", "fetching the document timed out (" + TOTAL_MILLIS / 1000 + " s in all)");
                    }
                }
            }
            byte[] body = out.toByteArray();
            Header cc = response.getFirstHeader("Cache-Control");
            return new Result("ok", null, body, maxAge(cc == null ? null : cc.getValue()));
        } catch (ConnectTimeoutException | SocketTimeoutException e) {
            return Result.failed("timeout", "fetching the document timed out");
        } catch (IOException e) {
            return get.isAborted() ? Result.failed("timeout", "fetching the document timed out (" + TOTAL_MILLIS / 1000 + " s in all)")
                    : Result.failed("io_error", "the document could not be fetched (connection or TLS failure)");
        } finally {
            deadline.cancel(false);
        }
    }

    /** Whether a Content-Type value is JSON ({@code application/json} or {@code application/*+json}). */
    static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        String mime = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        return mime.equals("application/json") || mime.startsWith("application/") && mime.endsWith("+json");
    }

    /** The seconds a Cache-Control value lets us keep the answer: 0 for no-store/no-cache, max-age where given, else -1. */
    static long maxAge(String cacheControl) {
        if (cacheControl == null) {
            return -1;
        }
        long age = -1;
        for (String part : cacheControl.toLowerCase(Locale.ROOT).split(",")) {
            String p = part.trim();
            if (p.equals("no-store") || p.equals("no-cache")) {
                return 0;
            }
            if (p.startsWith("max-age=")) {
                try {
                    age = Math.max(0, Long.parseLong(p.substring(8).replace("\"", "").trim()));
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
        }
        return age;
    }
}
