package org.agentauth.keycloak.it.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A small HTTP client for tests: no redirects followed, cookies kept per instance (one instance = one browser).
 * Cookies are kept by a jar of our own: Keycloak marks its cookies {@code Secure} even on http://localhost (browsers
 * treat localhost as a secure context), which {@link java.net.CookieManager} would never send back over http.
 */
public final class Http {

    public static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient client;

    public Http() {
        this(HttpClient.Version.HTTP_2);
    }

    /** With {@code HTTP_1_1}: no h2c upgrade attempt, plain keep-alive connections (the benchmark's load driver). */
    public Http(HttpClient.Version version) {
        this.client = HttpClient.newBuilder()
                .version(version)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    /** A response: status, headers and body text. */
    public record Response(int status, Map<String, List<String>> headers, String body) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("Not JSON (HTTP " + status + "): " + body, e);
            }
        }

        public String header(String name) {
            return headers.entrySet().stream()
                    .filter(e -> e.getKey().equalsIgnoreCase(name))
                    .flatMap(e -> e.getValue().stream())
                    .findFirst().orElse(null);
        }

        public String location() {
            return header("Location");
        }

        @Override
        public String toString() {
            return "HTTP " + status + " " + body;
        }
    }

    public Response get(String url) {
        return send(HttpRequest.newBuilder(URI.create(url)).GET());
    }

    public Response get(String url, String bearer) {
        return send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + bearer).GET());
    }

    public Response delete(String url, String bearer) {
        return send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + bearer).DELETE());
    }

    /** POSTs a form; each pair is a name and a value, a name may repeat. */
    public Response postForm(String url, List<Map.Entry<String, String>> form) {
        return postForm(url, form, null);
    }

    public Response postForm(String url, List<Map.Entry<String, String>> form, String basicAuth) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(encode(form)));
        if (basicAuth != null) {
            b.header("Authorization", "Basic " + basicAuth);
        }
        return send(b);
    }

    public Response putJson(String url, String bearer, Object body) {
        return send(HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + bearer)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(toJson(body))));
    }

    public Response postJson(String url, String bearer, Object body) {
        return send(HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + bearer)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(toJson(body))));
    }

    public Response send(HttpRequest.Builder b) {
        try {
            HttpRequest request = b.timeout(Duration.ofSeconds(30)).build();
            String cookieHeader = cookieHeader(request.uri());
            if (!cookieHeader.isEmpty()) {
                request = HttpRequest.newBuilder(request, (n, v) -> true).header("Cookie", cookieHeader).build();
            }
            HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            r.headers().allValues("Set-Cookie").forEach(this::storeCookie);
            return new Response(r.statusCode(), r.headers().map(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private final Map<String, String[]> cookies = new java.util.concurrent.ConcurrentHashMap<>();

    /** Stores one Set-Cookie header: name, value and path only; an expired or empty cookie is removed. */
    private void storeCookie(String setCookie) {
        String[] parts = setCookie.split(";");
        int eq = parts[0].indexOf('=');
        if (eq <= 0) {
            return;
        }
        String name = parts[0].substring(0, eq).trim();
        String value = parts[0].substring(eq + 1).trim();
        String path = "/";
        boolean expired = value.isEmpty();
        for (int i = 1; i < parts.length; i++) {
            String attr = parts[i].trim().toLowerCase(java.util.Locale.ROOT);
            if (attr.startsWith("path=")) {
                path = parts[i].trim().substring(5);
            } else if (attr.equals("max-age=0") || attr.startsWith("expires=thu, 01 jan 1970") || attr.startsWith("expires=thu, 01-jan-1970")) {
                expired = true;
            }
        }
        String key = name + "\u0000" + path;
        if (expired) {
            cookies.remove(key);
        } else {
            cookies.put(key, new String[] {name, value, path});
        }
    }

    /** The Cookie header this client would send to {@code url} (for tests that send raw requests in its session). */
    public String cookieHeaderFor(String url) {
        return cookieHeader(URI.create(url));
    }

    private String cookieHeader(URI uri) {
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        return cookies.values().stream()
                .filter(c -> path.startsWith(c[2]) || (c[2].endsWith("/") && (path + "/").equals(c[2])))
                .map(c -> c[0] + "=" + c[1])
                .collect(Collectors.joining("; "));
    }

    public static String basic(String user, String secret) {
        return Base64.getEncoder().encodeToString((urlEncode(user) + ":" + urlEncode(secret)).getBytes(StandardCharsets.UTF_8));
    }

    public static String encode(List<Map.Entry<String, String>> form) {
        return form.stream().map(e -> urlEncode(e.getKey()) + "=" + urlEncode(e.getValue())).collect(Collectors.joining("&"));
    }

    public static String urlEncode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String toJson(Object o) {
        try {
            return o instanceof String s ? s : JSON.writeValueAsString(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
