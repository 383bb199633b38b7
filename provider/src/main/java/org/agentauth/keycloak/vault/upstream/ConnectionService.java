package org.agentauth.keycloak.vault.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.TokenSet;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.crypto.TokenCipher.VaultKeyException;
import org.jboss.logging.Logger;
import org.keycloak.events.Details;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.models.utils.KeycloakModelUtils;

/** What users and admins do with a connection: check it against the upstream, and revoke it. */
public final class ConnectionService {

    private static final Logger LOG = Logger.getLogger(ConnectionService.class);

    private ConnectionService() {
    }

    /**
     * Revokes a connection: the upstream's RFC 7009 endpoint first (when the connector has one and the connection is
     * ACTIVE; the refresh token, which takes the access tokens with it, else the access token), then the row and its
     * tokens are deleted. A connection that is not ACTIVE may hold tokens of origins the connector no longer names (its
     * URLs moved, DESIGN section 5): its tokens go nowhere. The upstream
     * call happens before any database write. A failing upstream does not keep the tokens here: the user asked for them
     * to go.
     *
     * @return whether the upstream confirmed the revocation
     */
    public static boolean revoke(KeycloakSession session, RealmModel realm, UpstreamConnection c, EventBuilder event) {
        Connector connector = Connector.byId(realm, c.connectorId()).orElse(null);
        boolean upstreamRevoked = false;
        String problem = null;
        if (connector != null && connector.revocationUrl() != null && activeNow(session, realm, c)) {
            try {
                TokenSet tokens = session.getProvider(UpstreamConnectionProvider.class).tokens(realm, c);
                UpstreamClient client = new UpstreamClient(session, connector);
                upstreamRevoked = tokens.hasRefreshToken() ? client.revoke(tokens.refreshToken(), "refresh_token")
                        : client.revoke(tokens.accessToken(), "access_token");
            } catch (UpstreamException | VaultKeyException e) {
                problem = e.getMessage();
                LOG.debugf("connection %s: upstream revocation failed (%s); deleting it here anyway", c.id(), problem);
            }
        }
        session.getProvider(UpstreamConnectionProvider.class).delete(realm, c.id());
        event.event(EventType.REMOVE_FEDERATED_IDENTITY)
                .detail(AgentAuthEvents.CONNECTOR, connector == null ? null : connector.alias())
                .detail(AgentAuthEvents.CONNECTION_ID, c.id())
                .detail(Details.IDENTITY_PROVIDER_USERNAME, c.label())
                .detail("upstream_revoked", String.valueOf(upstreamRevoked));
        if (problem != null) {
            event.detail(Details.REASON, problem);
        }
        event.success();
        return upstreamRevoked;
    }

    /**
     * Uses the connection once: a working upstream access token (refreshed when due) against the upstream's userinfo
     * endpoint. Returns what an admin or the user may see: status, account, upstream HTTP status; never a token.
     */
    public static Map<String, Object> check(KeycloakSession session, RealmModel realm, UpstreamConnection c) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", c.id());
        Connector connector = Connector.byId(realm, c.connectorId()).orElse(null);
        if (connector == null) {
            out.put("ok", false);
            out.put("problem", "the connector is gone");
            return out;
        }
        if (!activeNow(session, realm, c)) {
            out.put("ok", false);
            out.put("problem", "connection_required");
            out.put("detail", "The connection is not active: connect the account again");
            return out;
        }
        try {
            String access = ConnectionTokens.tokens(session, realm, connector, c).accessToken();
            session.getProvider(UpstreamConnectionProvider.class).touch(c);
            if (connector.userinfoUrl() == null) {
                out.put("ok", true);
                out.put("account", c.label());
                return out;
            }
            JsonNode info = new UpstreamClient(session, connector).userinfo(access);
            out.put("ok", true);
            String name = UpstreamClient.accountName(info);
            out.put("account", name == null ? c.label() : name);
            out.put("upstreamStatus", 200);
        } catch (ConnectionUnusable e) {
            out.put("ok", false);
            out.put("problem", e.reason() == ConnectionUnusable.Reason.RECONNECT ? "connection_required" : e.reason().name().toLowerCase());
            out.put("detail", e.getMessage());
        } catch (UpstreamException e) {
            out.put("ok", false);
            out.put("problem", "upstream_error");
            out.put("upstreamStatus", e.status());
            out.put("detail", e.getMessage());
        }
        return out;
    }

    /**
     * Whether the connection is ACTIVE as committed now, read after its connector. A change of the connector's origins
     * commits the connector and its connections' EXPIRED status together (DESIGN section 5), so a connection read
     * before the connector could be ACTIVE under the old origins while the connector just read names new ones; read
     * again after the connector, an ACTIVE row was stored for the origins of that connector (or of an older one, the
     * ones its tokens came from). In a transaction of its own: the request's persistence context would hand back the row
     * as first read.
     */
    private static boolean activeNow(KeycloakSession session, RealmModel realm, UpstreamConnection c) {
        String realmId = realm.getId();
        return KeycloakModelUtils.runJobInTransactionWithResult(session.getKeycloakSessionFactory(), s -> {
            RealmModel r = s.realms().getRealm(realmId);
            return r != null && s.getProvider(UpstreamConnectionProvider.class).byId(r, c.id())
                    .filter(now -> now.active() && now.connectorId().equals(c.connectorId())).isPresent();
        });
    }
}
