package org.agentauth.keycloak.delegation.scope;

import com.google.auto.service.AutoService;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.agentauth.keycloak.delegation.OfflineAccess;
import org.agentauth.keycloak.token.ActChain;
import org.agentauth.keycloak.support.RealmJobs;
import org.jboss.logging.Logger;
import org.keycloak.models.AbstractKeycloakTransaction;
import org.keycloak.models.ClientModel;
import org.keycloak.models.ClientSessionContext;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.KeycloakSessionFactory;
import org.keycloak.models.ProtocolMapperModel;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.UserSessionModel;
import org.keycloak.models.utils.KeycloakModelUtils;
import org.keycloak.models.utils.PostMigrationEvent;
import org.keycloak.protocol.ProtocolMapper;
import org.keycloak.protocol.oidc.mappers.AbstractOIDCProtocolMapper;
import org.keycloak.protocol.oidc.mappers.OIDCAccessTokenMapper;
import org.keycloak.protocol.oidc.mappers.TokenIntrospectionTokenMapper;
import org.keycloak.provider.ProviderConfigProperty;
import org.keycloak.representations.IDToken;

/**
 * The {@code may_act} claim of consent by scope (DESIGN section 4.6):
 * {@code {"sub": <agent service-account user id>, "client_id": <agent>}}, added to the access token (and the
 * introspection response) only while the user holds an active delegation grant for the agent through the token's
 * client, the agent is enabled and allows that client as its host. It is evaluated at every issue, so revoking the
 * grant drops {@code may_act} at the next refresh. An offline token carries it only when the agent's ceiling and the
 * grant include {@code offline_access}.
 *
 * <p>Its factory also keeps the per-agent {@code delegation:client:<agent>} scopes in step (see
 * {@link DelegationScopes}).
 */
@AutoService(ProtocolMapper.class)
public class MayActProtocolMapper extends AbstractOIDCProtocolMapper implements OIDCAccessTokenMapper, TokenIntrospectionTokenMapper {

    public static final String PROVIDER_ID = "agent-auth-may-act-mapper";
    /** Mapper config: internal id of the agent client. */
    public static final String CONFIG_AGENT_ID = "agent.id";

    private static final Logger LOG = Logger.getLogger(MayActProtocolMapper.class);

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public String getDisplayType() {
        return "Agent may_act (Agent Auth)";
    }

    @Override
    public String getDisplayCategory() {
        return TOKEN_MAPPER_CATEGORY;
    }

    @Override
    public String getHelpText() {
        return "Adds may_act naming the agent while the user's delegation grant for it through this client is active. "
                + "Managed by the Agent Auth extension on its delegation:client:<agent> scopes.";
    }

    @Override
    public List<ProviderConfigProperty> getConfigProperties() {
        ProviderConfigProperty p = new ProviderConfigProperty();
        p.setName(CONFIG_AGENT_ID);
        p.setLabel("Agent client (internal id)");
        p.setType(ProviderConfigProperty.STRING_TYPE);
        p.setHelpText("Internal id of the agent client the claim names.");
        return List.of(p);
    }

    @Override
    protected void setClaim(IDToken token, ProtocolMapperModel mappingModel, UserSessionModel userSession, KeycloakSession session,
            ClientSessionContext clientSessionCtx) {
        if (clientSessionCtx == null || userSession == null) {
            return;
        }
        ClientModel host = clientSessionCtx.getClientSession().getClient();
        RealmModel realm = host.getRealm();
        mayAct(session, realm, userSession.getUser(), host, mappingModel.getConfig().get(CONFIG_AGENT_ID),
                clientSessionCtx.isOfflineTokenRequested())
                .ifPresent(m -> token.getOtherClaims().put(ActChain.MAY_ACT, m));
    }

    /**
     * The may_act value for this user, host and agent, when an active grant allows it; for an offline token only when
     * the agent's ceiling and the grant include {@code offline_access} (the consent page listed it).
     */
    static Optional<Map<String, Object>> mayAct(KeycloakSession session, RealmModel realm, UserModel user, ClientModel host, String agentId,
            boolean offline) {
        ClientModel agentClient = agentId == null ? null : realm.getClientById(agentId);
        if (agentClient == null || !agentClient.isEnabled() || user == null) {
            return Optional.empty();
        }
        Optional<AgentPolicy> agent = AgentPolicy.of(agentClient);
        if (agent.isEmpty() || !agent.get().allowsHost(host.getClientId())) {
            return Optional.empty();
        }
        UserModel sa = session.users().getServiceAccount(agentClient);
        if (sa == null || !sa.isEnabled()) {
            return Optional.empty();
        }
        Optional<DelegationGrant> grant = session.getProvider(DelegationGrantProvider.class).findActive(realm, user.getId(), agentClient, host);
        if (grant.isEmpty()) {
            LOG.debugf("no active grant: may_act for agent %s omitted", agentClient.getClientId());
            return Optional.empty();
        }
        if (offline && !OfflineAccess.covered(agent.get(), grant.get().scopes())) {
            LOG.debugf("offline token, grant or ceiling without offline_access: may_act for agent %s omitted", agentClient.getClientId());
            return Optional.empty();
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("sub", sa.getId());
        m.put("client_id", agentClient.getClientId());
        return Optional.of(m);
    }

    @Override
    public void postInit(KeycloakSessionFactory factory) {
        factory.register(event -> {
            if (event instanceof PostMigrationEvent) {
                RealmJobs.eachRealmInOwnTransaction(factory, "bring the delegation scopes in step",
                        (s, realm) -> DelegationScopes.syncRealm(realm));
            } else if (event instanceof RealmModel.RealmPostCreateEvent created) {
                DelegationScopes.syncRealm(created.getCreatedRealm());
            } else if (event instanceof ClientModel.ClientUpdatedEvent updated) {
                ClientModel c = updated.getUpdatedClient();
                DelegationScopes.syncClient(c.getRealm(), c);
            } else if (event instanceof ClientModel.ClientIdChangeEvent changed) {
                ClientModel c = changed.getUpdatedClient();
                DelegationScopes.syncClient(c.getRealm(), c);
            } else if (event instanceof ClientModel.ClientRemovedEvent removed) {
                // ClientRemovedEvent also fires while a whole realm is being removed, when changing its client scopes
                // is unsafe: the removed agent's scope goes once the removal has committed, in a transaction of its
                // own, and only when the realm is still there. (Until then the scope yields no may_act and the
                // authorization endpoint refuses it: unknown agent.)
                String realmId = removed.getClient().getRealm().getId();
                removed.getKeycloakSession().getTransactionManager().enlistAfterCompletion(new AbstractKeycloakTransaction() {
                    @Override
                    protected void commitImpl() {
                        KeycloakModelUtils.runJobInTransaction(factory, s -> {
                            RealmModel realm = s.realms().getRealm(realmId);
                            if (realm != null) {
                                DelegationScopes.syncRealm(realm);
                            }
                        });
                    }

                    @Override
                    protected void rollbackImpl() {
                        // the client is still there: nothing to do
                    }
                });
            }
        });
    }
}
