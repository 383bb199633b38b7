package org.agentauth.keycloak.vault.proxy;

import org.agentauth.keycloak.support.RealmIssuer;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.agent.ConnectorResources;
import org.agentauth.keycloak.agent.ResourceServers;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.audit.Audit;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.exchange.DelegationRules;
import org.agentauth.keycloak.support.ProtocolError;
import org.agentauth.keycloak.support.Strings;
import org.agentauth.keycloak.token.ActChain;
import org.agentauth.keycloak.token.BearerVerification;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.representations.AccessToken;
import org.keycloak.services.managers.AppAuthManager;

/**
 * Who reaches a user's connected account, and which one (DESIGN section 5): shared by the brokered proxy and the vault
 * exchange. A delegated token ({@code act}) of this realm, active, not sender-constrained, optionally issued for one
 * audience; its grant chain still consented; the acting agent's policy and every grant of the chain include the
 * connector; then the connection asked for (never a silent fallback) or the user's most recent active one.
 */
final class BrokeredAccess {

    /** A refusal: HTTP status, OAuth error, description; {@code connectUri} for {@code connection_required}. */
    static final class Refusal extends Exception {
        final Response.Status status;
        final String error;
        final String eventError;
        final String connectUri;

        Refusal(Response.Status status, String error, String description, String eventError, String connectUri) {
            super(description, null, false, false);
            this.status = status;
            this.error = error;
            this.eventError = eventError;
            this.connectUri = connectUri;
        }
    }

    /** The verified caller. */
    record Caller(UserModel user, AccessToken token, ActChain chain, AgentPolicy agent, List<DelegationGrant> grants) {
    }

    private BrokeredAccess() {
    }

    /** A request's verified caller and the account it reaches. */
    record Reach(Caller caller, UpstreamConnection connection) {
    }

    /**
     * The proxy's and the connection status endpoint's check of the current request: its bearer, a delegated token
     * issued for the connector's resource URI, and the account asked for ({@code X-Connection-Id} header, else the
     * {@code connection_id} query parameter) or the default one.
     */
    static Reach ofRequest(KeycloakSession session, RealmModel realm, Connector connector, EventBuilder event) throws Refusal {
        HttpHeaders headers = session.getContext().getRequestHeaders();
        AppAuthManager.AuthHeader auth = AppAuthManager.extractAuthorizationHeaderTokenOrReturnNull(headers);
        if (auth == null || !"bearer".equalsIgnoreCase(auth.getScheme())) {
            throw new Refusal(Response.Status.UNAUTHORIZED, "invalid_token", "A bearer token is required", Errors.NOT_ALLOWED, null);
        }
        String resource = ResourceServers.normalize(ConnectorResources.uri(RealmIssuer.of(session, realm), connector.alias()));
        Caller caller = verify(session, realm, connector, auth.getToken(), resource, event);
        String chosen = headers.getHeaderString(ProxyResource.CONNECTION_HEADER);
        if (chosen == null) {
            chosen = ProxyRules.connectionParam(session.getContext().getUri().getRequestUri().getRawQuery());
        }
        return new Reach(caller, connection(session, realm, connector, caller, chosen, event));
    }

    /**
     * Verifies a delegated token for a connector.
     *
     * @param audience the {@code aud} the token must carry (the proxy: the connector's resource URI), or null
     */
    static Caller verify(KeycloakSession session, RealmModel realm, Connector connector, String tokenString, String audience,
            EventBuilder event) throws Refusal {
        BearerVerification.Verified verified;
        try {
            verified = BearerVerification.verify(session, realm, tokenString, audience).orElse(null);
        } catch (RuntimeException e) {
            verified = null; // a malformed token is refused, never a 500
        }
        if (verified == null) {
            throw new Refusal(Response.Status.UNAUTHORIZED, "invalid_token", "The token is not an active access token of this realm"
                    + (audience == null ? "" : " issued for " + audience), Errors.INVALID_TOKEN, null);
        }
        AccessToken token = verified.token();
        UserModel user = verified.user();
        event.user(user);
        if (token.getConfirmation() != null) {
            throw new Refusal(Response.Status.UNAUTHORIZED, "invalid_token", "Sender-constrained tokens are not accepted here yet",
                    Errors.INVALID_TOKEN, null);
        }
        if (!DelegatedTokens.isDelegated(token)) {
            throw new Refusal(Response.Status.FORBIDDEN, "insufficient_scope", "Only a delegated token (with act) reaches connected accounts",
                    Errors.NOT_ALLOWED, null);
        }
        ActChain chain;
        DelegationRules.ChainCheck check;
        AgentPolicy agent;
        try {
            chain = ActChain.parse(token.getOtherClaims().get(ActChain.ACT));
            Object host = token.getOtherClaims().get(DelegatedTokens.HOST_CLAIM);
            ClientModel hostClient = host instanceof String h ? realm.getClientByClientId(h) : null;
            if (chain.isEmpty() || hostClient == null) {
                throw ProtocolError.invalidToken("The delegated token names no agent or host client");
            }
            Audit.agent(event, chain.current().clientId(), chain.describe());
            check = new DelegationRules(session, realm).verifyChain(user, hostClient, chain, DelegatedTokens.boundGrants(token));
            agent = AgentPolicy.enabledAgent(realm, chain.current().clientId())
                    .orElseThrow(() -> ProtocolError.invalidToken("The acting agent is gone"));
        } catch (ProtocolError | IllegalArgumentException e) {
            String why = e instanceof ProtocolError p ? p.description() : "Invalid act claim";
            throw new Refusal(Response.Status.UNAUTHORIZED, "invalid_token", "The delegation is no longer valid: " + why, Errors.INVALID_TOKEN, null);
        }
        event.client(agent.client());
        boolean granted = check.grants().stream().allMatch(g -> g.connectors().contains(connector.alias()));
        if (!agent.allowedConnectors().contains(connector.alias()) || !granted) {
            throw new Refusal(Response.Status.FORBIDDEN, "access_denied", "Connector " + connector.alias()
                    + (granted ? " is not allowed for agent " + agent.clientId() : " is not in the user's delegation grant"), Errors.ACCESS_DENIED, null);
        }
        new DelegationRules(session, realm).touch(check.grants());
        return new Caller(user, token, chain, agent, check.grants());
    }

