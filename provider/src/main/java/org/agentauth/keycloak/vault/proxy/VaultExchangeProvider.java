package org.agentauth.keycloak.vault.proxy;

import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.support.ProtocolError;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.token.TokenContainment;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.UpstreamConnection;
import org.agentauth.keycloak.vault.upstream.ConnectionTokens;
import org.agentauth.keycloak.vault.upstream.ConnectionUnusable;
import org.keycloak.OAuth2Constants;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.EventBuilder;
import org.keycloak.events.EventType;
import org.keycloak.models.ClientModel;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.TokenExchangeContext;
import org.keycloak.protocol.oidc.TokenExchangeProvider;

/**
 * The vault exchange (DESIGN section 5): token exchange with {@code subject_token} = a delegated token,
 * {@code requested_issuer} = a connector's alias and no {@code actor_token}. The requesting client must be the acting
 * agent ({@code act.client_id}, else {@code unauthorized_client}); the grant chain and the agent's policy must include the
 * connector; the connector's delivery mode must allow releasing tokens. Answers a fresh upstream access token of the
 * chosen connection ({@code connection_id}, else the most recent active one), or {@code connection_required} with
 * {@code connect_uri}. An event {@code IDENTITY_PROVIDER_RETRIEVE_TOKEN} (operation {@code vault_exchange}) records it.
 */
public class VaultExchangeProvider implements TokenExchangeProvider {

    @Override
    public boolean supports(TokenExchangeContext context) {
        TokenExchangeContext.Params p = context.getParams();
        if (context.getFormParams().getFirst(OAuth2Constants.REQUESTED_ISSUER) == null) {
            context.setUnsupportedReason("Vault exchange: no requested_issuer");
            return false;
        }
        if (p.getActorToken() != null || p.getActorTokenType() != null) {
            context.setUnsupportedReason("Vault exchange: an actor_token makes it a delegation");
            return false;
        }
        if (!DelegatedTokens.peek(p.getSubjectToken()).map(TokenContainment::carriesDelegation).orElse(false)) {
            context.setUnsupportedReason("Vault exchange: the subject_token carries no act");
            return false;
        }
        return true;
    }

    @Override
    public Response exchange(TokenExchangeContext context) {
        KeycloakSession session = context.getSession();
        RealmModel realm = context.getRealm();
        ClientModel client = context.getClient();
        EventBuilder event = context.getEvent().event(EventType.IDENTITY_PROVIDER_RETRIEVE_TOKEN)
                .detail(AgentAuthEvents.OPERATION, "vault_exchange");
        String alias = context.getFormParams().getFirst(OAuth2Constants.REQUESTED_ISSUER);
        // a token sent as requested_issuer must not reach the event (and so the log): the alias as an id, masked
        event.detail(AgentAuthEvents.CONNECTOR, org.agentauth.keycloak.support.Strings.safeId(alias));
        try {
            String subjectType = context.getParams().getSubjectTokenType();
            if (subjectType != null && !OAuth2Constants.ACCESS_TOKEN_TYPE.equals(subjectType)) {
                throw ProtocolError.invalidRequest("subject_token_type must be " + OAuth2Constants.ACCESS_TOKEN_TYPE);
            }
            Connector connector = Connector.byAlias(realm, alias).filter(Connector::enabled)
                    .orElseThrow(() -> ProtocolError.invalidTarget("Unknown connector: " + org.agentauth.keycloak.support.Strings.safeId(alias)));
            BrokeredAccess.Caller caller;
            UpstreamConnection connection;
            try {
                caller = BrokeredAccess.verify(session, realm, connector, context.getParams().getSubjectToken(), null, event);
                if (!client.getClientId().equals(caller.chain().current().clientId())) {
                    throw ProtocolError.unauthorizedClient("Only the acting agent (" + caller.chain().current().clientId()
                            + ") may exchange this token for an upstream token");
                }
                if (!connector.releasesTokens()) {
                    throw ProtocolError.invalidRequest("Connector " + alias + " gives access through the brokered proxy only");
                }
                connection = BrokeredAccess.connection(session, realm, connector, caller,
                        context.getFormParams().getFirst("connection_id"), event);
            } catch (BrokeredAccess.Refusal r) {
                throw fromRefusal(r);
            }
            org.agentauth.keycloak.vault.TokenSet tokens;
            try {
                tokens = ConnectionTokens.tokens(session, realm, connector, connection);
            } catch (ConnectionUnusable e) {
                throw switch (e.reason()) {
                    case RECONNECT -> fromRefusal(BrokeredAccess.connectionRequired(session, realm, connector, caller,
                            "The linked account must be connected again"));
                    case VAULT_LOCKED -> new ProtocolError("temporarily_unavailable", "The vault cannot read this connection's tokens",
                            Errors.INVALID_CONFIG, Response.Status.SERVICE_UNAVAILABLE, null);
                    default -> new ProtocolError("temporarily_unavailable", "The upstream is not available: " + e.getMessage(),
                            Errors.IDENTITY_PROVIDER_ERROR, Response.Status.SERVICE_UNAVAILABLE, null);
                };
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("access_token", tokens.accessToken());
            body.put("issued_token_type", OAuth2Constants.ACCESS_TOKEN_TYPE);
            body.put("token_type", "Bearer");
            if (tokens.accessExpiresAt() != null) {
                body.put("expires_in", Math.max(0, (tokens.accessExpiresAt() - System.currentTimeMillis()) / 1000));
            }
            body.put("connection_id", connection.id());
            session.getProvider(org.agentauth.keycloak.vault.UpstreamConnectionProvider.class).touch(connection);
            event.success();
            return context.getCors().add(Response.ok(body, jakarta.ws.rs.core.MediaType.APPLICATION_JSON_TYPE)
                    .header("Cache-Control", "no-store").header("Pragma", "no-cache"));
        } catch (ProtocolError e) {
            event.detail(Details.REASON, e.description()).error(e.eventError());
            return e.toResponse(context.getCors());
        }
    }

    private static ProtocolError fromRefusal(BrokeredAccess.Refusal r) {
        Map<String, Object> extra = r.connectUri == null ? null : Map.of("connect_uri", r.connectUri);
        String error = switch (r.error) {
            case "invalid_token", "insufficient_scope" -> "invalid_request";
            default -> r.error;
        };
        // the token endpoint answers 400 (RFC 6749 section 5.2, RFC 8693 section 2.2.2), connection_required included
        return new ProtocolError(error, r.getMessage(), r.eventError, Response.Status.BAD_REQUEST, extra);
    }

    @Override
    public void close() {
    }
}
