package org.agentauth.keycloak.vault.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.HostPolicy;
import org.agentauth.keycloak.vault.TokenSet;
import org.agentauth.keycloak.vault.VaultSettings;
import org.agentauth.keycloak.vault.net.VettedHttp;
import org.apache.http.HttpEntity;
import org.apache.http.NameValuePair;
import org.apache.http.client.config.RequestConfig;
import org.apache.http.client.entity.UrlEncodedFormEntity;
import org.apache.http.client.methods.CloseableHttpResponse;
import org.apache.http.client.methods.HttpGet;
import org.apache.http.client.methods.HttpPost;
import org.apache.http.client.methods.HttpRequestBase;
import org.apache.http.message.BasicNameValuePair;
import org.keycloak.common.util.Time;
import org.keycloak.models.KeycloakSession;

/**
 * OAuth 2 calls to one connector's upstream (code exchange with PKCE, refresh, RFC 7009 revocation, userinfo), through
 * {@link VettedHttp} with the connector's connect and read timeouts, no redirects followed, and the host policy checked
 * before every call (the connection goes to the addresses it vetted). Never call it inside a transaction that has written to the database.
 */
public final class UpstreamClient {

    /** Answers larger than this are not read (token and userinfo answers are small). */
    private static final int MAX_ANSWER_BYTES = 256 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A token endpoint's answer: the tokens, the scope the upstream granted (null when it did not say) and the claims of
     * the ID token, if one came (read without a signature check, which OpenID Connect Core 3.1.3.7 allows for an ID
     * token received directly from the token endpoint over TLS; used only to name the account).
     */
    public record Tokens(TokenSet tokens, Set<String> grantedScope, JsonNode idTokenClaims) {
        @Override
        public String toString() {
            return "Tokens[" + tokens + ", scope=" + grantedScope + "]";
        }
    }

    /** The upstream's OAuth error ({@code invalid_grant} and the like): the request was understood and refused. */
    public static class OAuthError extends UpstreamException {
        private final String error;

        OAuthError(String connector, String endpoint, int status, String error) {
            super(Kind.BAD_ANSWER, status, connector + " " + endpoint + " answered " + status + " " + error);
            this.error = error;
        }

        public String error() {
            return error;
        }
    }

    private final KeycloakSession session;
    private final Connector connector;

    public UpstreamClient(KeycloakSession session, Connector connector) {
        this.session = session;
        this.connector = connector;
    }

    public Tokens exchangeCode(String code, String redirectUri, String codeVerifier) {
        List<NameValuePair> form = new ArrayList<>();
        form.add(new BasicNameValuePair("grant_type", "authorization_code"));
        form.add(new BasicNameValuePair("code", code));
        form.add(new BasicNameValuePair("redirect_uri", redirectUri));
        form.add(new BasicNameValuePair("code_verifier", codeVerifier));
        return tokenRequest(form, null);
    }

    /** A refresh; an upstream that rotates refresh tokens returns a new one, else the old one is kept. */
    public Tokens refresh(String refreshToken) {
        List<NameValuePair> form = new ArrayList<>();
        form.add(new BasicNameValuePair("grant_type", "refresh_token"));
        form.add(new BasicNameValuePair("refresh_token", refreshToken));
        return tokenRequest(form, refreshToken);
    }

    /** RFC 7009. False when the connector has no revocation endpoint. */
    public boolean revoke(String token, String tokenTypeHint) {
        if (connector.revocationUrl() == null) {
            return false;
        }
        List<NameValuePair> form = new ArrayList<>();
        form.add(new BasicNameValuePair("token", token));
        form.add(new BasicNameValuePair("token_type_hint", tokenTypeHint));
        HttpPost post = post(connector.revocationUrl(), form);
        Answer a = send(post, "revocation endpoint");
        if (a.status != 200) {
            throw new UpstreamException(a.status >= 500 ? UpstreamException.Kind.SERVER_ERROR : UpstreamException.Kind.BAD_ANSWER,
                    a.status, connector.alias() + " revocation endpoint answered " + a.status);
        }
        return true;
    }

