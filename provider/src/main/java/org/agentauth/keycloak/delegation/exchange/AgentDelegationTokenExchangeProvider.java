package org.agentauth.keycloak.delegation.exchange;

import org.agentauth.keycloak.support.RealmIssuer;
import org.agentauth.keycloak.token.TokenContainment;
import org.agentauth.keycloak.audit.Audit;
import org.agentauth.keycloak.support.Strings;
import org.agentauth.keycloak.support.ProtocolError;
import org.agentauth.keycloak.token.ScopeNarrowing;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.token.DelegatedClientSessionContext;
import org.agentauth.keycloak.token.ActChain;
import org.agentauth.keycloak.agent.ConnectorResources;
import org.agentauth.keycloak.agent.ResourceServers;
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.resource.ResourceIndicators;
import org.jboss.logging.Logger;
import org.keycloak.OAuth2Constants;
import org.keycloak.events.Details;
import org.keycloak.models.ClientModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.protocol.oidc.OIDCAdvancedConfigWrapper;
import org.keycloak.protocol.oidc.TokenExchangeContext;
import org.keycloak.protocol.oidc.TokenManager;
import org.keycloak.protocol.oidc.encode.TokenContextEncoderProvider;
import org.keycloak.protocol.oidc.tokenexchange.StandardTokenExchangeProvider;
import org.keycloak.representations.AccessToken;
import org.keycloak.representations.AccessTokenResponse;
import org.keycloak.services.CorsErrorResponseException;
import org.keycloak.services.managers.AuthenticationManager;
import org.keycloak.services.util.UserSessionUtil;

/**
 * Agent delegation by token exchange (RFC 8693 with {@code actor_token}, DESIGN section 3). Reuses Keycloak's
 * standard token exchange for sessions, mappers, signing and the response, and adds: actor verification, the
 * user's delegation grant, narrowing, the nested {@code act} claim and delegation events.
 */
public class AgentDelegationTokenExchangeProvider extends StandardTokenExchangeProvider {

    private static final Logger LOG = Logger.getLogger(AgentDelegationTokenExchangeProvider.class);

    /** Event detail: the acting agent's client_id. */
    public static final String DETAIL_AGENT = "agent";
    /** Event detail: the act chain, current actor first, e.g. {@code research-agent<calendar-agent}. */
    public static final String DETAIL_ACT_CHAIN = "act_chain";
    /** Event detail: the scope of the issued token. */
    public static final String DETAIL_SCOPE = "scope";


    // Per request (providers are created per session).
    private ActChain issuedChain;
    private String hostClientId;
    private List<String> issuedGrants;
    private Set<String> narrowedScope;
    private List<String> audience;
    private DelegatedTokens.Roles subjectRoles;
    private String requestedTokenType;

    @Override
    public boolean supports(TokenExchangeContext context) {
        TokenExchangeContext.Params p = context.getParams();
        if (p.getActorToken() != null || p.getActorTokenType() != null) {
            return true;
        }
        if (AgentPolicy.isAgent(context.getClient()) && !subjectCarriesDelegation(p.getSubjectToken())) {
            // DESIGN section 9: an agent never acts for a user without a grant and act, so its actor-less exchange of a
            // user's token is refused here (delegate() asks for actor_token) rather than served by Keycloak's standard one.
            return true;
        }
        if (subjectCarriesDelegation(p.getSubjectToken())) {
            if (context.getFormParams().getFirst(OAuth2Constants.REQUESTED_ISSUER) != null) {
                context.setUnsupportedReason("Agent delegation: a request with requested_issuer and no actor_token is a vault exchange");
                return false;
            }
            return true;
        }
        context.setUnsupportedReason("Agent delegation needs actor_token, or a subject_token carrying act or may_act");
        return false;
    }

    /** Reads the subject token without verifying it, only to route the request. */
    static boolean subjectCarriesDelegation(String subjectToken) {
        return DelegatedTokens.peek(subjectToken).map(TokenContainment::carriesDelegation).orElse(false);
    }

    @Override
    protected Response tokenExchange() {
        try {
            return withoutIdToken(delegate());
        } catch (ProtocolError e) {
            Audit.refused(event, e);
            throw new CorsErrorResponseException(cors, e.error(), e.description(), e.status());
        }
    }

