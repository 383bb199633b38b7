package org.agentauth.keycloak.vault.jpa;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.NamedQueries;
import jakarta.persistence.NamedQuery;
import jakarta.persistence.Table;

/**
 * A connection: one user's linked upstream account on one connector (DESIGN section 2), table
 * {@code AGENT_AUTH_CONNECTION}. {@code TOKENS} is AES-256-GCM ciphertext under key {@code KEY_ID}, bound to realm,
 * user, id, connector and subject (rows of the older form, without the {@code v2.} prefix, are bound to realm, user and
 * id until re-encryption rewrites them); no token is ever stored in the clear. {@code VERSION} changes with every write; the refresh lease is
 * taken by a version check ({@code LEASE_UNTIL}), never by a database lock held across an upstream call.
 */
@Entity
@Table(name = "AGENT_AUTH_CONNECTION")
@NamedQueries({
    @NamedQuery(name = "agentAuthConnection.byUser", query = "select c from AgentAuthConnectionEntity c where c.realmId = :realmId and c.userId = :userId order by c.createdAt desc"),
    @NamedQuery(name = "agentAuthConnection.byUserConnector", query = "select c from AgentAuthConnectionEntity c where c.realmId = :realmId and c.userId = :userId and c.connectorId = :connectorId order by c.createdAt desc"),
    @NamedQuery(name = "agentAuthConnection.bySubject", query = "select c from AgentAuthConnectionEntity c where c.realmId = :realmId and c.userId = :userId and c.connectorId = :connectorId and c.subject = :subject"),
    @NamedQuery(name = "agentAuthConnection.notUnderKey", query = "select c from AgentAuthConnectionEntity c where c.realmId = :realmId and (c.keyId <> :keyId or c.tokens not like 'v2.%')"),
    @NamedQuery(name = "agentAuthConnection.countNotUnderKey", query = "select count(c) from AgentAuthConnectionEntity c where c.realmId = :realmId and (c.keyId <> :keyId or c.tokens not like 'v2.%')"),
    @NamedQuery(name = "agentAuthConnection.takeLease", query = "update AgentAuthConnectionEntity c set c.leaseUntil = :until, c.version = c.version + 1 where c.id = :id and c.version = :version and (c.leaseUntil is null or c.leaseUntil < :now)"),
    @NamedQuery(name = "agentAuthConnection.saveRefreshed", query = "update AgentAuthConnectionEntity c set c.keyId = :keyId, c.tokens = :tokens, c.refreshable = :refreshable, c.accessExpiresAt = :accessExpiresAt, c.refreshExpiresAt = :refreshExpiresAt, c.scope = :scope, c.status = 'ACTIVE', c.leaseUntil = null, c.updatedAt = :now, c.version = c.version + 1 where c.id = :id and c.version = :version"),
    @NamedQuery(name = "agentAuthConnection.rewrite", query = "update AgentAuthConnectionEntity c set c.keyId = :keyId, c.tokens = :tokens, c.version = c.version + 1 where c.id = :id and c.version = :version"),
    @NamedQuery(name = "agentAuthConnection.expire", query = "update AgentAuthConnectionEntity c set c.status = 'EXPIRED', c.leaseUntil = null, c.updatedAt = :now, c.version = c.version + 1 where c.id = :id and c.version = :version"),
    @NamedQuery(name = "agentAuthConnection.releaseLease", query = "update AgentAuthConnectionEntity c set c.leaseUntil = :retryAt, c.version = c.version + 1 where c.id = :id and c.version = :version"),
    @NamedQuery(name = "agentAuthConnection.expireByConnector", query = "update AgentAuthConnectionEntity c set c.status = 'EXPIRED', c.updatedAt = :now, c.version = c.version + 1 where c.realmId = :realmId and c.connectorId = :connectorId and c.status = 'ACTIVE'"),
    @NamedQuery(name = "agentAuthConnection.touch", query = "update AgentAuthConnectionEntity c set c.lastUsedAt = :now where c.id = :id and (c.lastUsedAt is null or c.lastUsedAt < :cutoff)"),
    @NamedQuery(name = "agentAuthConnection.deleteById", query = "delete from AgentAuthConnectionEntity c where c.realmId = :realmId and c.id = :id"),
    @NamedQuery(name = "agentAuthConnection.deleteByUser", query = "delete from AgentAuthConnectionEntity c where c.realmId = :realmId and c.userId = :userId"),
    @NamedQuery(name = "agentAuthConnection.deleteByConnector", query = "delete from AgentAuthConnectionEntity c where c.realmId = :realmId and c.connectorId = :connectorId"),
    @NamedQuery(name = "agentAuthConnection.deleteByRealm", query = "delete from AgentAuthConnectionEntity c where c.realmId = :realmId")
})
public class AgentAuthConnectionEntity {

