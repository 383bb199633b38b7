package org.agentauth.keycloak.delegation.scope;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.jboss.logging.Logger;
import org.keycloak.models.ClientModel;
import org.keycloak.models.ClientScopeModel;
import org.keycloak.models.ProtocolMapperModel;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.OIDCLoginProtocol;
import org.keycloak.protocol.oidc.mappers.OIDCAttributeMapperHelper;

/**
 * Consent by scope (DESIGN section 4.6): one client scope {@code delegation:client:<agent client_id>} per enabled agent
 * (the form Keycloak 26.8 uses), with the {@code may_act} mapper, attached as an <em>optional</em> client scope to
 * exactly the agent's allowed host clients. Keycloak refuses a scope a client does not have before any extension hook
 * runs, so these scopes must exist and be attached before a host can ask for them; {@link #syncRealm} and
 * {@link #syncClient} keep them in step with the agents' policies (start-up, realm import, client create/update,
 * policy save).
 *
 * <p>Only scopes this extension created (attribute {@link #ATTR_AGENT_ID}) are ever changed or removed.
 */
public final class DelegationScopes {

    public static final String PREFIX = "delegation:client:";
    /** Client-scope attribute: internal id of the agent client the scope belongs to (marks the scope as managed). */
    public static final String ATTR_AGENT_ID = AgentPolicy.ATTR_DELEGATION_SCOPE_AGENT;
    public static final String MAPPER_NAME = "may_act";

    private static final Logger LOG = Logger.getLogger(DelegationScopes.class);

    private DelegationScopes() {
    }

    public static String scopeName(String agentClientId) {
        return PREFIX + agentClientId;
    }

    /** The agent client_ids named by {@code delegation:client:*} tokens of a scope string, in order. */
    public static List<String> agentsIn(String scope) {
        List<String> out = new ArrayList<>();
        if (scope != null) {
            for (String s : scope.split(" ")) {
                if (s.startsWith(PREFIX) && s.length() > PREFIX.length() && !out.contains(s.substring(PREFIX.length()))) {
                    out.add(s.substring(PREFIX.length()));
                }
            }
        }
        return out;
    }


    /**
     * Why a request's {@code delegation:client:*} scope cannot be granted, or null when it can (or there is none):
     * one such scope per request, not combined with {@code requested_actor}, naming an enabled agent that allows
     * {@code host}. The description names only the scope and client ids, never a token.
     */
    public static String refusal(RealmModel realm, ClientModel host, String scope, boolean withRequestedActor) {
        List<String> agents = agentsIn(scope);
        if (agents.isEmpty()) {
            return null;
        }
        if (withRequestedActor) {
            return "requested_actor and a delegation:client scope cannot be combined in one request";
        }
        if (agents.size() > 1) {
            return "Only one delegation:client scope per request";
        }
        String id = agents.get(0);
        if (id.length() > 255) {
            return "Invalid scope";
        }
        String label = "Invalid scope " + PREFIX + id.replaceAll("\\p{Cntrl}", "");
        Optional<AgentPolicy> agent = AgentPolicy.enabledAgent(realm, id);
        if (agent.isEmpty() || !wantsScope(agent.get().client())) {
            return label + ": not an enabled agent of this realm";
        }
        if (!agent.get().allowsHost(host.getClientId())) {
            return label + ": the agent does not allow client " + host.getClientId() + " as its host";
        }
        return null;
    }

    /** Brings every managed scope of the realm in step with its agents. */
    public static void syncRealm(RealmModel realm) {
        Map<String, ClientScopeModel> managed = managedScopes(realm);
        realm.getClientsStream().toList().forEach(c -> {
            if (wantsScope(c)) {
                sync(realm, c, managed.remove(c.getId()));
            }
        });
        // scopes of clients that are gone or no longer enabled agents (a scope adopted above now names its agent)
        managed.values().stream().filter(s -> !current(realm, s)).forEach(s -> remove(realm, s));
    }

    /**
     * After {@code client} was created, updated or had its policy saved: its own scope (when it is, or was, an
     * agent) and its attachment to the scopes of agents that allow it as a host.
     */
    public static void syncClient(RealmModel realm, ClientModel client) {
        Map<String, ClientScopeModel> managed = managedScopes(realm);
        ClientScopeModel own = managed.remove(client.getId());
        if (wantsScope(client)) {
            sync(realm, client, own);
        } else if (own != null) {
            remove(realm, own);
        }
        // as a host of other agents; scopes of agents that are gone are removed on the way
        for (ClientScopeModel scope : managed.values()) {
            if (!current(realm, scope)) {
                remove(realm, scope);
                continue;
            }
            ClientModel agent = realm.getClientById(scope.getAttribute(ATTR_AGENT_ID));
            attach(client, scope, AgentPolicy.of(agent).orElseThrow().allowsHost(client.getClientId()));
        }
    }

    private static boolean current(RealmModel realm, ClientScopeModel scope) {
        ClientModel agent = realm.getClientById(scope.getAttribute(ATTR_AGENT_ID));
        return agent != null && wantsScope(agent) && scopeName(agent.getClientId()).equals(scope.getName());
    }

    private static boolean wantsScope(ClientModel c) {
        return c.isEnabled() && AgentPolicy.isAgent(c) && OIDCLoginProtocol.LOGIN_PROTOCOL.equals(protocol(c));
    }