    /** The userinfo answer (JSON object); null when the connector has no userinfo endpoint. */
    public JsonNode userinfo(String accessToken) {
        if (connector.userinfoUrl() == null) {
            return null;
        }
        HttpGet get = new HttpGet(connector.userinfoUrl());
        get.setHeader("Authorization", "Bearer " + accessToken);
        get.setHeader("Accept", "application/json");
        Answer a = send(get, "userinfo endpoint");
        if (a.status != 200) {
            throw new UpstreamException(a.status >= 500 ? UpstreamException.Kind.SERVER_ERROR : UpstreamException.Kind.BAD_ANSWER,
                    a.status, connector.alias() + " userinfo endpoint answered " + a.status);
        }
        JsonNode n = parse(a, "userinfo endpoint");
        if (!n.isObject()) {
            throw new UpstreamException(UpstreamException.Kind.BAD_ANSWER, a.status, connector.alias() + " userinfo endpoint did not answer a JSON object");
        }
        return n;
    }

    private Tokens tokenRequest(List<NameValuePair> form, String previousRefreshToken) {
        long now = Time.currentTimeMillis();
        Answer a = send(post(connector.tokenUrl(), form), "token endpoint");
        if (a.status >= 500) {
            throw new UpstreamException(UpstreamException.Kind.SERVER_ERROR, a.status, connector.alias() + " token endpoint answered " + a.status);
        }
        JsonNode n = parse(a, "token endpoint");
        if (a.status != 200) {
            String error = n.path("error").asText("");
            if (error.isEmpty() || !error.matches("[\\x20-\\x7E]{1,64}")) {
                throw new UpstreamException(UpstreamException.Kind.BAD_ANSWER, a.status, connector.alias() + " token endpoint answered " + a.status);
            }
            throw new OAuthError(connector.alias(), "token endpoint", a.status, error);
        }
        String access = n.path("access_token").asText("");
        if (access.isEmpty()) {
            String error = n.path("error").asText(""); // GitHub answers errors with 200
            if (!error.isEmpty() && error.matches("[\\x20-\\x7E]{1,64}")) {
                throw new OAuthError(connector.alias(), "token endpoint", a.status, error);
            }
            throw new UpstreamException(UpstreamException.Kind.BAD_ANSWER, a.status, connector.alias() + " token endpoint answered no access_token");
        }
        String refresh = n.path("refresh_token").asText("");
        if (refresh.isEmpty()) {
            refresh = previousRefreshToken;
        }
        Long accessExp = n.hasNonNull("expires_in") && n.get("expires_in").asLong(0) > 0 ? now + n.get("expires_in").asLong() * 1000 : null;
        Long refreshExp = n.hasNonNull("refresh_expires_in") && n.get("refresh_expires_in").asLong(0) > 0
                ? now + n.get("refresh_expires_in").asLong() * 1000 : null;
        Set<String> scope = null;
        if (n.hasNonNull("scope")) {
            scope = new LinkedHashSet<>();
            for (String s : n.get("scope").asText("").trim().split("[\\s,]+")) {
                if (!s.isEmpty()) {
                    scope.add(s);
                }
            }
        }
        return new Tokens(new TokenSet(access, refresh, n.path("token_type").asText("Bearer"), accessExp, refreshExp), scope,
                idTokenClaims(n.path("id_token").asText("")));
    }

    /**
     * What a user recognises an upstream account by, from a userinfo answer or ID token claims:
     * {@code preferred_username}, {@code login}, {@code email}, {@code name}, else {@code sub} or {@code id}; null if none.
     */
    public static String accountName(JsonNode info) {
        return firstOf(info, "preferred_username", "login", "email", "name", "sub", "id");
    }

    /** The upstream account's stable id: {@code sub}, else {@code id}; null if none. */
    public static String accountSubject(JsonNode info) {
        return firstOf(info, "sub", "id");
    }

