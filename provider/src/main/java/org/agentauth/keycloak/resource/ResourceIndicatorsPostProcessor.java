package org.agentauth.keycloak.resource;

import org.agentauth.keycloak.support.RealmIssuer;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.agent.ConnectorResources;
import org.agentauth.keycloak.agent.ResourceServers;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.token.ActChain;
import org.jboss.logging.Logger;
import org.keycloak.OAuth2Constants;
import org.keycloak.OAuthErrorException;
import org.keycloak.events.Details;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.ClientModel;
import org.keycloak.models.Constants;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.token.TokenInterceptorException;
import org.keycloak.protocol.oidc.token.TokenPostProcessor;
import org.keycloak.protocol.oidc.token.TokenPostProcessorContext;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.RefreshToken;

/**
 * {@code resource} at the token endpoint (RFC 8707, DESIGN section 9), for every grant but token exchange (which has
 * its own audience rules): the access token's {@code aud} is exactly the requested resource URI(s).
 * <ul>
 * <li>A code (its resources, bound at the authorization endpoint, see {@link ResourceIndicatorCheckProvider}) or a
 * refresh token (its resources, recorded in {@link ResourceIndicators#REFRESH_CLAIM}) authorized with resources:
 * a request without {@code resource} gets all of them, a request may name any subset, anything else is
 * {@code invalid_target}.</li>
 * <li>Otherwise a requested resource must be a resource URI of an enabled client that the requesting client may ask
 * for; the issued refresh token records it, so later refreshes can only narrow.</li>
 * <li>Neither the grant nor the request names a resource: nothing changes.</li>
 * </ul>
 * Every resource is checked again against the current configuration at each issue; a delegated token ({@code act})
 * only gets resources that the acting agent's allowed audiences name (the URI or its owning client). Runs after the delegation
 * post-processor (lower order), so the resource decides {@code aud} last.
 */
public class ResourceIndicatorsPostProcessor implements TokenPostProcessor {

    private static final Logger LOG = Logger.getLogger(ResourceIndicatorsPostProcessor.class);

    /** Keycloak's client-session note of the resource a CIBA request was bound to (see the {@code ciba} package). */
    static final String CIBA_RESOURCE_NOTE = "ciba_backchannel_request_param_agent_auth_resource";

    private final KeycloakSession session;

    public ResourceIndicatorsPostProcessor(KeycloakSession session) {
        this.session = session;
    }

    @Override
    public void process(TokenPostProcessorContext ctx) {
        AccessToken at = ctx.accessToken();
        if (at == null || ctx.clientSessionCtx() == null) {
            return;
        }
        String grantType = ctx.clientSessionCtx().getAttribute(Constants.GRANT_TYPE, String.class);
        if (OAuth2Constants.TOKEN_EXCHANGE_GRANT_TYPE.equals(grantType)) {
            return;
        }
        nameMayActAgent(at);
        List<String> requestedRaw = requestedResources();
        List<String> original = null;
        if (ctx.code() != null && OAuth2Constants.AUTHORIZATION_CODE.equals(grantType)) {
            // as the client sent it at the authorization endpoint (checked there): normalized here
            original = new ArrayList<>();
            for (String r : ResourceIndicators.splitList(ctx.code().getResource())) {
                try {
                    original.add(ResourceServers.normalize(r));
                } catch (IllegalArgumentException e) {
                    throw refused(List.of(r), e.getMessage());
                }
            }
        } else if (OAuth2Constants.CIBA_GRANT_TYPE.equals(grantType)) {
            // bound at the backchannel endpoint (checked and normalized there), carried in the auth_req_id; Keycloak
            // makes a client-session note of it in the fresh session of every CIBA token
            String bound = ctx.clientSessionCtx().getClientSession().getNote(CIBA_RESOURCE_NOTE);
            original = bound == null || bound.isBlank() ? List.of() : List.of(bound.trim().split(" "));
        } else if (ctx.requestRefreshToken() != null) {
            original = ResourceIndicators.strings(ctx.requestRefreshToken().getOtherClaims().get(ResourceIndicators.REFRESH_CLAIM));
        }
        if ((original == null || original.isEmpty()) && requestedRaw.isEmpty()) {
            return;
        }
        RealmModel realm = session.getContext().getRealm();
        ClientModel client = ctx.clientSessionCtx().getClientSession().getClient();
        Decision decision;
        try {
            decision = decide(realm, client, RealmIssuer.of(session, realm), original, requestedRaw, at.getOtherClaims().get(ActChain.ACT),
                    DelegatedTokens.grantConnectors(session));
        } catch (Refusal r) {
            throw refused(r.resources, r.getMessage());
        }
        Set<String> authorized = decision.authorized();
        List<String> effective = decision.effective();

        at.audience(effective.toArray(String[]::new));
        RefreshToken rt = ctx.refreshToken();
        if (rt != null) {
            rt.setOtherClaims(ResourceIndicators.REFRESH_CLAIM, List.copyOf(authorized));
        }
        EventBuilder event = event();
        if (event != null) {
            event.detail(AgentAuthEvents.RESOURCE, ResourceIndicators.join(effective));
        }
        LOG.debugf("aud set to resources %s for client %s", effective, client.getClientId());
    }

