package org.agentauth.keycloak.vault;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import org.keycloak.models.RealmModel;

/**
 * JSON shape of a connection in the account and admin REST APIs: what the user recognises, never token material.
 * Times are epoch milliseconds.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ConnectionRepresentation(
        String id,
        String userId,
        String connector,
        String connectorName,
        String account,
        List<String> scopes,
        String status,
        long createdAt,
        long updatedAt,
        Long lastUsedAt) {

    public static ConnectionRepresentation of(RealmModel realm, UpstreamConnection c) {
        Connector connector = Connector.byId(realm, c.connectorId()).orElse(null);
        return new ConnectionRepresentation(c.id(), c.userId(), connector == null ? null : connector.alias(),
                connector == null ? null : connector.name(), c.label(), List.copyOf(c.scopes()), c.status().name(),
                c.createdAt(), c.updatedAt(), c.lastUsedAt());
    }
}