    @Id
    @Column(name = "ID", length = 36)
    private String id;

    @Column(name = "REALM_ID", length = 36, nullable = false)
    private String realmId;

    @Column(name = "USER_ID", length = 255, nullable = false)
    private String userId;

    @Column(name = "CONNECTOR_ID", length = 36, nullable = false)
    private String connectorId;

    @Column(name = "SUBJECT", length = 255, nullable = false)
    private String subject;

    @Column(name = "LABEL", length = 255, nullable = false)
    private String label;

    @Column(name = "SCOPE", length = 2000)
    private String scope;

    @Column(name = "STATUS", length = 16, nullable = false)
    private String status;

    @Column(name = "KEY_ID", length = 32, nullable = false)
    private String keyId;

    @Column(name = "TOKENS", nullable = false)
    private String tokens;

    @Column(name = "REFRESHABLE", nullable = false)
    private boolean refreshable;

    @Column(name = "ACCESS_EXPIRES_AT")
    private Long accessExpiresAt;

    @Column(name = "REFRESH_EXPIRES_AT")
    private Long refreshExpiresAt;

    @Column(name = "LEASE_UNTIL")
    private Long leaseUntil;

    @Column(name = "CREATED_AT", nullable = false)
    private long createdAt;

    @Column(name = "UPDATED_AT", nullable = false)
    private long updatedAt;

    @Column(name = "LAST_USED_AT")
    private Long lastUsedAt;

    @Column(name = "VERSION", nullable = false)
    private int version;

    public String getId() {
        return id;
    }

    public void setId(String id) {
        this.id = id;
    }

    public String getRealmId() {
        return realmId;
    }

    public void setRealmId(String realmId) {
        this.realmId = realmId;
    }

    public String getUserId() {
        return userId;
    }

    public void setUserId(String userId) {
        this.userId = userId;
    }

    public String getConnectorId() {
        return connectorId;
    }

    public void setConnectorId(String connectorId) {
        this.connectorId = connectorId;
    }

    public String getSubject() {
        return subject;
    }

    public void setSubject(String subject) {
        this.subject = subject;
    }

    public String getLabel() {
        return label;
    }

    public void setLabel(String label) {
        this.label = label;
    }

    public String getScope() {
        return scope;
    }

    public void setScope(String scope) {
        this.scope = scope;
    }

    public String getStatus() {
        return status;
    }

    public void setStatus(String status) {
        this.status = status;
    }

    public String getKeyId() {
        return keyId;
    }

    public void setKeyId(String keyId) {
        this.keyId = keyId;
    }

    public String getTokens() {
        return tokens;
    }

    public void setTokens(String tokens) {
        this.tokens = tokens;
    }

    public boolean isRefreshable() {
        return refreshable;
    }

    public void setRefreshable(boolean refreshable) {
        this.refreshable = refreshable;
    }

    public Long getAccessExpiresAt() {
        return accessExpiresAt;
    }

    public void setAccessExpiresAt(Long accessExpiresAt) {
        this.accessExpiresAt = accessExpiresAt;
    }

    public Long getRefreshExpiresAt() {
        return refreshExpiresAt;
    }

    public void setRefreshExpiresAt(Long refreshExpiresAt) {
        this.refreshExpiresAt = refreshExpiresAt;
    }

    public Long getLeaseUntil() {
        return leaseUntil;
    }

    public void setLeaseUntil(Long leaseUntil) {
        this.leaseUntil = leaseUntil;
    }

    public long getCreatedAt() {
        return createdAt;
    }

    public void setCreatedAt(long createdAt) {
        this.createdAt = createdAt;
    }

    public long getUpdatedAt() {
        return updatedAt;
    }

    public void setUpdatedAt(long updatedAt) {
        this.updatedAt = updatedAt;
    }

    public Long getLastUsedAt() {
        return lastUsedAt;
    }

    public void setLastUsedAt(Long lastUsedAt) {
        this.lastUsedAt = lastUsedAt;
    }

    public int getVersion() {
        return version;
    }

    public void setVersion(int version) {
        this.version = version;
    }
}