    /**
     * RFC 8693 returns the requested token type only. Keycloak's standard exchange adds an ID token whenever the
     * {@code scope} parameter contains {@code openid}; that ID token would carry the user's identity without
     * {@code act}, so a delegated exchange never returns one.
     */
    static Response withoutIdToken(Response response) {
        if (response != null && response.getEntity() instanceof AccessTokenResponse res && res.getIdToken() != null) {
            res.setIdToken(null);
        }
        return response;
    }

    private Response delegate() {
        String actorToken = params.getActorToken();
        String actorTokenType = params.getActorTokenType();
        if (actorToken == null && actorTokenType == null) {
            if (!subjectCarriesDelegation(params.getSubjectToken())) {
                throw ProtocolError.invalidRequest("Client " + client.getClientId() + " is an agent: it acts for a user only by "
                        + "agent delegation, send its actor_token and actor_token_type (and hold the user's delegation grant)");
            }
            throw ProtocolError.invalidRequest("This subject_token carries act or may_act: exchanging it needs the agent's actor_token and actor_token_type");
        }
        if (actorToken == null || actorTokenType == null) {
            throw ProtocolError.invalidRequest("actor_token and actor_token_type must be sent together");
        }
        for (String p : List.of(OAuth2Constants.REQUESTED_SUBJECT, OAuth2Constants.SUBJECT_ISSUER, OAuth2Constants.REQUESTED_ISSUER)) {
            if (formParams.getFirst(p) != null) {
                throw ProtocolError.invalidRequest("Parameter " + p + " is not supported with actor_token");
            }
        }
        if (params.getSubjectToken() == null) {
            throw ProtocolError.invalidRequest("subject_token is required");
        }
        if (!OAuth2Constants.ACCESS_TOKEN_TYPE.equals(params.getSubjectTokenType())) {
            throw ProtocolError.invalidRequest("subject_token_type must be " + OAuth2Constants.ACCESS_TOKEN_TYPE);
        }
        requestedTokenType = params.getRequestedTokenType() == null ? OAuth2Constants.ACCESS_TOKEN_TYPE : params.getRequestedTokenType();
        if (!OAuth2Constants.ACCESS_TOKEN_TYPE.equals(requestedTokenType) && !OAuth2Constants.REFRESH_TOKEN_TYPE.equals(requestedTokenType)) {
            throw ProtocolError.invalidRequest("requested_token_type must be " + OAuth2Constants.ACCESS_TOKEN_TYPE + " or " + OAuth2Constants.REFRESH_TOKEN_TYPE);
        }
        if (client.isPublicClient() || client.isBearerOnly()) {
            throw ProtocolError.unauthorizedClient("Only a confidential client may request agent delegation");
        }
        if (!OIDCAdvancedConfigWrapper.fromClientModel(client).isStandardTokenExchangeEnabled()) {
            throw ProtocolError.unauthorizedClient("Token exchange is not enabled for client " + client.getClientId());
        }

        // Rule 2: the actor first (its verification touches the request context), then the subject.
        ActorTokenVerifier.VerifiedActor actor = new ActorTokenVerifier(session, realm).verify(actorToken, actorTokenType);
        event.detail(DETAIL_AGENT, actor.clientId());
        AuthenticationManager.AuthResult subject = AuthenticationManager.verifyIdentityToken(session, realm,
                session.getContext().getUri(), clientConnection, true, true, null, false, params.getSubjectToken(),
                context.getHeaders(), v -> { });
        session.getContext().setClient(client);
        if (subject == null) {
            throw ProtocolError.invalidToken("Invalid subject_token: not an active access token of this realm");
        }
        SenderConstrainedSubject.check(session, client, subject.token());
        AccessToken subjectToken = subject.token();
        UserModel user = subject.user();
        event.user(user);
        event.detail(Details.USERNAME, user.getUsername());
        event.detail(Details.SUBJECT_TOKEN_CLIENT_ID, subjectToken.getIssuedFor());
        if (subjectToken.getSessionId() != null) {
            event.session(subject.session());
        }

        ActChain chain;
        try {
            chain = ActChain.parse(subjectToken.getOtherClaims().get(ActChain.ACT));
        } catch (IllegalArgumentException e) {
            throw ProtocolError.invalidToken("Invalid subject_token: " + e.getMessage());
        }
        event.detail(DETAIL_ACT_CHAIN, chain.isEmpty() ? actor.clientId() : actor.clientId() + "<" + chain.describe());
        if (actor.serviceAccount().getId().equals(user.getId())) {
            throw ProtocolError.invalidRequest("The actor and the subject are the same");
        }
        if (chain.contains(actor.serviceAccount().getId(), actor.clientId())) {
            throw ProtocolError.invalidRequest("Agent " + actor.clientId() + " is already in the subject token's act chain");
        }
        checkMayAct(subjectToken.getOtherClaims().get(ActChain.MAY_ACT), actor);

        // Rule 3 and 6: the host the user delegated through, and the user's consent to every hop.
        hostClientId = chain.isEmpty() ? subjectToken.getIssuedFor() : stringClaim(subjectToken, DelegatedTokens.HOST_CLAIM);
        ClientModel host = hostClientId == null ? null : realm.getClientByClientId(hostClientId);
        if (host == null) {
            throw ProtocolError.invalidToken("Invalid subject_token: its host client is unknown");
        }
        // Rule 4: who may ask.
        if (!client.equals(actor.agent().client()) && !client.getClientId().equals(subjectToken.getIssuedFor())) {
            throw ProtocolError.unauthorizedClient("The requesting client must be the actor or the subject token's azp");
        }
        DelegationRules rules = new DelegationRules(session, realm);
        DelegationRules.ChainCheck existing = chain.isEmpty() ? null
                : rules.verifyChain(user, host, chain, DelegatedTokens.boundGrants(subjectToken));
        AgentPolicy previous = chain.isEmpty() ? null : rules.agent(chain.current().clientId(), chain.current().sub());
        DelegationGrant grant = rules.verifyHop(user, host, previous, actor.agent());
        // the issued token is bound to the subject's grants and this hop's (DESIGN section 3 rule 5, "Bound to its grant")
        issuedGrants = new ArrayList<>(existing == null ? List.of() : existing.grants().stream().map(DelegationGrant::id).toList());
        issuedGrants.add(grant.id());
        event.detail(AgentAuthEvents.GRANT_ID, grant.id());
        String issuer = RealmIssuer.of(session, realm);
        issuedChain = chain.wrap(new ActChain.Actor(actor.serviceAccount().getId(), actor.clientId(), issuer));
        event.detail(DETAIL_ACT_CHAIN, issuedChain.describe());
        List<AgentPolicy> agents = new ArrayList<>();
        for (String id : issuedChain.clientIdsFromFirst()) {
            agents.add(id.equals(actor.clientId()) ? actor.agent() : rules.agent(id, null));
        }
        DelegationRules.checkDepth(issuedChain.depth(), agents);

        // Rule 5: narrowing.
        Set<String> grantScopes = new LinkedHashSet<>(grant.scopes());
        if (existing != null) {
            grantScopes.retainAll(existing.grantScopes());
        }
        Set<String> requested = ScopeNarrowing.split(params.getScope());
        narrowedScope = ScopeNarrowing.narrow(requested, ScopeNarrowing.split(subjectToken.getScope()), grantScopes,
                actor.agent().allowedScopes());
        audience = checkAudience(actor.agent(), grant, existing);
        subjectRoles = DelegatedTokens.Roles.of(subjectToken);

        // Rule 8: refresh tokens only where the agent's policy allows them.
        if (OAuth2Constants.REFRESH_TOKEN_TYPE.equals(requestedTokenType) && !actor.agent().refreshAllowed()) {
            throw ProtocolError.invalidRequest("Agent " + actor.clientId() + " may not receive refresh tokens");
        }

        Set<String> restricted = new LinkedHashSet<>(narrowedScope);
        restricted.addAll(DelegatedClientSessionContext.PROTOCOL_SCOPES);
        if (context.getRestrictedScopes() != null) {
            restricted.retainAll(context.getRestrictedScopes());
        }
        context.setRestrictedScopes(restricted);

        List<DelegationGrant> used = new ArrayList<>(existing == null ? List.of() : existing.grants());
        used.add(grant);
        rules.touch(used);
        LOG.debugf("agent delegation: user %s, chain %s, host %s", user.getId(), issuedChain, hostClientId);
        return exchangeClientToClient(user, sessionFor(subject.session(), subjectToken), subjectToken, true);
    }

