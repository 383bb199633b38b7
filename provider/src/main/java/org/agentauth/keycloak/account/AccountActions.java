package org.agentauth.keycloak.account;

import java.util.Optional;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.upstream.ConnectionService;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;

/**
 * What a user does to their own grants and connections, whichever way they ask (the account REST API with a bearer
 * token, or the self-service page with their browser session): one lookup that finds only the user's own, and one
 * revocation with its event, so both ways behave and are audited alike.
 */
final class AccountActions {

    /** The {@code operation} detail of a user's own revocation. */
    static final String OPERATION_REVOKE = "account_revoke";

    private AccountActions() {
    }

    /** The user's own grant; another user's grant and an unknown id look the same (empty). */
    static Optional<DelegationGrant> ownGrant(KeycloakSession session, RealmModel realm, UserModel user, String id) {
        if (id == null || id.isEmpty() || id.length() > 255) {
            return Optional.empty();
        }
        return session.getProvider(DelegationGrantProvider.class).byId(realm, id).filter(g -> g.userId().equals(user.getId()));
    }

    /** The user's own connection; another user's connection and an unknown id look the same (empty). */
    static Optional<UpstreamConnection> ownConnection(KeycloakSession session, RealmModel realm, UserModel user, String id) {
        if (id == null || id.isEmpty() || id.length() > 255) {
            return Optional.empty();
        }
        return session.getProvider(UpstreamConnectionProvider.class).byId(realm, id).filter(c -> c.userId().equals(user.getId()));
    }

    /** Revokes the grant: every later exchange, refresh and connector access relying on it stops. Event {@code REVOKE_GRANT}. */
    static void revokeGrant(KeycloakSession session, RealmModel realm, UserModel user, DelegationGrant grant) {
        session.getProvider(DelegationGrantProvider.class).revoke(realm, grant.id());
        ClientModel agent = realm.getClientById(grant.agentClientUuid());
        ClientModel host = realm.getClientById(grant.hostClientUuid());
        event(session, realm, user)
                .event(EventType.REVOKE_GRANT)
                .client(host)
                .detail(AgentAuthEvents.GRANT_ID, grant.id())
                .detail(AgentAuthEvents.AGENT, agent == null ? null : agent.getClientId())
                .detail(AgentAuthEvents.HOST, host == null ? null : host.getClientId())
                .detail(AgentAuthEvents.SCOPE, String.join(" ", grant.scopes()))
                .success();
    }

    /**
     * Revokes the connection: the upstream's RFC 7009 endpoint, then the row is deleted ({@link ConnectionService#revoke}).
     * Event {@code REMOVE_FEDERATED_IDENTITY}.
     */
    static void revokeConnection(KeycloakSession session, RealmModel realm, UserModel user, UpstreamConnection c) {
        ConnectionService.revoke(session, realm, c, event(session, realm, user));
    }

    private static EventBuilder event(KeycloakSession session, RealmModel realm, UserModel user) {
        return new EventBuilder(realm, session, session.getContext().getConnection()).user(user)
                .detail(AgentAuthEvents.OPERATION, OPERATION_REVOKE);
    }
}
