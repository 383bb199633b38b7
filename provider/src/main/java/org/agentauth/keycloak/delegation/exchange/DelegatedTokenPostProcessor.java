package org.agentauth.keycloak.delegation.exchange;

import org.agentauth.keycloak.audit.Audit;
import org.agentauth.keycloak.support.Strings;
import org.agentauth.keycloak.support.ProtocolError;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.token.ActChain;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.delegation.OfflineAccess;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.resource.ResourceIndicators;
import org.jboss.logging.Logger;
import org.keycloak.events.Details;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.events.Errors;
import org.keycloak.OAuth2Constants;
import org.keycloak.OAuthErrorException;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.token.TokenInterceptorException;
import org.keycloak.protocol.oidc.token.TokenPostProcessor;
import org.keycloak.protocol.oidc.token.TokenPostProcessorContext;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.RefreshToken;
import org.keycloak.util.TokenUtil;

/**
 * Keeps delegation across refresh (DESIGN section 3, rule 8). When a delegated exchange issues a refresh token, the
 * refresh token records the act chain, host, the grants it is bound to, audience and roles (it is signed by the realm, so it cannot be
 * altered). When such a refresh token is used, the exact grant(s) it is bound to, their expiry, the agents and their policies are checked
 * again and the new access token gets the same {@code act} and narrowing; any failure is {@code invalid_grant}.
 * Refresh tokens never outlive the grant.
 *
 * <p>This is the only refresh path for delegated tokens, whichever grant issued them: refresh tokens of the delegated
 * authorization code flow (DESIGN 4.4) carry the same claims, recorded (and capped at the grant's expiry) by
 * {@code DelegatedAuthorizationCodeGrantType} itself, so the issue-time branch below is needed for token exchange only.
 */
public class DelegatedTokenPostProcessor implements TokenPostProcessor {

    private static final Logger LOG = Logger.getLogger(DelegatedTokenPostProcessor.class);

    private final KeycloakSession session;

    public DelegatedTokenPostProcessor(KeycloakSession session) {
        this.session = session;
    }

    @Override
    public void process(TokenPostProcessorContext ctx) {
        RefreshToken old = ctx.requestRefreshToken();
        if (old != null && DelegatedTokens.isDelegated(old)) {
            refreshed(ctx, old);
        } else if (old == null && ctx.refreshToken() != null && ctx.accessToken() != null
                && DelegatedTokens.isDelegated(ctx.accessToken()) && isTokenExchange(ctx)) {
            DelegatedTokens.recordInRefreshToken(ctx.refreshToken(), ctx.accessToken());
            List<String> resources = DelegatedTokens.exchangeResources(session);
            if (!resources.isEmpty()) {
                ctx.refreshToken().setOtherClaims(ResourceIndicators.REFRESH_CLAIM, resources);
            }
            DelegatedTokens.capExpiry(ctx.refreshToken(), check(ctx, ctx.accessToken().getOtherClaims().get(ActChain.ACT),
                    ctx.accessToken().getOtherClaims().get(DelegatedTokens.HOST_CLAIM), DelegatedTokens.boundGrants(ctx.accessToken())).expiresAt());
        }
    }

    private static boolean isTokenExchange(TokenPostProcessorContext ctx) {
        return ctx.clientSessionCtx() != null && OAuth2Constants.TOKEN_EXCHANGE_GRANT_TYPE.equals(
                ctx.clientSessionCtx().getAttribute(org.keycloak.models.Constants.GRANT_TYPE, String.class));
    }

