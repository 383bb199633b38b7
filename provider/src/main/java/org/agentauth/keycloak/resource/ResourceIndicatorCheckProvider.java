package org.agentauth.keycloak.resource;

import org.agentauth.keycloak.support.RealmIssuer;
import org.agentauth.keycloak.agent.ConnectorResources;
import org.agentauth.keycloak.agent.ResourceServers;
import jakarta.ws.rs.core.Response;
import java.util.List;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.jboss.logging.Logger;
import org.keycloak.OAuth2Constants;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Details;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.endpoints.AuthorizationEndpointCheckProvider;
import org.keycloak.protocol.oidc.endpoints.AuthorizationEndpointChecker;
import org.keycloak.protocol.oidc.endpoints.request.AuthorizationEndpointRequest;

/**
 * {@code resource} (RFC 8707) at the authorization endpoint, before any login (DESIGN section 9): the value must be a
 * resource URI of an enabled client of the realm that the requesting client may ask for, otherwise the user agent goes
 * back to the (already validated) redirect URI with {@code error=invalid_target}, {@code state} and {@code iss}.
 *
 * <p>Binding: Keycloak keeps the request's {@code resource} (the value this check validated, as the client sent it) as
 * a client note of the new authentication session and copies it into the authorization code it issues
 * ({@code OAuth2Code.resource}), so the binding lives in the code: one code, its resource, nothing left over for a
 * later login. Nothing is written back into Keycloak's request: the token endpoint ({@link ResourceIndicatorsPostProcessor})
 * and the consent page normalize the code's value themselves (a pure function of the checked value) and check it again
 * against the current configuration; a value that no longer passes is {@code invalid_target}.
 *
 * <p>Only {@code response_type=code} takes {@code resource}: an implicit or hybrid request that names one is refused
 * ({@code invalid_target}), since a token issued by the authorization endpoint would not be bound to it.
 *
 * <p>Limitation (Keycloak 26.7): the authorization endpoint refuses a repeated query parameter itself
 * ({@code invalid_request "duplicated parameter"}) before any extension runs, and PAR and request objects keep one value
 * of each parameter, so one {@code resource} per authorization request; several can be named at the token endpoint.
 */
public class ResourceIndicatorCheckProvider implements AuthorizationEndpointCheckProvider {

    private static final Logger LOG = Logger.getLogger(ResourceIndicatorCheckProvider.class);

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
        // what Keycloak stores in the authentication session and the code (the query's value, or that of PAR or a
        // request object, which take precedence)
        String stored = request.getResource();
        List<String> fromParams = checker.getQueryParams() == null ? null : checker.getQueryParams().get(ResourceIndicators.PARAM);
        if (fromParams != null && fromParams.size() > 1) {
            throw refuse(checker, fromParams, "Only one resource can be requested at the authorization endpoint");
        }
        if (stored == null) {
            return;
        }
        // the binding lives in the authorization code: a token issued by the authorization endpoint itself (implicit,
        // hybrid) would not carry it, so such a request is refused rather than answered with an unbound token
        if (!OAuth2Constants.CODE.equals(request.getResponseType())) {
            throw refuse(checker, List.of(stored), "resource is supported with response_type=code only");
        }
        String normalized;
        String connector = ConnectorResources.aliasOf(RealmIssuer.of(session, checker.getRealm()), stored);
        try {
            if (connector != null) {
                // a connector's resource URI: the requested_actor check decides who may ask for it (an agent allowed it)
                if (!ConnectorResources.exists(checker.getRealm(), connector)) {
                    throw new IllegalArgumentException("Unknown connector: " + connector);
                }
                normalized = ResourceServers.normalize(stored);
            } else {
                normalized = ResourceIndicators.join(ResourceServers.validate(checker.getRealm(), checker.getClient(), List.of(stored)));
            }
        } catch (IllegalArgumentException e) {
            throw refuse(checker, List.of(stored), e.getMessage());
        }
        if (checker.getEventBuilder() != null) {
            checker.getEventBuilder().detail(AgentAuthEvents.RESOURCE, normalized);
        }
        LOG.debugf("resource %s accepted for client %s", normalized, checker.getClient().getClientId());
    }

    private static AuthorizationEndpointChecker.AuthorizationCheckException refuse(AuthorizationEndpointChecker checker,
            List<String> values, String description) {
        if (checker.getEventBuilder() != null) {
            checker.getEventBuilder().detail(AgentAuthEvents.RESOURCE, ResourceIndicators.safe(String.join(" ", values)))
                    .detail(Details.REASON, description).error(OAuthErrorException.INVALID_TARGET);
        }
        return new AuthorizationEndpointChecker.AuthorizationCheckException(Response.Status.BAD_REQUEST,
                OAuthErrorException.INVALID_TARGET, description);
    }

    @Override
    public void close() {
    }
}
