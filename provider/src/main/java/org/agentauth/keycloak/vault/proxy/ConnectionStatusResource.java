package org.agentauth.keycloak.vault.proxy;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;

/**
 * {@code GET /realms/{realm}/agent-auth/connectors/{alias}/connection} (DESIGN section 5): which of the user's accounts
 * on this connector a brokered call would use now, without calling the upstream. The same caller, the same token (a
 * delegated token issued for the connector's resource URI) and the same choice of account ({@code X-Connection-Id} or
 * {@code connection_id}, else the account picked on the consent screen, else the most recent active one) as the proxy,
 * and the same refusals ({@code connection_required} with {@code connect_uri}, {@code connection_not_found},
 * {@code invalid_token}, ...). An agent that handed the user a connect link polls this until the user has connected.
 * The answer names the connection (id, account label, status, scopes, delivery mode), never a token. Every call is an
 * event ({@code IDENTITY_PROVIDER_RETRIEVE_TOKEN}, operation {@code connection_status}).
 */
public class ConnectionStatusResource {

    private final KeycloakSession session;
    private final RealmModel realm;
    private final String alias;

    public ConnectionStatusResource(KeycloakSession session, String alias) {
        this.session = session;
        this.realm = session.getContext().getRealm();
        this.alias = alias;
    }

    @GET
    public Response get() {
        EventBuilder event = new EventBuilder(realm, session, session.getContext().getConnection())
                .event(EventType.IDENTITY_PROVIDER_RETRIEVE_TOKEN)
                .detail(AgentAuthEvents.OPERATION, "connection_status")
                .detail(AgentAuthEvents.CONNECTOR, alias);
        Connector connector = Connector.byAlias(realm, alias).filter(Connector::enabled).orElse(null);
        if (connector == null) {
            return ProxyResource.error(event, Response.Status.NOT_FOUND, "not_found", "There is no connector " + alias, Errors.INVALID_REQUEST, null);
        }
        UpstreamConnection connection;
        try {
            connection = BrokeredAccess.ofRequest(session, realm, connector, event).connection();
        } catch (BrokeredAccess.Refusal r) {
            return ProxyResource.refused(event, r);
        }
        event.success();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("connector", connector.alias());
        body.put("connection_id", connection.id());
        body.put("account", connection.label());
        body.put("status", connection.status().name());
        body.put("scopes", new TreeSet<>(connection.scopes()));
        body.put("delivery_mode", connector.deliveryMode());
        return Response.ok(body, MediaType.APPLICATION_JSON).header("Cache-Control", "no-store").build();
    }
}