    private void refreshed(TokenPostProcessorContext ctx, RefreshToken old) {
        Object act = old.getOtherClaims().get(ActChain.ACT);
        List<String> bound = DelegatedTokens.boundGrants(old);
        DelegationRules.ChainCheck check = check(ctx, act, old.getOtherClaims().get(DelegatedTokens.HOST_CLAIM), bound);
        ActChain chain = ActChain.parse(act);
        AgentPolicy current = AgentPolicy.enabledAgent(realm(), chain.current().clientId()).orElseThrow();
        if (!current.refreshAllowed()) {
            throw refused(ctx, act, "Agent " + current.clientId() + " may no longer refresh delegated tokens");
        }
        if (TokenUtil.TOKEN_TYPE_OFFLINE.equals(old.getType()) && !OfflineAccess.covered(current, check.grantScopes())) {
            throw refused(ctx, act, "offline_access is no longer within the scope ceiling of agent " + current.clientId()
                    + " and the user's grant");
        }
        AccessToken at = ctx.accessToken();
        if (at == null) {
            throw refused(ctx, act, "Delegated refresh without an access token");
        }
        Set<String> allowedScope = new LinkedHashSet<>(check.grantScopes());
        allowedScope.retainAll(current.allowedScopes());
        allowedScope.retainAll(DelegatedTokens.issuedScope(old));
        // the resource post-processor (after this one) re-issues a connector's resource URI only if every grant still includes it
        Set<String> connectors = new LinkedHashSet<>(check.grants().isEmpty() ? Set.of() : check.grants().get(0).connectors());
        check.grants().forEach(g -> connectors.retainAll(g.connectors()));
        DelegatedTokens.noteGrantConnectors(session, connectors);
        List<String> aud = DelegatedTokens.allowedAudience(realm(), current, Strings.strings(old.getOtherClaims().get(DelegatedTokens.AUD_CLAIM)));
        try {
            DelegatedTokens.shape(at, chain, (String) old.getOtherClaims().get(DelegatedTokens.HOST_CLAIM), bound, allowedScope, aud,
                    DelegatedTokens.Roles.fromClaim(old.getOtherClaims().get(DelegatedTokens.ROLES_CLAIM)));
        } catch (ProtocolError e) {
            throw refused(ctx, act, e.description());
        }
        if (ctx.refreshToken() != null) {
            RefreshToken rt = ctx.refreshToken();
            rt.setOtherClaims(ActChain.ACT, act);
            rt.setOtherClaims(DelegatedTokens.HOST_CLAIM, old.getOtherClaims().get(DelegatedTokens.HOST_CLAIM));
            rt.setOtherClaims(DelegatedTokens.GRANTS_CLAIM, bound);
            rt.setOtherClaims(DelegatedTokens.AUD_CLAIM, aud);
            rt.setOtherClaims(DelegatedTokens.ROLES_CLAIM, old.getOtherClaims().get(DelegatedTokens.ROLES_CLAIM));
            rt.setOtherClaims(DelegatedTokens.SCOPE_CLAIM, String.join(" ", DelegatedTokens.issuedScope(old)));
            DelegatedTokens.capExpiry(rt, check.expiresAt());
        }
        new DelegationRules(session, realm()).touch(check.grants());
    }

    /** Re-checks the whole chain against the grants the token is bound to; every failure is {@code invalid_grant}. */
    private DelegationRules.ChainCheck check(TokenPostProcessorContext ctx, Object act, Object host, List<String> boundGrants) {
        try {
            ActChain chain = ActChain.parse(act);
            RealmModel realm = realm();
            ClientModel hostClient = host instanceof String h ? realm.getClientByClientId(h) : null;
            if (chain.isEmpty() || hostClient == null) {
                throw ProtocolError.invalidRequest("The delegated token names no host client");
            }
            UserModel user = ctx.clientSessionCtx().getClientSession().getUserSession().getUser();
            return new DelegationRules(session, realm).verifyChain(user, hostClient, chain, boundGrants);
        } catch (ProtocolError e) {
            throw refused(ctx, act, e.description());
        } catch (IllegalArgumentException e) {
            throw refused(ctx, null, "Invalid act claim in the refresh token");
        }
    }

    /**
     * A refused delegated refresh (or refresh-token issue): {@code invalid_grant} for the client, and a
     * {@code REFRESH_TOKEN_ERROR} event (Keycloak's refresh grant records none for errors thrown by token
     * post-processors). Neither contains a token.
     */
    private TokenInterceptorException refused(TokenPostProcessorContext ctx, Object act, String description) {
        LOG.debugf("delegated refresh refused: %s", description);
        try {
            RealmModel realm = realm();
            EventBuilder event = new EventBuilder(realm, session, session.getContext().getConnection())
                    .event(ctx.requestRefreshToken() != null ? EventType.REFRESH_TOKEN : EventType.TOKEN_EXCHANGE);
            if (session.getContext().getClient() != null) {
                event.client(session.getContext().getClient());
            }
            UserSessionModel userSession = ctx.clientSessionCtx() == null ? null : ctx.clientSessionCtx().getClientSession().getUserSession();
            if (userSession != null) {
                event.user(userSession.getUser()).session(userSession);
            }
            try {
                ActChain chain = ActChain.parse(act);
                if (!chain.isEmpty()) {
                    event.detail(AgentAuthEvents.AGENT, chain.current().clientId()).detail(AgentAuthEvents.ACT_CHAIN, chain.describe());
                }
            } catch (IllegalArgumentException ignored) {
                // no chain to name
            }
            Audit.refused(event, description, Errors.INVALID_TOKEN);
        } catch (RuntimeException e) {
            LOG.debugf("could not record the refused delegated refresh: %s", e.getClass().getName());
        }
        return new TokenInterceptorException(OAuthErrorException.INVALID_GRANT, description);
    }


    private RealmModel realm() {
        return session.getContext().getRealm();
    }

    @Override
    public void close() {
    }
}
