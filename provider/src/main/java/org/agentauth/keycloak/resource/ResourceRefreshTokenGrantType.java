package org.agentauth.keycloak.resource;

import jakarta.ws.rs.core.Response;
import java.util.Set;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.grants.RefreshTokenGrantType;

/**
 * Keycloak's refresh token grant, accepting a repeated {@code resource} (RFC 8707); the rules are applied by
 * {@link ResourceIndicatorsPostProcessor}.
 */
public class ResourceRefreshTokenGrantType extends RefreshTokenGrantType {

    private final KeycloakSession keycloakSession;

    public ResourceRefreshTokenGrantType(KeycloakSession session) {
        this.keycloakSession = session;
    }

    @Override
    public Response process(Context context) {
        ResourceIndicators.stashEvent(keycloakSession, context.getEvent());
        return super.process(context);
    }

    @Override
    public Set<String> getSupportedMultivaluedRequestParameters() {
        return Set.of(ResourceIndicators.PARAM);
    }
}
