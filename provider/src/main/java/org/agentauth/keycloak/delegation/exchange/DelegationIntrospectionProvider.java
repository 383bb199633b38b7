package org.agentauth.keycloak.delegation.exchange;

import org.agentauth.keycloak.support.ProtocolError;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.token.ActChain;
import org.agentauth.keycloak.agent.ResourceServers;
import org.agentauth.keycloak.resource.ResourceIndicators;
import org.agentauth.keycloak.token.TokenContainment;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.keycloak.events.Details;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.Errors;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.AccessTokenIntrospectionProvider;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.JsonWebToken;
import org.keycloak.util.JsonSerialization;

/**
 * Access-token introspection that knows delegated tokens (DESIGN section 3, rules 5 and 7): the response shows
 * {@code act} and nothing beyond the token's granted scopes, and a delegated token whose grant (the exact one it was issued
 * under) was revoked or expired, or whose agent or policy no longer allows it, is {@code active: false}. A resource URI in {@code aud} counts as its owning client for the audience check.
 */
public class DelegationIntrospectionProvider extends AccessTokenIntrospectionProvider<AccessToken> {

    public DelegationIntrospectionProvider(KeycloakSession session) {
        super(session);
    }

    @Override
    protected boolean introspectionChecks(String tokenStr) {
        if (!super.introspectionChecks(tokenStr)) {
            return false;
        }
        if (stillDelegated(session, realm, user, token, eventBuilder)) {
            return true;
        }
        transformedToken = null;
        return false;
    }

    @Override
    public Response introspect(String tokenStr, EventBuilder eventBuilder) {
        return withinGrant(super.introspect(tokenStr, eventBuilder), transformedToken);
    }

    /**
     * Keycloak's introspection answer adds {@code username} (the user's username) to a token that carries no
     * {@code preferred_username}. A token carrying {@code act} answers only within its granted scopes (DESIGN section 3
     * rule 5, "Claims too"): the username is the {@code profile} scope's claim, so it is left out unless the token
     * carries it.
     */
    static Response withinGrant(Response response, AccessToken introspected) {
        if (introspected == null || !DelegatedTokens.isDelegated(introspected) || introspected.getPreferredUsername() != null
                || !(response.getEntity() instanceof byte[] body)) {
            return response;
        }
        try {
            ObjectNode answer = JsonSerialization.readValue(body, ObjectNode.class);
            if (answer.remove("username") == null) {
                return response;
            }
            return Response.fromResponse(response).entity(JsonSerialization.writeValueAsBytes(answer)).build();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * True for a token without {@code act}, or one whose whole chain is still consented (by the exact grants it is bound
     * to) and allowed. Otherwise
     * records why on the introspection event (an {@code INTROSPECT_TOKEN_ERROR}).
     */
    public static boolean stillDelegated(KeycloakSession session, RealmModel realm, UserModel user, JsonWebToken token, EventBuilder event) {
        if (!DelegatedTokens.isDelegated(token)) {
            return true;
        }
        try {
            ActChain chain = ActChain.parse(token.getOtherClaims().get(ActChain.ACT));
            Object host = token.getOtherClaims().get(DelegatedTokens.HOST_CLAIM);
            ClientModel hostClient = host instanceof String h ? realm.getClientByClientId(h) : null;
            if (hostClient == null || user == null) {
                throw ProtocolError.invalidToken("delegated token without a known host client or user");
            }
            new DelegationRules(session, realm).verifyChain(user, hostClient, chain, DelegatedTokens.boundGrants(token));
            return true;
        } catch (ProtocolError | IllegalArgumentException e) {
            event.detail(Details.REASON, "delegation no longer valid: " + e.getMessage());
            event.error(Errors.INVALID_TOKEN);
            return false;
        }
    }

    /**
     * Keycloak lets a client introspect a token only when it is in the token's audience. A resource URI counts as the
     * client that owns it (DESIGN section 9), so an MCP server can introspect the tokens issued for its URI.
     */
    @Override
    protected boolean verifyAudience() {
        ClientModel caller = session.getContext().getClient();
        String[] aud = token.getAudience() != null ? token.getAudience() : (transformedToken == null ? null : transformedToken.getAudience());
        if (caller != null && aud != null && ResourceServers.ownsAny(caller, java.util.List.of(aud))) {
            return true;
        }
        return super.verifyAudience();
    }

    /**
     * Keycloak rebuilds a token from the user session here, for introspection and for its Account REST API when a
     * token lacks {@code aud} or {@code resource_access}; the rebuild re-derives roles and audiences from the session
     * and the {@code azp} client's scopes. A token carrying {@code act} or {@code may_act} is never rebuilt: the answer
     * is exactly what the signed token carries (less Keycloak's own clients), never more (DESIGN section 3, rule 5).
     */
    @Override
    public AccessToken transformAccessToken(AccessToken token, UserSessionModel userSession) {
        if (TokenContainment.carriesDelegation(token)) {
            TokenContainment.contain(token);
            return token;
        }
        return super.transformAccessToken(token, userSession);
    }
}
