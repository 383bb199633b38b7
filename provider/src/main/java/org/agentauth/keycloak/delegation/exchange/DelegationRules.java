package org.agentauth.keycloak.delegation.exchange;

import org.agentauth.keycloak.support.ProtocolError;
import org.agentauth.keycloak.token.ActChain;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.agentauth.keycloak.delegation.DelegationGrant;
import org.agentauth.keycloak.delegation.DelegationGrantProvider;
import org.keycloak.common.util.Time;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.UserModel;

/**
 * Consent and policy checks of a delegation chain (DESIGN section 3, rules 3 to 6). Used by the exchange, by refresh,
 * by introspection, {@code /userinfo}, the brokered proxy and the vault exchange, so that revoking a grant or changing a
 * policy takes effect everywhere. A new hop takes the user's grant active now ({@link #verifyHop}); a token already
 * issued is checked against the exact grants it names ({@link #verifyChain}).
 */
public final class DelegationRules {

    /** What a verified chain allows: the intersection of its grants' scopes and the earliest grant expiry. */
    public record ChainCheck(Set<String> grantScopes, Long expiresAt, List<DelegationGrant> grants) {
    }

    private final KeycloakSession session;
    private final RealmModel realm;
    private final DelegationGrantProvider grants;

    public DelegationRules(KeycloakSession session, RealmModel realm) {
        this.session = session;
        this.realm = realm;
        this.grants = session.getProvider(DelegationGrantProvider.class);
    }

    /** The enabled agent with this client_id whose service account is {@code sub}. */
    public AgentPolicy agent(String clientId, String sub) {
        AgentPolicy p = AgentPolicy.enabledAgent(realm, clientId)
                .orElseThrow(() -> ProtocolError.invalidRequest("Agent " + clientId + " is not an enabled agent"));
        UserModel sa = session.users().getServiceAccount(p.client());
        if (sa == null || !sa.isEnabled() || (sub != null && !sa.getId().equals(sub))) {
            throw ProtocolError.invalidRequest("Agent " + clientId + " has no enabled service account matching the act claim");
        }
        return p;
    }

    /**
     * Verifies every hop of {@code chain}, from the first agent to the current one, for {@code user} delegating
     * through {@code host}: each agent enabled and allowing the host, each hand-over allowed by policy, each hop's
     * consent the exact grant the token was issued under ({@code boundGrants}, one id per hop, the first hop's first:
     * DESIGN section 3 rule 5, "Bound to its grant") and that grant still active, and the depth within every agent's cap.
     * A token bound to no grant, or to a grant that was revoked or expired (a later consent is a new grant), is refused.
     */
    public ChainCheck verifyChain(UserModel user, ClientModel host, ActChain chain, List<String> boundGrants) {
        if (boundGrants == null || boundGrants.size() != chain.depth()) {
            throw ProtocolError.invalidToken("The delegated token is not bound to the delegation grants it was issued under");
        }
        List<ActChain.Actor> fromFirst = new ArrayList<>(chain.actors());
        java.util.Collections.reverse(fromFirst);
        AgentPolicy previous = null;
        List<AgentPolicy> agents = new ArrayList<>();
        List<DelegationGrant> used = new ArrayList<>();
        for (int i = 0; i < fromFirst.size(); i++) {
            ActChain.Actor actor = fromFirst.get(i);
            AgentPolicy next = agent(actor.clientId(), actor.sub());
            used.add(verifyBoundHop(user, host, previous, next, boundGrants.get(i)));
            agents.add(next);
            previous = next;
        }
        checkDepth(chain.depth(), agents);
        return summarize(used);
    }

