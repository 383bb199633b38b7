package org.agentauth.keycloak.support;

import jakarta.ws.rs.core.Response;
import java.security.SecureRandom;
import java.util.Base64;
import org.keycloak.headers.SecurityHeadersProvider;
import org.keycloak.models.BrowserSecurityHeaders;
import org.keycloak.models.KeycloakSession;

/**
 * What the extension's server-rendered user pages (the connect flow, the self-service page) share: their security
 * headers and their one-time values. Keycloak's realm headers would allow framing by the same origin, so the pages set
 * every header themselves, keeping only the realm's HSTS setting.
 */
public final class BrowserPages {

    private static final SecureRandom RANDOM = new SecureRandom();

    private BrowserPages() {
    }

    /** Not frameable, no referrer, not cached, not indexed. */
    public static Response secure(KeycloakSession session, Response r) {
        return secure(session, r, "no-referrer");
    }

    /**
     * The same with another {@code Referrer-Policy}: a page whose own forms are checked by their {@code Origin} needs
     * {@code same-origin}, since under {@code no-referrer} a browser sends {@code Origin: null} with a form POST.
     */
    public static Response secure(KeycloakSession session, Response r, String referrerPolicy) {
        session.getProvider(SecurityHeadersProvider.class).options().skipHeaders();
        String hsts = session.getContext().getRealm().getBrowserSecurityHeaders()
                .get(BrowserSecurityHeaders.STRICT_TRANSPORT_SECURITY.getKey());
        return Response.fromResponse(r)
                .header(BrowserSecurityHeaders.STRICT_TRANSPORT_SECURITY.getHeaderName(), hsts == null || hsts.isBlank() ? null : hsts)
                .header("Content-Security-Policy", "frame-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'")
                .header("X-Frame-Options", "DENY")
                .header("X-Content-Type-Options", "nosniff")
                .header("Referrer-Policy", referrerPolicy)
                .header("X-Robots-Tag", "none")
                .header("Cache-Control", "no-store")
                .build();
    }

    /** {@code bytes} random bytes, base64url without padding. */
    public static String random(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