    /** The resources a token request was authorized for, and the ones this token gets ({@code aud}). */
    record Decision(Set<String> authorized, List<String> effective) {
    }

    /** A refused resource request ({@code invalid_target}); {@link #resources} name it on the event. */
    static final class Refusal extends RuntimeException {
        final List<String> resources;

        Refusal(List<String> resources, String description) {
            super(description, null, false, false);
            this.resources = resources;
        }
    }

    /**
     * The resource rules of a token request, without side effects, so that the refresh grant can run them before
     * Keycloak counts a use of the refresh token (a refused refresh leaves it usable, DESIGN section 9).
     *
     * @param original the resources the code or refresh token was authorized for (null or empty: none)
     * @param requestedRaw the request's {@code resource} values
     * @param act the {@code act} claim of the token being issued (a delegated token), or null
     * @param grantConnectors the connectors every grant behind the token includes; null when not known yet (the refresh
     *        grant's early check: the token's own issue checks them)
     * @return null when neither the grant nor the request names a resource
     * @throws Refusal {@code invalid_target}
     */
    static Decision decide(RealmModel realm, ClientModel client, String issuer, List<String> original, List<String> requestedRaw,
            Object act, Set<String> grantConnectors) {
        if ((original == null || original.isEmpty()) && requestedRaw.isEmpty()) {
            return null;
        }
        List<String> requested = new ArrayList<>();
        for (String r : requestedRaw) {
            try {
                requested.add(ResourceServers.normalize(r));
            } catch (IllegalArgumentException e) {
                throw new Refusal(requestedRaw, e.getMessage());
            }
        }
        Set<String> authorized;
        List<String> effective;
        if (original != null && !original.isEmpty()) {
            authorized = new LinkedHashSet<>(original);
            if (requested.isEmpty()) {
                effective = List.copyOf(authorized);
            } else {
                for (String r : requested) {
                    if (!authorized.contains(r)) {
                        throw new Refusal(requestedRaw, "The resource " + ResourceIndicators.safe(r)
                                + " was not authorized for this grant; authorized: " + ResourceIndicators.join(authorized));
                    }
                }
                effective = List.copyOf(new LinkedHashSet<>(requested));
            }
        } else {
            authorized = new LinkedHashSet<>(requested);
            effective = List.copyOf(authorized);
        }
        List<String> named = requestedRaw.isEmpty() ? effective : requestedRaw;
        List<String> connectors = authorized.stream().map(r -> ConnectorResources.aliasOf(issuer, r)).filter(a -> a != null).toList();
        if (!connectors.isEmpty()) {
            // a token for a connector's proxy is for nothing else: no other API it reaches could replay it there
            if (authorized.size() > 1) {
                throw new Refusal(named, "A connector's resource cannot be combined with other resources");
            }
            checkConnector(realm, act, connectors.get(0), grantConnectors, named);
            return new Decision(authorized, effective);
        }
        try {
            // the configuration may have changed since the grant: check again
            ResourceServers.validate(realm, client, authorized);
        } catch (IllegalArgumentException e) {
            throw new Refusal(named, e.getMessage());
        }
        checkAgentPolicy(realm, act, effective, named);
        return new Decision(authorized, effective);
    }

