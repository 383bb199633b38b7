package org.agentauth.keycloak.resource;

import jakarta.ws.rs.core.Response;
import java.lang.reflect.Field;
import java.util.List;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.jboss.logging.Logger;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Details;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;
import org.keycloak.protocol.oidc.endpoints.AuthorizationEndpointCheckProvider;
import org.keycloak.protocol.oidc.endpoints.AuthorizationEndpointChecker;
import org.keycloak.protocol.oidc.endpoints.request.AuthorizationEndpointRequest;

/**
 * {@code resource} (RFC 8707, repeatable) at the authorization endpoint, before any login (DESIGN section 9): every
 * value must be a resource URI of an enabled client of the realm that the requesting client may ask for, otherwise
 * the user agent goes back to the (already validated) redirect URI with {@code error=invalid_target}, {@code state}
 * and {@code iss}.
 *
 * <p>Binding: Keycloak keeps the request's {@code resource} as a note of the new authentication session and copies it
 * into the authorization code it issues ({@code OAuth2Code.resource}), so the binding lives in the code: one code,
 * its resource, nothing left over for a later login. The validated, normalized value is written back into the request
 * and read again by {@link ResourceIndicatorsPostProcessor}; the code format (space-separated list) allows several.
 *
 * <p>Limitation (Keycloak 26.7): the authorization endpoint refuses a repeated query parameter itself
 * ({@code invalid_request "duplicated parameter"}) before any extension runs, and PAR keeps the first value of each
 * form parameter, so one {@code resource} per authorization request; several can be named at the token endpoint.
 */
public class ResourceIndicatorCheckProvider implements AuthorizationEndpointCheckProvider {

    private static final Logger LOG = Logger.getLogger(ResourceIndicatorCheckProvider.class);
    private static final Field RESOURCE_FIELD = resourceField();

    private final KeycloakSession session;

    public ResourceIndicatorCheckProvider(KeycloakSession session) {
        this.session = session;
    }

    @Override
    public void check(AuthorizationEndpointChecker checker) throws AuthorizationEndpointChecker.AuthorizationCheckException {
        AuthorizationEndpointRequest request = checker.getAuthorizationEndpointRequest();
        if (request == null) {
            return;
        }
        List<String> values;
        String requestUri = checker.getQueryParams() == null ? null : checker.getQueryParams().getFirst(OIDCLoginProtocol.REQUEST_URI_PARAM);
        List<String> fromQuery = checker.getQueryParams() == null ? null : checker.getQueryParams().get(ResourceIndicators.PARAM);
        if (requestUri == null && fromQuery != null && !fromQuery.isEmpty()) {
            values = fromQuery;
        } else {
            // PAR or request object: what Keycloak parsed (one value)
            values = request.getResource() == null ? List.of() : List.of(request.getResource());
        }
        if (values.isEmpty()) {
            return;
        }
        List<String> resources;
        try {
            resources = ResourceIndicators.validate(checker.getRealm(), checker.getClient(), values);
        } catch (IllegalArgumentException e) {
            if (checker.getEventBuilder() != null) {
                checker.getEventBuilder().detail(AgentAuthEvents.RESOURCE, ResourceIndicators.safe(String.join(" ", values)))
                        .detail(Details.REASON, e.getMessage()).error(OAuthErrorException.INVALID_TARGET);
            }
            throw new AuthorizationEndpointChecker.AuthorizationCheckException(Response.Status.BAD_REQUEST,
                    OAuthErrorException.INVALID_TARGET, e.getMessage());
        }
        String joined = ResourceIndicators.join(resources);
        if (!joined.equals(request.getResource())) {
            if (RESOURCE_FIELD == null) {
                throw new AuthorizationEndpointChecker.AuthorizationCheckException(Response.Status.BAD_REQUEST,
                        OAuthErrorException.INVALID_TARGET, "Only one resource can be requested here");
            }
            try {
                RESOURCE_FIELD.set(request, joined);
            } catch (IllegalAccessException e) {
                throw new AuthorizationEndpointChecker.AuthorizationCheckException(Response.Status.BAD_REQUEST,
                        OAuthErrorException.INVALID_TARGET, "Only one resource can be requested here");
            }
        }
        if (checker.getEventBuilder() != null) {
            checker.getEventBuilder().detail(AgentAuthEvents.RESOURCE, joined);
        }
        LOG.debugf("resources %s accepted for client %s", joined, checker.getClient().getClientId());
    }

    private static Field resourceField() {
        try {
            Field f = AuthorizationEndpointRequest.class.getDeclaredField("resource");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warnf("Keycloak's authorization request has no settable resource field (%s): one resource per request only",
                    e.getClass().getSimpleName());
            return null;
        }
    }

    @Override
    public void close() {
    }
}
