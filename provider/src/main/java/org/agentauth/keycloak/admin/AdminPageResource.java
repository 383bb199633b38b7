package org.agentauth.keycloak.admin;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.keycloak.headers.SecurityHeadersProvider;
import org.keycloak.models.BrowserSecurityHeaders;
import org.keycloak.models.KeycloakSession;

/**
 * {@code /realms/{realm}/agent-auth/admin/}: the agent admin page, one static HTML page with its script and style,
 * served from the JAR. It holds no realm data and no secret: the script signs the admin in to this realm with the
 * public client {@value AdminPageClient#CLIENT_ID} (Authorization Code + PKCE) and calls the admin REST API with the
 * admin's own token, so realm-management roles decide what the admin sees and changes. The Content-Security-Policy
 * allows only the extension's own script and style, and same-origin requests; the page cannot be framed.
 */
public class AdminPageResource {

    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
    private static final String BASE = "/org/agentauth/keycloak/admin/page/";
    private static final Map<String, byte[]> CACHE = new ConcurrentHashMap<>();

    private final KeycloakSession session;

    public AdminPageResource(KeycloakSession session) {
        this.session = session;
    }

    @GET
    public Response page() {
        UriInfo uri = session.getContext().getUri();
        String path = uri.getRequestUri().getRawPath();
        if (!path.endsWith("/")) {
            // relative links to app.js and app.css need the trailing slash
            String query = uri.getRequestUri().getRawQuery();
            return Response.status(Response.Status.FOUND)
                    .header("Location", path + "/" + (query == null ? "" : "?" + query)).build();
        }
        return asset("index.html", "text/html; charset=utf-8", "no-store");
    }

    @GET
    @Path("app.js")
    public Response script() {
        return asset("app.js", "text/javascript; charset=utf-8", "no-cache");
    }

    @GET
    @Path("app.css")
    public Response style() {
        return asset("app.css", "text/css; charset=utf-8", "no-cache");
    }

    private Response asset(String name, String type, String cacheControl) {
        byte[] body = CACHE.computeIfAbsent(name, AdminPageResource::load);
        // Keycloak would replace our CSP with the realm's (which allows inline styles and framing by 'self'):
        // the page sets every security header itself, keeping the realm's HSTS setting.
        session.getProvider(SecurityHeadersProvider.class).options().skipHeaders();
        String hsts = session.getContext().getRealm().getBrowserSecurityHeaders()
                .get(BrowserSecurityHeaders.STRICT_TRANSPORT_SECURITY.getKey());
        return Response.ok(body, type)
                .header(BrowserSecurityHeaders.STRICT_TRANSPORT_SECURITY.getHeaderName(), hsts == null || hsts.isBlank() ? null : hsts)
                .header("X-Robots-Tag", "none")
                .header("Content-Security-Policy", CSP)
                .header("X-Content-Type-Options", "nosniff")
                .header("X-Frame-Options", "DENY")
                .header("Referrer-Policy", "no-referrer")
                .header("Cache-Control", cacheControl)
                .build();
    }

    private static byte[] load(String name) {
        try (InputStream in = AdminPageResource.class.getResourceAsStream(BASE + name)) {
            if (in == null) {
                throw new NotFoundException();
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
