package org.agentauth.keycloak.delegation.authz;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.OfflineAccess;
import org.agentauth.keycloak.delegation.exchange.ActorTokenVerifier;
import org.agentauth.keycloak.delegation.exchange.DelegationRules;
import org.agentauth.keycloak.support.ProtocolError;
import org.agentauth.keycloak.support.RealmIssuer;
import org.agentauth.keycloak.token.ActChain;
import org.agentauth.keycloak.token.DelegatedClientSessionContext;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.ClientModel;
import org.keycloak.models.ClientSessionContext;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.protocol.oidc.TokenManager;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.RefreshToken;

/**
 * The token a grant issues for an agent once the user's grant is verified (DESIGN sections 4.3 and 12): the code grant
 * with {@code requested_actor} and the CIBA grant share it. {@code act} names the agent, the scope is the grant's within
 * the agent's ceiling (claims too), {@code aud} within the agent's allowed audiences, an offline token only where ceiling
 * and grant include {@code offline_access}, and the refresh token records the grant and ends with it.
 */
public final class DelegatedIssue {

    /** What the grant type sends: the builder (its tokens shaped) and the context it was built for. */
    public record Issued(TokenManager.AccessTokenResponseBuilder builder, ClientSessionContext context) {
    }

    private DelegatedIssue() {
    }

    /**
     * The user's active grant to {@code agent} through {@code host}, as a one-hop delegation may use it.
     *
     * @throws ProtocolError when there is none, or the agent's policy refuses the hop
     */
    public static DelegationGrant verifiedGrant(KeycloakSession session, RealmModel realm, UserModel user, ClientModel host, AgentPolicy agent) {
        DelegationGrant grant = new DelegationRules(session, realm).verifyHop(user, host, null, agent);
        DelegationRules.checkDepth(1, List.of(agent));
        return grant;
    }

    /**
     * @param build the grant type's {@code createTokenResponseBuilder} for a context
     * @throws ProtocolError when the token cannot be issued (offline access no longer covered, audience or scope rules)
     */
    public static Issued issue(KeycloakSession session, RealmModel realm, ClientModel client, ActorTokenVerifier.VerifiedActor verified,
            DelegationGrant grant, ClientSessionContext clientSessionCtx, EventBuilder event,
            Function<ClientSessionContext, TokenManager.AccessTokenResponseBuilder> build) {
        AgentPolicy agent = verified.agent();
        // a connector's resource URI (bound to the request) is issued only for a connector this grant includes
        DelegatedTokens.noteGrantConnectors(session, grant.connectors());
        String issuer = RealmIssuer.of(session, realm);
        ActChain chain = ActChain.empty().wrap(new ActChain.Actor(verified.serviceAccount().getId(), agent.clientId(), issuer));
        Set<String> allowedScope = new LinkedHashSet<>(grant.scopes());
        allowedScope.retainAll(agent.allowedScopes());
        if (clientSessionCtx.isOfflineTokenRequested() && !OfflineAccess.covered(agent, grant.scopes())) {
            // refused before the user decided unless the ceiling allowed it; the policy or the grant may have changed since
            throw new ProtocolError(OAuthErrorException.INVALID_SCOPE,
                    "offline_access is not covered by the agent's scope ceiling and the user's grant", Errors.INVALID_SCOPE);
        }
        // the claims of the granted scopes only, whatever the client's default scopes (DESIGN section 3 rule 5, "Claims too")
        ClientSessionContext delegatedCtx = DelegatedClientSessionContext.restrict(session, clientSessionCtx, allowedScope);
        TokenManager.AccessTokenResponseBuilder rb = build.apply(delegatedCtx);
        AccessToken at = rb.getAccessToken();
        List<String> aud = at.getAudience() == null ? List.of() : DelegatedTokens.allowedAudience(realm, agent, List.of(at.getAudience()));
        Set<String> scope = DelegatedTokens.shape(at, chain, client.getClientId(), List.of(grant.id()), allowedScope, aud, DelegatedTokens.Roles.of(at));
        RefreshToken rt = rb.getRefreshToken();
        if (rt != null) {
            rt.setScope(at.getScope());
            DelegatedTokens.recordInRefreshToken(rt, at);
            DelegatedTokens.capExpiry(rt, grant.expiresAt());
        }
        new DelegationRules(session, realm).touch(List.of(grant));
        event.detail(AgentAuthEvents.ACT_CHAIN, chain.describe())
                .detail(AgentAuthEvents.HOST, client.getClientId())
                .detail(AgentAuthEvents.GRANT_ID, grant.id())
                .detail(AgentAuthEvents.SCOPE, String.join(" ", scope));
        return new Issued(rb, delegatedCtx);
    }
}
