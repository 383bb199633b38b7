package org.agentauth.keycloak.delegation.authz;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.delegation.AgentPolicy;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrants;
import org.jboss.logging.Logger;
import org.keycloak.OAuth2Constants;
import org.keycloak.OAuthErrorException;
import org.keycloak.models.ClientModel;
import org.keycloak.models.Constants;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.protocol.oidc.token.TokenInterceptorException;
import org.keycloak.protocol.oidc.token.TokenPostProcessor;
import org.keycloak.protocol.oidc.token.TokenPostProcessorContext;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.RefreshToken;

/**
 * Keeps {@code act} across refresh for tokens of the delegated code flow (DESIGN 4.4, section 3 rule 8): the refresh
 * token records act and host (signed by the realm); on refresh the agent, its policy and the user's grant are
 * checked again and the new access token is shaped the same way; any failure is {@code invalid_grant}, never a token
 * without {@code act}.
 *
 * <p>Merge note: the exchange branch's {@code DelegatedTokenPostProcessor} handles refresh tokens with the same claims;
 * once merged, one of the two refresh paths should go.
 */
public class AuthzRefreshPostProcessor implements TokenPostProcessor {

    private static final Logger LOG = Logger.getLogger(AuthzRefreshPostProcessor.class);

    private final KeycloakSession session;

    public AuthzRefreshPostProcessor(KeycloakSession session) {
        this.session = session;
    }

    @Override
    public void process(TokenPostProcessorContext ctx) {
        RefreshToken old = ctx.requestRefreshToken();
        if (old == null || old.getOtherClaims().get(AuthzDelegatedTokens.ACT) == null
                || !(old.getOtherClaims().get(AuthzDelegatedTokens.HOST_CLAIM) instanceof String hostId)
                || ctx.clientSessionCtx() == null
                || !OAuth2Constants.REFRESH_TOKEN.equals(ctx.clientSessionCtx().getAttribute(Constants.GRANT_TYPE, String.class))) {
            return;
        }
        Object act = old.getOtherClaims().get(AuthzDelegatedTokens.ACT);
        RealmModel realm = session.getContext().getRealm();
        String actor = AuthzDelegatedTokens.actorClientId(act);
        AgentPolicy agent = AgentPolicy.enabledAgent(realm, actor).orElseThrow(() -> refused("The agent is no longer enabled"));
        ClientModel host = realm.getClientByClientId(hostId);
        if (host == null || !agent.allowsHost(hostId)) {
            throw refused("The agent no longer allows this host");
        }
        if (!agent.refreshAllowed()) {
            throw refused("The agent may no longer refresh delegated tokens");
        }
        UserModel sa = session.users().getServiceAccount(agent.client());
        if (sa == null || !sa.getId().equals(AuthzDelegatedTokens.actorSub(act))) {
            throw refused("The agent's service account changed");
        }
        UserModel user = ctx.clientSessionCtx().getClientSession().getUserSession().getUser();
        DelegationGrants grants = new DelegationGrants(session);
        Optional<DelegationGrant> grant = grants.findActive(realm, user.getId(), agent.client(), host);
        if (grant.isEmpty()) {
            throw refused("The delegation grant was revoked or has expired");
        }
        AccessToken at = ctx.accessToken();
        if (at == null) {
            throw refused("Delegated refresh without an access token");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> actMap = (Map<String, Object>) act;
        Set<String> scope = AuthzDelegatedTokens.shape(at, actMap, hostId,
                AuthzDelegatedTokens.intersect(grant.get().scopes(), agent.allowedScopes()));
        if (scope.isEmpty()) {
            throw refused("No scope is left for the delegated token");
        }
        if (ctx.refreshToken() != null) {
            AuthzDelegatedTokens.recordInRefreshToken(ctx.refreshToken(), at);
            AuthzDelegatedTokens.capExpiry(ctx.refreshToken(), grant.get().expiresAt());
        }
        grants.touch(grant.get().id());
    }

    private static TokenInterceptorException refused(String why) {
        LOG.debugf("delegated refresh refused: %s", why);
        return new TokenInterceptorException(OAuthErrorException.INVALID_GRANT, why);
    }

    @Override
    public void close() {
    }
}