    /**
     * One hop of an issued token: the grant {@code grantId} it was issued under still exists, is active, and is the
     * user's consent to this hop through {@code host}: to {@code next} itself, or (a hand-over) {@code previous}'s grant
     * listing {@code next}. Policy is checked as at issue.
     */
    DelegationGrant verifyBoundHop(UserModel user, ClientModel host, AgentPolicy previous, AgentPolicy next, String grantId) {
        if (!next.allowsHost(host.getClientId())) {
            throw ProtocolError.unauthorizedClient("Agent " + next.clientId() + " does not allow host client " + host.getClientId());
        }
        if (previous != null && !previous.downstreamAgents().contains(next.clientId())) {
            throw ProtocolError.invalidRequest("Agent " + previous.clientId() + " may not hand over to agent " + next.clientId());
        }
        DelegationGrant g = grants.byId(realm, grantId).orElse(null);
        boolean forThisHop = g != null && g.userId().equals(user.getId()) && g.hostClientUuid().equals(host.getId())
                && (g.agentClientUuid().equals(next.client().getId())
                        || (previous != null && g.agentClientUuid().equals(previous.client().getId()) && g.downstreamAgents().contains(next.clientId())));
        if (!forThisHop || !g.isActive(Time.currentTimeMillis())) {
            throw ProtocolError.noConsent("The delegation grant this token was issued under (agent " + next.clientId() + " via host client "
                    + host.getClientId() + ") is no longer active");
        }
        return g;
    }

    /**
     * One hop about to be issued: {@code previous} (null for the first hop, from the user) hands the delegation to
     * {@code next}. The user's grant active now; the token issued for the hop is then bound to it.
     *
     * @return the grant that records the user's consent to this hop
     */
    public DelegationGrant verifyHop(UserModel user, ClientModel host, AgentPolicy previous, AgentPolicy next) {
        if (!next.allowsHost(host.getClientId())) {
            throw ProtocolError.unauthorizedClient("Agent " + next.clientId() + " does not allow host client " + host.getClientId());
        }
        Optional<DelegationGrant> own = grants.findActive(realm, user.getId(), next.client(), host);
        if (previous == null) {
            return own.orElseThrow(() -> ProtocolError.noConsent("No active delegation grant from the user to agent "
                    + next.clientId() + " via host client " + host.getClientId()));
        }
        if (!previous.downstreamAgents().contains(next.clientId())) {
            throw ProtocolError.invalidRequest("Agent " + previous.clientId() + " may not hand over to agent " + next.clientId());
        }
        if (own.isPresent()) {
            return own.get();
        }
        return grants.findActive(realm, user.getId(), previous.client(), host)
                .filter(g -> g.downstreamAgents().contains(next.clientId()))
                .orElseThrow(() -> ProtocolError.noConsent("The user has not consented to agent " + next.clientId()
                        + " acting for agent " + previous.clientId() + " via host client " + host.getClientId()));
    }

    /** Depth = number of act levels, capped by the smallest cap of the agents in the chain. */
    public static void checkDepth(int depth, List<AgentPolicy> agents) {
        int cap = agents.stream().mapToInt(AgentPolicy::maxDepth).min().orElse(AgentPolicy.DEFAULT_MAX_DEPTH);
        if (depth > cap) {
            throw ProtocolError.invalidRequest("Delegation depth " + depth + " exceeds the maximum of " + cap);
        }
    }

    /** Notes that the grants were relied upon (coarse, and never a cost to the request). */
    public void touch(List<DelegationGrant> used) {
        used.forEach(grants::touch);
    }

    public static ChainCheck summarize(List<DelegationGrant> used) {
        Set<String> scopes = null;
        Long expiry = null;
        for (DelegationGrant g : used) {
            if (scopes == null) {
                scopes = new LinkedHashSet<>(g.scopes());
            } else {
                scopes.retainAll(g.scopes());
            }
            if (g.expiresAt() != null && (expiry == null || g.expiresAt() < expiry)) {
                expiry = g.expiresAt();
            }
        }
        return new ChainCheck(scopes == null ? Set.of() : scopes, expiry, List.copyOf(used));
    }
}