    /**
     * The user session Keycloak's exchange builds the token in. For an access token it first asks the user session for
     * the requesting client's client session, which exists only after an exchange for a refresh token; with persistent
     * user sessions each miss is a database read (the transient copy shares the session's id, so asking the copy reads
     * too), on every exchange. It then builds a transient copy of the user session and a client session in it
     * ({@code TokenManager.attachAuthenticationSession}). We build both ourselves, with the same two calls, before it
     * asks: it then finds that client session in the request's session transaction and builds the same token (same
     * {@code sid}, session type "online, transient client") without the reads. A refresh token, an offline or transient
     * session, and a subject token that was itself exchanged (Keycloak copies notes from its real client session) take
     * Keycloak's way unchanged. Client authentication notes, which Keycloak writes into the user's session after the
     * copy was taken, go to the copy (they are empty for every client authenticator Keycloak ships).
     */
    private UserSessionModel sessionFor(UserSessionModel userSession, AccessToken subjectToken) {
        if (!OAuth2Constants.ACCESS_TOKEN_TYPE.equals(requestedTokenType) || userSession == null || userSession.isOffline()
                || userSession.getPersistenceState() == UserSessionModel.SessionPersistenceState.TRANSIENT) {
            return userSession;
        }
        TokenContextEncoderProvider encoder = session.getProvider(TokenContextEncoderProvider.class);
        if (OAuth2Constants.TOKEN_EXCHANGE_GRANT_TYPE.equals(encoder.getTokenContextFromTokenId(subjectToken.getId()).getGrantType())) {
            return userSession;
        }
        UserSessionModel copy = UserSessionUtil.createTransientUserSession(session, userSession);
        session.sessions().createClientSession(realm, client, copy);
        return copy;
    }

