package org.agentauth.keycloak.delegation.jpa;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.NamedQueries;
import jakarta.persistence.NamedQuery;
import jakarta.persistence.Table;
import jakarta.persistence.Version;

/**
 * A user's delegation grant: "agent A may act for me via host client C with scopes S until T" (DESIGN section 2).
 * Keyed by internal ids; one row per (realm, user, agent, host); a consent after the grant expired stores a new row (new id). Table {@code AGENT_AUTH_DELEGATION_GRANT}.
 */
@Entity
@Table(name = "AGENT_AUTH_DELEGATION_GRANT")
@NamedQueries({
    @NamedQuery(name = "agentAuthGrant.byTriple", query = "select g from AgentAuthDelegationGrantEntity g where g.realmId = :realmId and g.userId = :userId and g.agentClientId = :agentClientId and g.hostClientId = :hostClientId"),
    @NamedQuery(name = "agentAuthGrant.byUser", query = "select g from AgentAuthDelegationGrantEntity g where g.realmId = :realmId and g.userId = :userId order by g.createdAt"),
    @NamedQuery(name = "agentAuthGrant.byAgent", query = "select g from AgentAuthDelegationGrantEntity g where g.realmId = :realmId and g.agentClientId = :agentClientId order by g.createdAt"),
    @NamedQuery(name = "agentAuthGrant.deleteByUser", query = "delete from AgentAuthDelegationGrantEntity g where g.realmId = :realmId and g.userId = :userId"),
    @NamedQuery(name = "agentAuthGrant.deleteByClient", query = "delete from AgentAuthDelegationGrantEntity g where g.realmId = :realmId and (g.agentClientId = :clientId or g.hostClientId = :clientId)"),
    @NamedQuery(name = "agentAuthGrant.deleteByRealm", query = "delete from AgentAuthDelegationGrantEntity g where g.realmId = :realmId"),
    @NamedQuery(name = "agentAuthGrant.deleteById", query = "delete from AgentAuthDelegationGrantEntity g where g.realmId = :realmId and g.id = :id"),
    // renews an active grant's content without a version check: parallel grants for one (user, agent, host) never fail, the
    // last one stands; an expired grant is never renewed (a new row with a new id: tokens are bound to the id)
    @NamedQuery(name = "agentAuthGrant.replace", query = "update AgentAuthDelegationGrantEntity g set g.scope = :scope, g.connectors = :connectors, g.connections = :connections, g.downstreamAgents = :downstreamAgents, g.updatedAt = :now, g.expiresAt = :expiresAt, g.origin = :origin, g.version = g.version + 1 where g.id = :id"),
    // the coarse last-used time: only when not set within the interval, and without bumping the version
    @NamedQuery(name = "agentAuthGrant.touch", query = "update AgentAuthDelegationGrantEntity g set g.lastUsedAt = :now where g.id = :id and (g.lastUsedAt is null or g.lastUsedAt < :cutoff)")
})
public class AgentAuthDelegationGrantEntity {

    @Id
    @Column(name = "ID", length = 36)
    private String id;

    @Column(name = "REALM_ID", length = 36, nullable = false)
    private String realmId;

    @Column(name = "USER_ID", length = 255, nullable = false)
    private String userId;

    /** Internal id of the agent's client. */
    @Column(name = "AGENT_CLIENT_ID", length = 36, nullable = false)
    private String agentClientId;

    /** Internal id of the host client the user delegated through. */
    @Column(name = "HOST_CLIENT_ID", length = 36, nullable = false)
    private String hostClientId;

    /** Granted scopes, space separated. */
    @Column(name = "SCOPE", length = 2000, nullable = false)
    private String scope;

    /** Connector aliases the user allowed, space separated. */
    @Column(name = "CONNECTORS", length = 2000)
    private String connectors;

    /**
     * The account the user picked per connector on the consent screen, space separated {@code alias=connectionId}
     * pairs; a connector without a pair: any of the user's accounts.
     */
    @Column(name = "CONNECTIONS", length = 2000)
    private String connections;

    /** Client ids of downstream agents the user allowed this agent to hand over to, space separated. */
    @Column(name = "DOWNSTREAM_AGENTS", length = 2000)
    private String downstreamAgents;

    /** Epoch milliseconds. */
    @Column(name = "CREATED_AT", nullable = false)
    private long createdAt;

    @Column(name = "UPDATED_AT", nullable = false)
    private long updatedAt;

    /** Epoch milliseconds; null = until revoked. */
    @Column(name = "EXPIRES_AT")
    private Long expiresAt;

    /** Epoch milliseconds of the last exchange, refresh or code redemption that relied on the grant (coarse: once a minute). */
    @Column(name = "LAST_USED_AT")
    private Long lastUsedAt;

    /** How the grant came to be: {@code consent} (screen), {@code consent_scope} (delegation scope), {@code admin}. */
    @Column(name = "ORIGIN", length = 32, nullable = false)
    private String origin;

    @Version
    @Column(name = "VERSION", nullable = false)
    private int version;

    public String getId() { return id; }
    public void setId(String id) { this.id = id; }
    public String getRealmId() { return realmId; }
    public void setRealmId(String realmId) { this.realmId = realmId; }
    public String getUserId() { return userId; }
    public void setUserId(String userId) { this.userId = userId; }
    public String getAgentClientId() { return agentClientId; }
    public void setAgentClientId(String agentClientId) { this.agentClientId = agentClientId; }
    public String getHostClientId() { return hostClientId; }
    public void setHostClientId(String hostClientId) { this.hostClientId = hostClientId; }
    public String getScope() { return scope; }
    public void setScope(String scope) { this.scope = scope; }
    public String getConnections() { return connections; }
    public void setConnections(String connections) { this.connections = connections; }
    public String getConnectors() { return connectors; }
    public void setConnectors(String connectors) { this.connectors = connectors; }
    public String getDownstreamAgents() { return downstreamAgents; }
    public void setDownstreamAgents(String downstreamAgents) { this.downstreamAgents = downstreamAgents; }
    public long getCreatedAt() { return createdAt; }
    public void setCreatedAt(long createdAt) { this.createdAt = createdAt; }
    public long getUpdatedAt() { return updatedAt; }
    public void setUpdatedAt(long updatedAt) { this.updatedAt = updatedAt; }
    public Long getExpiresAt() { return expiresAt; }
    public void setExpiresAt(Long expiresAt) { this.expiresAt = expiresAt; }
    public Long getLastUsedAt() { return lastUsedAt; }
    public void setLastUsedAt(Long lastUsedAt) { this.lastUsedAt = lastUsedAt; }
    public String getOrigin() { return origin; }
    public void setOrigin(String origin) { this.origin = origin; }
    public int getVersion() { return version; }
}
