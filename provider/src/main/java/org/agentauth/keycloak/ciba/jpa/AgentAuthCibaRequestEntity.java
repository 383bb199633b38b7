package org.agentauth.keycloak.ciba.jpa;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.NamedQueries;
import jakarta.persistence.NamedQuery;
import jakarta.persistence.Table;

/**
 * A CIBA request waiting for the user's decision (DESIGN section 12), as the approval channel shows it. Keycloak keeps
 * the request's state in its own store (the device-code entry); this row is what the self-service page lists, what the
 * approval page shows, and the guard that lets exactly one decision through, on any node. Table
 * {@code AGENT_AUTH_CIBA_REQUEST}; rows are deleted once expired.
 */
@Entity
@Table(name = "AGENT_AUTH_CIBA_REQUEST")
@NamedQueries({
    @NamedQuery(name = "agentAuthCiba.byUser", query = "select r from AgentAuthCibaRequestEntity r where r.realmId = :realmId and r.userId = :userId and r.expiresAt > :now order by r.createdAt"),
    @NamedQuery(name = "agentAuthCiba.decide", query = "update AgentAuthCibaRequestEntity r set r.status = :status, r.decidedAt = :now where r.id = :id and r.status = 'pending' and r.expiresAt > :now"),
    @NamedQuery(name = "agentAuthCiba.deleteExpired", query = "delete from AgentAuthCibaRequestEntity r where r.expiresAt < :cutoff"),
    @NamedQuery(name = "agentAuthCiba.deleteByUser", query = "delete from AgentAuthCibaRequestEntity r where r.realmId = :realmId and r.userId = :userId"),
    @NamedQuery(name = "agentAuthCiba.deleteByClient", query = "delete from AgentAuthCibaRequestEntity r where r.realmId = :realmId and (r.clientId = :clientId or r.agentClientId = :clientId)")
})
public class AgentAuthCibaRequestEntity {

    @Id
    @Column(name = "ID", length = 36)
    private String id;

    @Column(name = "REALM_ID", length = 36, nullable = false)
    private String realmId;

    @Column(name = "USER_ID", length = 255, nullable = false)
    private String userId;

    /** Internal id of the client that sent the CIBA request (the agent itself, or its host). */
    @Column(name = "CLIENT_ID", length = 36, nullable = false)
    private String clientId;

    /** Internal id of the agent ({@code requested_actor}); null for a plain CIBA request. */
    @Column(name = "AGENT_CLIENT_ID", length = 36)
    private String agentClientId;

    /** The {@code scope} parameter as sent. */
    @Column(name = "SCOPE", length = 2000, nullable = false)
    private String scope;

    @Column(name = "BINDING_MESSAGE", length = 64)
    private String bindingMessage;

    /** The {@code authorization_details} description ({@code agent_action}). */
    @Column(name = "DESCRIPTION", length = 1000)
    private String description;

    /** RFC 8707 resources, space separated, normalized. */
    @Column(name = "RESOURCE", length = 2000)
    private String resource;

    /** {@code max_age} of the request: the approver's sign-in must be at most this old (seconds). */
    @Column(name = "MAX_AGE")
    private Integer maxAge;

    /** Keycloak's key of the request in its store (the user-code key of the device-code entry). */
    @Column(name = "AUTH_RESULT_ID", length = 64, nullable = false)
    private String authResultId;

    /** {@code pending}, {@code approved}, {@code denied}. */
    @Column(name = "STATUS", length = 16, nullable = false)
    private String status;

    /** Epoch milliseconds. */
    @Column(name = "CREATED_AT", nullable = false)
    private long createdAt;

    /** Epoch milliseconds: the realm's CIBA expiry, as Keycloak's store keeps the request. */
    @Column(name = "EXPIRES_AT", nullable = false)
    private long expiresAt;

    @Column(name = "DECIDED_AT")
    private Long decidedAt;

    public String getId() { return id; }
    public void setId(String id) { this.id = id; }
    public String getRealmId() { return realmId; }
    public void setRealmId(String realmId) { this.realmId = realmId; }
    public String getUserId() { return userId; }
    public void setUserId(String userId) { this.userId = userId; }
    public String getClientId() { return clientId; }
    public void setClientId(String clientId) { this.clientId = clientId; }
    public String getAgentClientId() { return agentClientId; }
    public void setAgentClientId(String agentClientId) { this.agentClientId = agentClientId; }
    public String getScope() { return scope; }
    public void setScope(String scope) { this.scope = scope; }
    public String getBindingMessage() { return bindingMessage; }
    public void setBindingMessage(String bindingMessage) { this.bindingMessage = bindingMessage; }
    public String getDescription() { return description; }
    public void setDescription(String description) { this.description = description; }
    public String getResource() { return resource; }
    public void setResource(String resource) { this.resource = resource; }
    public Integer getMaxAge() { return maxAge; }
    public void setMaxAge(Integer maxAge) { this.maxAge = maxAge; }
    public String getAuthResultId() { return authResultId; }
    public void setAuthResultId(String authResultId) { this.authResultId = authResultId; }
    public String getStatus() { return status; }
    public void setStatus(String status) { this.status = status; }
    public long getCreatedAt() { return createdAt; }
    public void setCreatedAt(long createdAt) { this.createdAt = createdAt; }
    public long getExpiresAt() { return expiresAt; }
    public void setExpiresAt(long expiresAt) { this.expiresAt = expiresAt; }
    public Long getDecidedAt() { return decidedAt; }
    public void setDecidedAt(Long decidedAt) { this.decidedAt = decidedAt; }
}