    private void checkMayAct(Object mayAct, ActorTokenVerifier.VerifiedActor actor) {
        if (mayAct == null) {
            return;
        }
        if (!(mayAct instanceof Map<?, ?> m) || (m.get("sub") == null && m.get("client_id") == null)) {
            throw ProtocolError.invalidToken("Invalid subject_token: malformed may_act claim");
        }
        Object sub = m.get("sub");
        Object clientId = m.get("client_id");
        if ((sub != null && !actor.serviceAccount().getId().equals(sub)) || (clientId != null && !actor.clientId().equals(clientId))) {
            throw ProtocolError.invalidRequest("The actor is not the one the subject token's may_act claim allows");
        }
    }

    /**
     * {@code audience} (client ids) must be among the agent's allowed audiences; {@code resource} (RFC 8707 URIs) must
     * each be a resource URI of an enabled client that the requesting client may ask for, and allowed for the agent (the
     * URI itself or its owning client among its allowed audiences). The token's {@code aud} is then exactly these.
     */
    private List<String> checkAudience(AgentPolicy agent, DelegationGrant grant, DelegationRules.ChainCheck existing) {
        List<String> out = new ArrayList<>();
        for (String a : params.getAudience() == null ? List.<String>of() : params.getAudience()) {
            if (a == null || a.isBlank() || !DelegatedTokens.audienceAllowed(realm, agent, a)) {
                throw ProtocolError.invalidTarget("Audience not allowed for agent " + agent.clientId() + ": " + Strings.safeId(a));
            }
            if (realm.getClientByClientId(a) == null && !a.contains(":")) {
                throw ProtocolError.invalidTarget("Unknown audience: " + Strings.safeId(a));
            }
            if (!out.contains(a)) {
                out.add(a);
            }
        }
        List<String> raw = params.getResource() == null ? List.of() : params.getResource().stream().filter(r -> r != null).toList();
        String issuer = RealmIssuer.of(session, realm);
        List<String> connectors = new ArrayList<>();
        List<String> others = new ArrayList<>();
        for (String r : raw) {
            String alias = ConnectorResources.aliasOf(issuer, r);
            if (alias != null) {
                connectors.add(checkConnector(agent, alias, grant, existing, issuer));
            } else {
                others.add(r);
            }
        }
        if (!connectors.isEmpty()) {
            // a token for a connector's proxy is for nothing else: no other API it reaches could replay it there
            if (!others.isEmpty() || !out.isEmpty()) {
                throw ProtocolError.invalidTarget("A connector's resource cannot be combined with other resources or audiences");
            }
            if (OAuth2Constants.REFRESH_TOKEN_TYPE.equals(requestedTokenType)) {
                throw ProtocolError.invalidRequest("Tokens for a connector are not refreshable: exchange again");
            }
            List<String> distinct = connectors.stream().distinct().toList();
            event.detail(AgentAuthEvents.RESOURCE, ResourceIndicators.join(distinct));
            event.detail(AgentAuthEvents.CONNECTOR, String.join(" ", distinct.stream().map(u -> ConnectorResources.aliasOf(issuer, u)).toList()));
            return new ArrayList<>(distinct);
        }
        if (!raw.isEmpty()) {
            List<String> resources;
            try {
                resources = ResourceServers.validate(realm, client, raw);
            } catch (IllegalArgumentException e) {
                throw ProtocolError.invalidTarget(e.getMessage());
            }
            for (String r : resources) {
                if (!DelegatedTokens.audienceAllowed(realm, agent, r)) {
                    throw ProtocolError.invalidTarget("Resource not allowed for agent " + agent.clientId() + ": " + Strings.safeId(r));
                }
                if (!out.contains(r)) {
                    out.add(r);
                }
            }
            event.detail(AgentAuthEvents.RESOURCE, ResourceIndicators.join(resources));
            // the refresh token (if any) records them, so that a later refresh may only narrow (see DelegatedTokenPostProcessor)
            DelegatedTokens.noteExchangeResources(session, resources);
        }
        return out;
    }