    /**
     * The connection asked for ({@code chosen}); else the account the user picked on the consent screen; else the
     * user's most recent active one; else {@code connection_required}. An account picked on the consent screen is the
     * only one the grant allows: {@code chosen} must name it, and when it is expired or gone the answer is
     * {@code connection_required} (reconnecting the same upstream account makes it usable again), never another account.
     */
    static UpstreamConnection connection(KeycloakSession session, RealmModel realm, Connector connector, Caller caller, String chosen,
            EventBuilder event) throws Refusal {
        UpstreamConnectionProvider connections = session.getProvider(UpstreamConnectionProvider.class);
        Set<String> picked = caller.grants().stream().map(g -> g.pickedConnection(connector.alias())).filter(Objects::nonNull)
                .collect(Collectors.toSet());
        if (picked.size() > 1) {
            throw new Refusal(Response.Status.FORBIDDEN, "access_denied", "The grants of this delegation picked different accounts on connector "
                    + connector.alias(), Errors.ACCESS_DENIED, null);
        }
        String pin = picked.isEmpty() ? null : picked.iterator().next();
        // "this user's connection on this connector": a connection id alone never reaches another user's account
        List<UpstreamConnection> theirs = connections.forUse(realm, caller.user().getId(), connector.id()).stream()
                .filter(x -> x.userId().equals(caller.user().getId()) && x.connectorId().equals(connector.id())).toList();
        UpstreamConnection c;
        if (chosen != null) {
            c = theirs.stream().filter(x -> x.id().equals(chosen)).filter(UpstreamConnection::active)
                    .filter(x -> pin == null || pin.equals(x.id())).findFirst().orElse(null);
            if (c == null) {
                throw new Refusal(Response.Status.NOT_FOUND, "connection_not_found", "No active connection " + Strings.safeId(chosen)
                        + " of this user on connector " + connector.alias() + (pin == null ? "" : " within the delegation grant"),
                        Errors.INVALID_REQUEST, null);
            }
        } else if (pin != null) {
            c = theirs.stream().filter(x -> x.id().equals(pin)).findFirst().orElse(null);
            if (c == null || !c.active()) {
                throw connectionRequired(session, realm, connector, caller, c == null
                        ? "The account the user picked for connector " + connector.alias() + " when consenting is gone: the user picks another by consenting again"
                        : "The account the user picked for connector " + connector.alias() + " needs to be connected again");
            }
        } else {
            c = theirs.stream().filter(UpstreamConnection::active)
                    .max(Comparator.comparingLong(UpstreamConnection::createdAt)).orElse(null);
            if (c == null) {
                throw connectionRequired(session, realm, connector, caller, "The user has no active account linked on connector " + connector.alias());
            }
        }
        event.detail(AgentAuthEvents.CONNECTION_ID, c.id());
        return c;
    }

    static Refusal connectionRequired(KeycloakSession session, RealmModel realm, Connector connector, Caller caller, String description) {
        String connect = connector.connectUri(RealmIssuer.of(session, realm), caller.agent().clientId());
        return new Refusal(Response.Status.FORBIDDEN, "connection_required", description, Errors.IDENTITY_PROVIDER_ERROR, connect);
    }
}
