package org.agentauth.keycloak.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.agentauth.keycloak.support.Strings;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.HostPolicy;
import org.agentauth.keycloak.vault.VaultSettings;
import org.agentauth.keycloak.vault.net.VettedHttp;
import org.agentauth.keycloak.vault.upstream.UpstreamClient;
import org.agentauth.keycloak.vault.upstream.UpstreamException;
import org.apache.http.HttpEntity;
import org.apache.http.client.config.RequestConfig;
import org.apache.http.client.methods.CloseableHttpResponse;
import org.apache.http.client.methods.HttpGet;
import org.apache.http.client.methods.HttpRequestBase;
import org.keycloak.models.KeycloakSession;

/**
 * The admin API's calls to a connector's upstream: "test configuration" ({@link #run}; its token request is the connect
 * flow's own, {@link UpstreamClient#exchangeCode}) and OpenID Connect discovery
 * ({@link #discover}). Every call goes through {@link VettedHttp} (to the addresses the host policy vetted) with connect and read timeouts,
 * follows no redirect, reads a bounded body and only goes to a URL the {@link HostPolicy} allows (resolved at the time
 * of the check). Nothing here writes to the database. Results and errors never contain the client secret.
 */
final class ConnectorChecks {

    /** One result of a configuration test. */
    record Check(String name, boolean ok, String detail) {
    }

