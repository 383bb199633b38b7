package org.agentauth.keycloak.it.support;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** OAuth/OIDC steps against the server under test, done the way a browser and a client would, without a browser. */
public final class Oidc {

    public static final String DEMO = "agents-demo";

    private final KeycloakServer server;

    public Oidc(KeycloakServer server) {
        this.server = server;
    }

    public String tokenEndpoint(String realm) {
        return server.realmUrl(realm) + "/protocol/openid-connect/token";
    }

    public String authEndpoint(String realm) {
        return server.realmUrl(realm) + "/protocol/openid-connect/auth";
    }

    /** An access token of the master realm's admin, for the admin REST API. */
    public String adminToken() {
        Http.Response r = new Http().postForm(tokenEndpoint("master"), List.of(
                Map.entry("grant_type", "password"),
                Map.entry("client_id", "admin-cli"),
                Map.entry("username", KeycloakServer.ADMIN_USER),
                Map.entry("password", KeycloakServer.ADMIN_PASSWORD)));
        if (r.status() != 200) {
            throw new AssertionError("admin login failed: " + r);
        }
        return r.json().get("access_token").asText();
    }

    public Http.Response clientCredentials(String realm, String clientId, String secret) {
        return new Http().postForm(tokenEndpoint(realm), List.of(Map.entry("grant_type", "client_credentials")),
                Http.basic(clientId, secret));
    }

    /** PKCE verifier and its S256 challenge. */
    public record Pkce(String verifier, String challenge) {
        public static Pkce create() {
            byte[] b = new byte[32];
            new SecureRandom().nextBytes(b);
            String verifier = Base64.getUrlEncoder().withoutPadding().encodeToString(b);
            try {
                byte[] digest = MessageDigest.getInstance("SHA-256").digest(verifier.getBytes(StandardCharsets.US_ASCII));
                return new Pkce(verifier, Base64.getUrlEncoder().withoutPadding().encodeToString(digest));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Builds an authorization URL from ordered parameters. */
    public String authUrl(String realm, List<Map.Entry<String, String>> params) {
        return authEndpoint(realm) + "?" + Http.encode(params);
    }

    /**
     * Opens {@code authUrl} in {@code browser}; if a login form comes, fills it in. Returns the first response that is
     * not the login form (a redirect to the client, or another page such as a consent screen).
     */
    public Http.Response openAndLogin(Http browser, String authUrl, String username, String password) {
        Http.Response r = browser.get(authUrl);
        if (r.status() == 200 && r.body().contains("id=\"kc-form-login\"")) {
            String action = formAction(r.body(), "kc-form-login");
            r = browser.postForm(action, List.of(
                    Map.entry("username", username),
                    Map.entry("password", password),
                    Map.entry("credentialId", "")));
        }
        return r;
    }

    /** The action URL of the form with the given id, HTML entities decoded. */
    public static String formAction(String html, String formId) {
        Matcher m = Pattern.compile("<form[^>]*id=\"" + Pattern.quote(formId) + "\"[^>]*>", Pattern.DOTALL).matcher(html);
        if (!m.find()) {
            throw new AssertionError("no form " + formId + " in page:\n" + html);
        }
        Matcher a = Pattern.compile("action=\"([^\"]+)\"").matcher(m.group());
        if (!a.find()) {
            throw new AssertionError("form " + formId + " has no action");
        }
        return unescapeHtml(a.group(1));
    }

    public static String unescapeHtml(String s) {
        return s.replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">");
    }

    /** Query (or fragment) parameters of a redirect location. */
    public static Map<String, String> params(String location) {
        URI uri = URI.create(location);
        String q = uri.getRawQuery() != null ? uri.getRawQuery() : uri.getRawFragment();
        Map<String, String> out = new LinkedHashMap<>();
        if (q == null) {
            return out;
        }
        for (String pair : q.split("&")) {
            int i = pair.indexOf('=');
            String k = URLDecoder.decode(i < 0 ? pair : pair.substring(0, i), StandardCharsets.UTF_8);
            String v = i < 0 ? "" : URLDecoder.decode(pair.substring(i + 1), StandardCharsets.UTF_8);
            out.put(k, v);
        }
        return out;
    }

    /** The payload of a JWT, parsed (no signature check: the server under test issued it). */
    public static JsonNode claims(String jwt) {
        String[] parts = jwt.split("\\.");
        if (parts.length < 2) {
            throw new AssertionError("not a JWT: " + jwt.length() + " chars");
        }
        try {
            return Http.JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The protected header of a JWT, parsed. */
    public static JsonNode header(String jwt) {
        try {
            return Http.JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[0]));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A token's {@code aud} claim as a set (absent: empty; one string or a list). */
    public static java.util.Set<String> audience(JsonNode claims) {
        java.util.Set<String> out = new java.util.TreeSet<>();
        JsonNode a = claims.get("aud");
        if (a != null && a.isArray()) {
            a.forEach(x -> out.add(x.asText()));
        } else if (a != null && !a.isNull()) {
            out.add(a.asText());
        }
        return out;
    }

    /** Small builder for ordered, repeatable form parameters. */
    public static final class Form {
        private final List<Map.Entry<String, String>> entries = new ArrayList<>();

        public static Form of(String... kv) {
            Form f = new Form();
            for (int i = 0; i < kv.length; i += 2) {
                f.add(kv[i], kv[i + 1]);
            }
            return f;
        }

        public Form add(String k, String v) {
            entries.add(Map.entry(k, v));
            return this;
        }

        public List<Map.Entry<String, String>> list() {
            return entries;
        }
    }
}
