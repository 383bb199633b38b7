package org.agentauth.keycloak.ciba;

import java.util.Map;
import java.util.UUID;
import org.agentauth.keycloak.ciba.jpa.AgentAuthCibaRequestEntity;
import org.keycloak.common.util.Time;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.protocol.oidc.grants.ciba.channel.AuthenticationChannelProvider;
import org.keycloak.protocol.oidc.grants.ciba.channel.CIBAAuthenticationRequest;

/**
 * The approval channel built into the JAR (DESIGN section 12): instead of calling an external "authentication device",
 * it stores the request for the user to decide on the self-service page or the request's own page, and e-mails the
 * user a link through the realm's SMTP settings when they are set. Everything it needs was checked by
 * {@link AgentBackchannelAuthenticationEndpoint} before: what is left cannot fail for a client's reason (anything thrown
 * here becomes Keycloak's 503).
 */
public class AgentCibaChannelProvider implements AuthenticationChannelProvider {

    /** Session attributes the backchannel endpoint sets for this channel in the same request. */
    static final String ATTR_DESCRIPTION = "agent-auth.ciba.description";
    static final String ATTR_MAX_AGE = "agent-auth.ciba.max_age";
    /** Session attribute for the backchannel endpoint's event: what was stored. */
    static final String ATTR_STORED = "agent-auth.ciba.stored";

    /** What the channel stored, for the request's event. */
    record Stored(String id, String userId, String host, String scope, String bindingMessage) {
    }

    private final KeycloakSession session;

    public AgentCibaChannelProvider(KeycloakSession session) {
        this.session = session;
    }

    @Override
    public boolean requestAuthentication(CIBAAuthenticationRequest request, String infoUsedByAuthentication) {
        RealmModel realm = session.getContext().getRealm();
        UserModel user = request.getUser();
        ClientModel client = request.getClient();
        Map<String, Object> stash = request.getOtherClaims();
        String actor = session.getAttribute(AgentBackchannelAuthenticationEndpoint.ATTR_AGENT, String.class);
        ClientModel agent = actor == null ? null : realm.getClientByClientId(actor);
        String id = CibaBinding.stashed(stash, CibaBinding.STASH_REQUEST);
        long now = Time.currentTimeMillis();

        AgentAuthCibaRequestEntity e = new AgentAuthCibaRequestEntity();
        e.setId(id != null ? id : UUID.randomUUID().toString());
        e.setRealmId(realm.getId());
        e.setUserId(user.getId());
        e.setClientId(client.getId());
        e.setAgentClientId(agent == null ? null : agent.getId());
        String asked = session.getAttribute(AgentBackchannelAuthenticationEndpoint.ATTR_SCOPE, String.class);
        e.setScope(asked != null ? asked : request.getScope());
        e.setBindingMessage(request.getBindingMessage());
        e.setDescription(session.getAttribute(ATTR_DESCRIPTION, String.class));
        e.setResource(CibaBinding.stashed(stash, CibaBinding.STASH_RESOURCE));
        e.setMaxAge(session.getAttribute(ATTR_MAX_AGE, Integer.class));
        e.setAuthResultId(request.getAuthResultId());
        e.setStatus(CibaRequests.PENDING);
        e.setCreatedAt(now);
        // as long as Keycloak's store answers for the request: the realm's expiry (requested_expiry does not change it)
        e.setExpiresAt(now + realm.getCibaPolicy().getExpiresIn() * 1000L);
        new CibaRequests(session).store(e);
        session.setAttribute(ATTR_STORED, new Stored(e.getId(), user.getId(), client.getClientId(), e.getScope(), e.getBindingMessage()));
        CibaMail.sendAfterCommit(session, realm, user, client, agent, e.getId(), e.getBindingMessage());
        return true;
    }

    @Override
    public void close() {
    }
}