    /** Why discovery failed (a message for the admin, naming the issuer field). */
    static final class DiscoveryFailed extends Exception {
        DiscoveryFailed(String message) {
            super(message, null, false, false);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BODY = 256 * 1024;
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Token endpoint errors that mean "the client credentials are wrong" (RFC 6749 and what GitHub and Slack answer). */
    static final Set<String> CREDENTIAL_ERRORS = Set.of("invalid_client", "unauthorized_client", "incorrect_client_credentials",
            "invalid_client_id", "bad_client_secret", "invalid_client_secret");
    /** Token endpoint errors that mean "the credentials are fine, the code is not" (the test sends a made-up code). */
    static final Set<String> CODE_ERRORS = Set.of("invalid_grant", "bad_verification_code", "invalid_code", "code_already_used",
            "code_expired");

    private final KeycloakSession session;
    private final VaultSettings settings;

    ConnectorChecks(KeycloakSession session, VaultSettings settings) {
        this.session = session;
        this.settings = settings;
    }

    /** A bounded HTTP answer. */
    private record Answer(int status, String contentType, String body) {
    }

    /**
     * Tests a connector's configuration: the host policy for every configured URL, the client secret (a vault reference
     * resolves), the token endpoint (a request with a made-up code must get an OAuth error: {@code invalid_grant} means
     * the client credentials were accepted, {@code invalid_client} that they were not) and the authorization endpoint.
     *
     * @param redirectUri the connector's callback URL, sent with the made-up code as a real exchange would
     */
    List<Check> run(Connector c, String redirectUri) {
        List<Check> out = new ArrayList<>();
        Map<String, String> urls = new LinkedHashMap<>();
        urls.put(Connector.AUTHORIZATION_URL, c.authorizationUrl());
        urls.put(Connector.TOKEN_URL, c.tokenUrl());
        urls.put(Connector.REVOCATION_URL, c.revocationUrl());
        urls.put(Connector.USERINFO_URL, c.userinfoUrl());
        urls.put(Connector.API_BASE_URL, c.apiBaseUrl());
        Map<String, Boolean> allowed = new LinkedHashMap<>();
        urls.forEach((field, url) -> {
            if (url == null) {
                return;
            }
            String why = HostPolicy.refusal(settings, url, true);
            allowed.put(field, why == null);
            String host = Connector.hostOf(url);
            out.add(new Check("hostPolicy." + field, why == null, why == null
                    ? host + " may be called" + (listed(url) ? " (on the server's allowed-hosts list)" : " (public address)")
                    : field + " " + why));
        });

        if (c.clientSecretRef() == null) {
            out.add(new Check("clientSecret", false, "No client secret is stored"));
        } else {
            String secret = c.clientSecret(session);
            boolean ref = c.clientSecretRef().startsWith("${vault.");
            out.add(secret == null
                    ? new Check("clientSecret", false, "The vault reference " + Strings.safe(c.clientSecretRef(), 200)
                            + " does not resolve: add the secret to Keycloak's vault")
                    : new Check("clientSecret", true, ref ? "Read from Keycloak's vault (" + Strings.safe(c.clientSecretRef(), 200) + ")"
                            : "A client secret is stored"));
        }

        tokenEndpoint(c, redirectUri, Boolean.TRUE.equals(allowed.get(Connector.TOKEN_URL)), out);
        authorizationEndpoint(c, Boolean.TRUE.equals(allowed.get(Connector.AUTHORIZATION_URL)), out);
        return out;
    }

    private boolean listed(String url) {
        String host = Connector.hostOf(url);
        if (host == null) {
            return false;
        }
        String h = host.startsWith("[") ? host.substring(1, host.indexOf(']')) : host.replaceFirst(":\\d+$", "");
        return settings.hostAllowListed(h);
    }

    private void tokenEndpoint(Connector c, String redirectUri, boolean allowed, List<Check> out) {
        if (c.tokenUrl() == null || !allowed) {
            out.add(new Check("tokenEndpoint", false, "Not called: " + (c.tokenUrl() == null ? "no tokenUrl" : "the host policy refuses tokenUrl")));
            out.add(new Check("clientCredentials", false, "Not checked: the token endpoint was not called"));
            return;
        }
        String error;
        try {
            // the connect flow's own code exchange (same client authentication), with a made-up code and verifier
            new UpstreamClient(session, c).exchangeCode("agent-auth-config-test-" + random(), redirectUri, random() + random());
            out.add(new Check("tokenEndpoint", false, "Answered a made-up code with tokens: not a token endpoint to trust"));
            out.add(new Check("clientCredentials", false, "Unknown: the token endpoint's answer says nothing about them"));
            return;
        } catch (UpstreamClient.OAuthError e) {
            error = e.error();
            out.add(new Check("tokenEndpoint", true, "Answered HTTP " + e.status() + " with error " + Strings.safeId(error)));
        } catch (UpstreamException e) {
            // the message names the connector, the endpoint and what went wrong; never a secret
            out.add(new Check("tokenEndpoint", false, "No OAuth error answer: " + Strings.safe(e.getMessage(), 300)));
            out.add(new Check("clientCredentials", false, "Not checked: the token endpoint's answer says nothing about them"));
            return;
        }
        String lower = error.toLowerCase(Locale.ROOT);
        if (CODE_ERRORS.contains(lower)) {
            out.add(new Check("clientCredentials", true, "Accepted: the token endpoint refused only the made-up code (" + Strings.safeId(error) + ")"));
        } else if (lower.equals("unauthorized_client")) {
            // RFC 6749 means "this client may not use this grant"; Keycloak, among others, answers it for bad credentials
            out.add(new Check("clientCredentials", false, "Refused: the token endpoint answered unauthorized_client, which some "
                    + "servers (Keycloak among them) answer instead of invalid_client: check clientId, clientSecret and "
                    + "clientAuthMethod, and that the client may use the authorization code grant"));
        } else if (CREDENTIAL_ERRORS.contains(lower)) {
            out.add(new Check("clientCredentials", false, "Refused: the token endpoint answered " + Strings.safeId(error)
                    + " (invalid_client): check clientId, clientSecret and clientAuthMethod"));
        } else {
            out.add(new Check("clientCredentials", false, "Unknown: the token endpoint answered " + Strings.safeId(error)
                    + ", expected invalid_grant (credentials right) or invalid_client (credentials wrong)"));
        }
    }

    private void authorizationEndpoint(Connector c, boolean allowed, List<Check> out) {
        if (c.authorizationUrl() == null || !allowed) {
            out.add(new Check("authorizationEndpoint", false, "Not called: " + (c.authorizationUrl() == null
                    ? "no authorizationUrl" : "the host policy refuses authorizationUrl")));
            return;
        }
        try {
            Answer a = send(new HttpGet(c.authorizationUrl()), c.timeoutMillis());
            boolean ok = a.status() < 500;
            out.add(new Check("authorizationEndpoint", ok, "Answered HTTP " + a.status()
                    + (a.status() >= 300 && a.status() < 400 ? " (a redirect, not followed)" : "")
                    + (ok ? "" : ": the upstream has a problem")));
        } catch (IOException e) {
            out.add(new Check("authorizationEndpoint", false, "No answer from " + Connector.hostOf(c.authorizationUrl()) + ": "
                    + describe(e, c.timeoutMillis())));
        }
    }

    /**
     * OpenID Connect discovery for the connector form: fetches {@code {issuer}/.well-known/openid-configuration} (the
     * host policy applies) and returns the authorization, token, revocation and userinfo URLs it names.
     */
    Map<String, String> discover(String issuer) throws DiscoveryFailed {
        if (issuer == null || issuer.isBlank()) {
            throw new DiscoveryFailed("issuer is required: the provider's issuer URL, e.g. https://login.example.com/realms/x");
        }
        String iss = issuer.trim();
        if (iss.length() > 2048) {
            throw new DiscoveryFailed("issuer is longer than 2048 characters");
        }
        String why = HostPolicy.refusal(settings, iss, true);
        if (why != null) {
            throw new DiscoveryFailed("issuer " + why);
        }
        if (iss.contains("?")) {
            throw new DiscoveryFailed("issuer must not contain a query");
        }
        String base = iss.endsWith("/") ? iss.substring(0, iss.length() - 1) : iss;
        String url = base + "/.well-known/openid-configuration";
        HttpGet get = new HttpGet(url);
        get.setHeader("Accept", "application/json");
        Answer a;
        try {
            a = send(get, Connector.DEFAULT_TIMEOUT_MILLIS);
        } catch (IOException e) {
            throw new DiscoveryFailed("No answer from " + Connector.hostOf(url) + ": " + describe(e, Connector.DEFAULT_TIMEOUT_MILLIS));
        } catch (IllegalArgumentException e) {
            throw new DiscoveryFailed("issuer is not a valid URL");
        }
        if (a.status() != 200) {
            throw new DiscoveryFailed(url + " answered HTTP " + a.status() + ", not a discovery document");
        }
        JsonNode doc = parse(a.body());
        if (doc == null || !doc.isObject()) {
            throw new DiscoveryFailed(url + " did not answer a JSON discovery document");
        }
        String named = text(doc, "issuer");
        if (named == null || !stripSlash(named).equals(base)) {
            throw new DiscoveryFailed("The discovery document names issuer '" + Strings.safe(named, 200)
                    + "', not the one given (OpenID Connect Discovery 1.0 section 4.3)");
        }
        Map<String, String> out = new LinkedHashMap<>();
        out.put("issuer", named);
        out.put(Connector.AUTHORIZATION_URL, text(doc, "authorization_endpoint"));
        out.put(Connector.TOKEN_URL, text(doc, "token_endpoint"));
        out.put(Connector.REVOCATION_URL, text(doc, "revocation_endpoint"));
        out.put(Connector.USERINFO_URL, text(doc, "userinfo_endpoint"));
        if (out.get(Connector.AUTHORIZATION_URL) == null || out.get(Connector.TOKEN_URL) == null) {
            throw new DiscoveryFailed("The discovery document has no authorization_endpoint or token_endpoint");
        }
        return out;
    }

    private static String stripSlash(String s) {
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    private static String text(JsonNode doc, String name) {
        JsonNode v = doc.get(name);
        return v != null && v.isTextual() && !v.asText().isBlank() ? v.asText().trim() : null;
    }

    private Answer send(HttpRequestBase request, int timeoutMillis) throws IOException {
        request.setConfig(RequestConfig.custom()
                .setConnectTimeout(timeoutMillis)
                .setSocketTimeout(timeoutMillis)
                .setConnectionRequestTimeout(timeoutMillis)
                .setRedirectsEnabled(false)
                .build());
        HostPolicy.Vetted vetted = HostPolicy.vet(settings, request.getURI().toString());
        if (vetted.refusal() != null) {
            String host = Connector.hostOf(request.getURI().toString());
            throw "does not resolve".equals(vetted.refusal()) ? new java.net.UnknownHostException(host) : new IOException(host + " " + vetted.refusal());
        }
        try (CloseableHttpResponse r = VettedHttp.execute(vetted, request)) {
            HttpEntity entity = r.getEntity();
            String body = "";
            if (entity != null) {
                try (InputStream in = entity.getContent()) {
                    body = new String(in.readNBytes(MAX_BODY), StandardCharsets.UTF_8);
                }
            }
            String type = entity == null || entity.getContentType() == null ? null : entity.getContentType().getValue();
            return new Answer(r.getStatusLine().getStatusCode(), type, body);
        } finally {
            request.releaseConnection();
        }
    }

    private static JsonNode parse(String body) {
        try {
            return body == null || body.isBlank() ? null : JSON.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    private static String describe(IOException e, int timeoutMillis) {
        if (e instanceof SocketTimeoutException || e instanceof org.apache.http.conn.ConnectTimeoutException) {
            return "no answer within " + timeoutMillis + " ms";
        }
        if (e instanceof java.net.UnknownHostException) {
            return "the host name does not resolve";
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + Strings.safe(e.getMessage(), 200));
    }

    private static String random() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