    private static String protocol(ClientModel c) {
        return c.getProtocol() == null ? OIDCLoginProtocol.LOGIN_PROTOCOL : c.getProtocol();
    }

    private static Map<String, ClientScopeModel> managedScopes(RealmModel realm) {
        Map<String, ClientScopeModel> out = new HashMap<>();
        realm.getClientScopesStream().forEach(s -> {
            String agentId = s.getAttribute(ATTR_AGENT_ID);
            if (agentId != null) {
                out.put(agentId, s);
            }
        });
        return out;
    }

    private static void sync(RealmModel realm, ClientModel agent, ClientScopeModel scope) {
        String name = scopeName(agent.getClientId());
        if (scope != null && !name.equals(scope.getName())) {
            remove(realm, scope); // the agent's client_id changed
            scope = null;
        }
        if (scope == null) {
            ClientScopeModel existing = realm.getClientScopesStream().filter(s -> name.equals(s.getName())).findFirst().orElse(null);
            if (existing != null && existing.getAttribute(ATTR_AGENT_ID) != null) {
                scope = existing; // ours, from an import of another server's realm: adopt it
                scope.setAttribute(ATTR_AGENT_ID, agent.getId());
            } else if (existing != null) {
                LOG.warnf("Client scope %s in realm %s exists and was not created by Agent Auth: consent by scope for agent %s stays off",
                        name, realm.getName(), agent.getClientId());
                return;
            } else {
                scope = realm.addClientScope(name);
                scope.setProtocol(OIDCLoginProtocol.LOGIN_PROTOCOL);
                scope.setAttribute(ATTR_AGENT_ID, agent.getId());
                LOG.infof("Created client scope %s in realm %s", name, realm.getName());
            }
        }
        scope.setDescription("Lets agent " + agent.getClientId() + " act on the user's behalf (Agent Auth: consent by scope, may_act)");
        scope.setIncludeInTokenScope(true);
        // the agent consent screen asks instead of Keycloak's consent list
        scope.setDisplayOnConsentScreen(false);
        scope.setConsentScreenText("${agentDelegationScopeConsent}");
        scope.setAttribute(ClientScopeModel.INCLUDE_IN_OPENID_PROVIDER_METADATA, "false");
        ensureMapper(scope, agent);

        Set<String> hosts = AgentPolicy.of(agent).orElseThrow().allowedHosts();
        Set<String> attached = new LinkedHashSet<>();
        for (String h : hosts) {
            ClientModel host = realm.getClientByClientId(h);
            if (host != null) {
                attach(host, scope, true);
                attached.add(host.getId());
            }
        }
        for (ClientModel c : clientsWith(realm, scope)) {
            if (!attached.contains(c.getId())) {
                attach(c, scope, false);
            }
        }
    }

    private static void ensureMapper(ClientScopeModel scope, ClientModel agent) {
        ProtocolMapperModel m = scope.getProtocolMapperByName(OIDCLoginProtocol.LOGIN_PROTOCOL, MAPPER_NAME);
        Map<String, String> config = new HashMap<>();
        config.put(MayActProtocolMapper.CONFIG_AGENT_ID, agent.getId());
        config.put(OIDCAttributeMapperHelper.INCLUDE_IN_ACCESS_TOKEN, "true");
        config.put(OIDCAttributeMapperHelper.INCLUDE_IN_INTROSPECTION, "true");
        config.put(OIDCAttributeMapperHelper.INCLUDE_IN_ID_TOKEN, "false");
        config.put(OIDCAttributeMapperHelper.INCLUDE_IN_USERINFO, "false");
        if (m == null) {
            m = new ProtocolMapperModel();
            m.setName(MAPPER_NAME);
            m.setProtocol(OIDCLoginProtocol.LOGIN_PROTOCOL);
            m.setProtocolMapper(MayActProtocolMapper.PROVIDER_ID);
            m.setConfig(config);
            scope.addProtocolMapper(m);
        } else if (!MayActProtocolMapper.PROVIDER_ID.equals(m.getProtocolMapper()) || !config.equals(m.getConfig())) {
            m.setProtocolMapper(MayActProtocolMapper.PROVIDER_ID);
            m.setConfig(config);
            scope.updateProtocolMapper(m);
        }
    }

    private static void attach(ClientModel client, ClientScopeModel scope, boolean wanted) {
        boolean has = client.getClientScopes(false).containsKey(scope.getName())
                || client.getClientScopes(true).containsKey(scope.getName());
        if (wanted && !has && OIDCLoginProtocol.LOGIN_PROTOCOL.equals(protocol(client))) {
            client.addClientScope(scope, false);
        } else if (!wanted && has) {
            client.removeClientScope(scope);
        }
    }

    private static List<ClientModel> clientsWith(RealmModel realm, ClientScopeModel scope) {
        return realm.getClientsStream().filter(c -> c.getClientScopes(false).containsKey(scope.getName())
                || c.getClientScopes(true).containsKey(scope.getName())).toList();
    }

    private static void remove(RealmModel realm, ClientScopeModel scope) {
        clientsWith(realm, scope).forEach(c -> c.removeClientScope(scope));
        LOG.infof("Removed client scope %s from realm %s", scope.getName(), realm.getName());
        realm.removeClientScope(scope.getId());
    }
}