    /**
     * A connector's resource URI (DESIGN section 5): only for a delegated token ({@code act}: the {@code requested_actor}
     * code flow and its refresh), for an existing connector that the acting agent's policy and every grant behind the
     * token include.
     */
    private static void checkConnector(RealmModel realm, Object act, String alias, Set<String> grantConnectors, List<String> named) {
        ActChain chain;
        try {
            chain = act == null ? ActChain.empty() : ActChain.parse(act);
        } catch (IllegalArgumentException e) {
            throw new Refusal(named, "Invalid act claim");
        }
        if (chain.isEmpty()) {
            throw new Refusal(named, "A connector's resource is only for an agent acting for the user (requested_actor with actor_token)");
        }
        if (!ConnectorResources.exists(realm, alias)) {
            throw new Refusal(named, "Unknown connector: " + alias);
        }
        String agentId = chain.current().clientId();
        AgentPolicy agent = AgentPolicy.enabledAgent(realm, agentId)
                .orElseThrow(() -> new Refusal(named, "The acting agent is not an enabled agent"));
        if (!agent.allowedConnectors().contains(alias)) {
            throw new Refusal(named, "Connector " + alias + " is not allowed for agent " + agentId);
        }
        if (grantConnectors != null && !grantConnectors.contains(alias)) {
            throw new Refusal(named, "Connector " + alias + " is not in the user's delegation grant");
        }
    }

    /**
     * A delegated token ({@code act}) may only be issued for resources the acting agent's policy allows: the resource
     * URI itself or the client that owns it must be among the agent's allowed audiences.
     */
    private static void checkAgentPolicy(RealmModel realm, Object act, List<String> effective, List<String> named) {
        if (act == null) {
            return;
        }
        ActChain chain;
        try {
            chain = ActChain.parse(act);
        } catch (IllegalArgumentException e) {
            throw new Refusal(named, "Invalid act claim");
        }
        if (chain.isEmpty()) {
            return;
        }
        String agentId = chain.current().clientId();
        AgentPolicy agent = AgentPolicy.enabledAgent(realm, agentId)
                .orElseThrow(() -> new Refusal(named, "The acting agent is not an enabled agent"));
        for (String r : effective) {
            if (!DelegatedTokens.audienceAllowed(realm, agent, r)) {
                throw new Refusal(named, "The resource " + ResourceIndicators.safe(r)
                        + " is not among the allowed audiences of agent " + agentId);
            }
        }
    }

    /** Consent by scope: the issue event names the agent the token's {@code may_act} allows (DESIGN section 7). */
    private void nameMayActAgent(AccessToken at) {
        EventBuilder event = event();
        if (event != null && at.getOtherClaims().get(ActChain.MAY_ACT) instanceof java.util.Map<?, ?> m
                && m.get("client_id") instanceof String agent) {
            event.detail(AgentAuthEvents.AGENT, agent);
        }
    }

    /**
     * The {@code resource} parameters of the token request. Nothing here can fail: token post-processors run while
     * Keycloak answers an HTTP request, whose form it has already parsed (the token endpoint reads it first; reading it
     * again returns that parsed form, empty for a request without one). Only a token built outside any HTTP request
     * has no request, and so no {@code resource} parameter; the resources bound to its code or refresh token still
     * apply.
     */
    private List<String> requestedResources() {
        org.keycloak.http.HttpRequest request = session.getContext().getHttpRequest();
        return ResourceIndicators.requested(request == null ? null : request.getDecodedFormParameters());
    }

    private EventBuilder event() {
        Object e = session.getAttribute(ResourceIndicators.EVENT_ATTRIBUTE);
        return e instanceof EventBuilder b ? b : null;
    }

    private TokenInterceptorException refused(List<String> resources, String description) {
        EventBuilder event = event();
        if (event != null) {
            event.detail(AgentAuthEvents.RESOURCE, ResourceIndicators.safe(String.join(" ", resources)))
                    .detail(Details.REASON, description).error(OAuthErrorException.INVALID_TARGET);
        }
        return new TokenInterceptorException(OAuthErrorException.INVALID_TARGET, description);
    }

    @Override
    public void close() {
    }
}