    private static String firstOf(JsonNode info, String... names) {
        if (info == null) {
            return null;
        }
        for (String n : names) {
            JsonNode v = info.get(n);
            if (v != null && (v.isTextual() || v.isNumber()) && !v.asText().isBlank()) {
                return v.asText();
            }
        }
        return null;
    }

    private static JsonNode idTokenClaims(String idToken) {
        String[] parts = idToken.split("\\.");
        if (parts.length != 3) {
            return null;
        }
        try {
            JsonNode claims = JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
            return claims != null && claims.isObject() ? claims : null;
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    private HttpPost post(String url, List<NameValuePair> form) {
        HttpPost post = new HttpPost(url);
        post.setHeader("Accept", "application/json");
        List<NameValuePair> body = new ArrayList<>(form);
        String secret = connector.clientSecret(session);
        if (secret != null && Connector.AUTH_BASIC.equals(connector.clientAuthMethod())) {
            String creds = enc(connector.clientId()) + ":" + enc(secret);
            post.setHeader("Authorization", "Basic " + Base64.getEncoder().encodeToString(creds.getBytes(StandardCharsets.UTF_8)));
        } else {
            body.add(new BasicNameValuePair("client_id", connector.clientId()));
            if (secret != null) {
                body.add(new BasicNameValuePair("client_secret", secret));
            }
        }
        post.setEntity(new UrlEncodedFormEntity(body, StandardCharsets.UTF_8));
        return post;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private record Answer(int status, byte[] body) {
    }

    private Answer send(HttpRequestBase request, String endpoint) {
        if (!connector.enabled()) {
            throw new UpstreamException(UpstreamException.Kind.REFUSED, 0, connector.alias() + " is disabled: " + connector.policyRefusal());
        }
        HostPolicy.Vetted vetted = HostPolicy.vet(session.getProvider(VaultSettings.class), request.getURI().toString());
        if (vetted.refusal() != null) {
            throw new UpstreamException(UpstreamException.Kind.REFUSED, 0, connector.alias() + " " + endpoint + " " + vetted.refusal());
        }
        int t = connector.timeoutMillis();
        request.setConfig(RequestConfig.custom().setConnectTimeout(t).setSocketTimeout(t).setConnectionRequestTimeout(t)
                .setRedirectsEnabled(false).build());
        try (CloseableHttpResponse r = VettedHttp.execute(vetted, request)) {
            HttpEntity entity = r.getEntity();
            byte[] body = new byte[0];
            if (entity != null) {
                try (InputStream in = entity.getContent()) {
                    body = in.readNBytes(MAX_ANSWER_BYTES + 1);
                }
            }
            if (body.length > MAX_ANSWER_BYTES) {
                throw new UpstreamException(UpstreamException.Kind.BAD_ANSWER, r.getStatusLine().getStatusCode(),
                        connector.alias() + " " + endpoint + " answered more than " + MAX_ANSWER_BYTES + " bytes");
            }
            return new Answer(r.getStatusLine().getStatusCode(), body);
        } catch (SocketTimeoutException e) {
            throw new UpstreamException(UpstreamException.Kind.UNAVAILABLE, 0, connector.alias() + " " + endpoint + " did not answer within " + t + " ms");
        } catch (IOException e) {
            throw new UpstreamException(UpstreamException.Kind.UNAVAILABLE, 0, connector.alias() + " " + endpoint + " unreachable: " + e.getClass().getSimpleName());
        }
    }

    private JsonNode parse(Answer a, String endpoint) {
        try {
            JsonNode n = JSON.readTree(a.body);
            if (n == null || !n.isObject()) {
                throw new IOException("not an object");
            }
            return n;
        } catch (IOException e) {
            throw new UpstreamException(a.status >= 500 ? UpstreamException.Kind.SERVER_ERROR : UpstreamException.Kind.BAD_ANSWER, a.status,
                    connector.alias() + " " + endpoint + " answered " + a.status + " without a JSON object");
        }
    }
}