    /**
     * A connector's resource URI (DESIGN section 5): the connector exists, the acting agent asks for itself, its policy
     * allows the connector, and so does the user's grant (every grant of the chain).
     */
    private String checkConnector(AgentPolicy agent, String alias, DelegationGrant grant, DelegationRules.ChainCheck existing, String issuer) {
        if (!ConnectorResources.exists(realm, alias)) {
            throw ProtocolError.invalidTarget("Unknown connector: " + alias);
        }
        if (!client.equals(agent.client())) {
            throw ProtocolError.unauthorizedClient("Only the acting agent may ask for a token for connector " + alias);
        }
        if (!agent.allowedConnectors().contains(alias)) {
            throw ProtocolError.invalidTarget("Connector " + alias + " is not allowed for agent " + agent.clientId());
        }
        boolean granted = grant.connectors().contains(alias)
                && (existing == null || existing.grants().stream().allMatch(g -> g.connectors().contains(alias)));
        if (!granted) {
            throw ProtocolError.invalidTarget("Connector " + alias + " is not in the user's delegation grant");
        }
        return ResourceServers.normalize(ConnectorResources.uri(issuer, alias));
    }

    private static String stringClaim(AccessToken t, String name) {
        Object v = t.getOtherClaims().get(name);
        return v instanceof String s ? s : null;
    }

    // ---- hooks of the standard provider ----

    @Override
    protected String getRequestedTokenType() {
        return requestedTokenType;
    }

    /** The audience is decided by the agent's policy (see {@link #checkRequestedAudiences}), not by client lookups. */
    @Override
    protected List<ClientModel> getTargetAudienceClients() {
        return List.of(client);
    }

    /** Who may exchange was decided by the delegation rules (the grant, not the subject token's aud). */
    @Override
    protected void validateAudience(AccessToken token, boolean disallowOnHolderOfTokenMismatch, List<ClientModel> targetAudienceClients) {
    }

    @Override
    protected String getRequestedScope(AccessToken token, List<ClientModel> targetAudienceClients) {
        return String.join(" ", narrowedScope);
    }

    /** Consent is the delegation grant; Keycloak's per-client consent does not apply to the agent. */
    @Override
    protected void validateConsents(UserModel targetUser, String scope) {
    }

    /**
     * Called by the standard provider right after the access token is generated (mappers done, not yet signed):
     * narrows it and adds {@code act}. Without {@code audience}/{@code resource}, the audience is what Keycloak
     * computed, within the agent's allowed audiences.
     */
    @Override
    protected void checkRequestedAudiences(TokenManager.AccessTokenResponseBuilder responseBuilder) {
        try {
            AccessToken at = responseBuilder.getAccessToken();
            List<String> aud = audience;
            if (aud.isEmpty() && at.getAudience() != null) {
                AgentPolicy agent = AgentPolicy.enabledAgent(realm, issuedChain.current().clientId()).orElse(null);
                aud = agent == null ? List.of() : DelegatedTokens.allowedAudience(realm, agent, List.of(at.getAudience()));
            }
            Set<String> scope = DelegatedTokens.shape(at, issuedChain, hostClientId, issuedGrants, narrowedScope, aud, subjectRoles);
            event.detail(DETAIL_SCOPE, String.join(" ", scope));
        } catch (ProtocolError e) {
            Audit.refused(event, e);
            throw new CorsErrorResponseException(cors, e.error(), e.description(), e.status());
        }
    }
}
