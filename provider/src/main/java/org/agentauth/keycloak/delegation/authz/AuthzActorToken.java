package org.agentauth.keycloak.delegation.authz;

import org.agentauth.keycloak.delegation.AgentPolicy;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.representations.AccessToken;
import org.keycloak.services.managers.AuthenticationManager;

/**
 * Verifies the {@code actor_token} of a delegated code redemption: a client-credentials access token this realm
 * issued to an enabled agent (sub = its service account, no act/may_act). Same rules as the exchange side's
 * {@code ActorTokenVerifier} for {@code access_token}; to be unified when the branches merge.
 */
final class AuthzActorToken {

    record Verified(AgentPolicy agent, UserModel serviceAccount) {
    }

    private AuthzActorToken() {
    }

    /**
     * @throws IllegalArgumentException with a client-safe description when the token is not acceptable
     */
    static Verified verify(KeycloakSession session, RealmModel realm, String token) {
        ClientModel requester = session.getContext().getClient();
        AuthenticationManager.AuthResult result;
        try {
            result = AuthenticationManager.verifyIdentityToken(session, realm, session.getContext().getUri(),
                    session.getContext().getConnection(), true, true, null, false, token,
                    session.getContext().getRequestHeaders(), v -> { });
        } catch (RuntimeException e) {
            result = null;
        } finally {
            session.getContext().setClient(requester);
        }
        if (result == null) {
            throw new IllegalArgumentException("Invalid actor_token: not an active access token of this realm");
        }
        AccessToken t = result.token();
        if (t.getOtherClaims().containsKey(AuthzDelegatedTokens.ACT) || t.getOtherClaims().containsKey(AuthzDelegatedTokens.MAY_ACT)) {
            throw new IllegalArgumentException("Invalid actor_token: it must be the agent's own token, without act or may_act");
        }
        AgentPolicy agent = AgentPolicy.enabledAgent(realm, t.getIssuedFor())
                .orElseThrow(() -> new IllegalArgumentException("Invalid actor_token: not a token of an enabled agent"));
        UserModel sa = session.users().getServiceAccount(agent.client());
        if (sa == null || !sa.isEnabled() || !sa.getId().equals(t.getSubject())) {
            throw new IllegalArgumentException("Invalid actor_token: not a client-credentials token of the agent");
        }
        return new Verified(agent, sa);
    }
}
