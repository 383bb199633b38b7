package org.agentauth.keycloak.resource;

import org.agentauth.keycloak.support.RealmIssuer;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.token.ActChain;
import jakarta.ws.rs.core.Response;
import java.util.List;
import java.util.Set;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.token.TokenContainment;
import org.keycloak.OAuth2Constants;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Details;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.grants.RefreshTokenGrantType;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.RefreshToken;
import org.keycloak.services.CorsErrorResponseException;

/**
 * Keycloak's refresh token grant, accepting a repeated {@code resource} (RFC 8707); the rules are applied by
 * {@link ResourceIndicatorsPostProcessor}. They are also checked here first, before Keycloak counts a use of the
 * refresh token, so that a refresh refused with {@code invalid_target} leaves the refresh token usable (as Keycloak's
 * own {@code invalid_scope} refusal does).
 */
public class ResourceRefreshTokenGrantType extends RefreshTokenGrantType {

    private final KeycloakSession keycloakSession;

    public ResourceRefreshTokenGrantType(KeycloakSession session) {
        this.keycloakSession = session;
    }

    @Override
    public Response process(Context context) {
        ResourceIndicators.stashEvent(keycloakSession, context.getEvent());
        setContext(context);
        checkResourcesFirst();
        return super.process(context);
    }

    private void checkResourcesFirst() {
        String encoded = formParams.getFirst(OAuth2Constants.REFRESH_TOKEN);
        if (encoded == null || client == null) {
            return;
        }
        List<String> requested = ResourceIndicators.requested(formParams);
        // most refreshes name no resource and were granted none: no second signature check for them
        if (requested.isEmpty() && DelegatedTokens.peek(encoded).map(t -> t.getOtherClaims().get(ResourceIndicators.REFRESH_CLAIM) == null).orElse(true)) {
            return;
        }
        RefreshToken rt;
        try {
            rt = tokenManager.verifyRefreshToken(session, realm, client, request, encoded, true);
        } catch (OAuthErrorException | RuntimeException e) {
            return; // the refresh grant itself refuses it, with its own error
        }
        List<String> original = ResourceIndicators.strings(rt.getOtherClaims().get(ResourceIndicators.REFRESH_CLAIM));
        try {
            // the grants behind a delegated refresh token are checked when the token is built (null: not known yet)
            ResourceIndicatorsPostProcessor.decide(realm, client, RealmIssuer.of(keycloakSession, realm), original,
                    requested, rt.getOtherClaims().get(ActChain.ACT), null);
        } catch (ResourceIndicatorsPostProcessor.Refusal r) {
            event.detail(AgentAuthEvents.RESOURCE, ResourceIndicators.safe(String.join(" ", r.resources)))
                    .detail(Details.REASON, r.getMessage()).error(OAuthErrorException.INVALID_TARGET);
            throw new CorsErrorResponseException(cors, OAuthErrorException.INVALID_TARGET, r.getMessage(), Response.Status.BAD_REQUEST);
        }
    }

    /** Tokens of this grant that carry {@code act} or {@code may_act} are contained (DESIGN section 3, rule 5). */
    @Override
    public boolean isTokenAllowed(KeycloakSession session, AccessToken token) {
        return TokenContainment.allowedAsBearer(session, token);
    }

    @Override
    public Set<String> getSupportedMultivaluedRequestParameters() {
        return Set.of(ResourceIndicators.PARAM);
    }
}
