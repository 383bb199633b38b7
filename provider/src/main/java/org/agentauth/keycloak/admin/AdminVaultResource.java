package org.agentauth.keycloak.admin;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;
import org.agentauth.keycloak.audit.AgentAuthEvents;
import org.agentauth.keycloak.vault.UpstreamConnectionProvider;
import org.agentauth.keycloak.vault.VaultSettings;
import org.agentauth.keycloak.vault.crypto.KeyRing;
import org.agentauth.keycloak.vault.crypto.TokenCipher.VaultKeyException;
import org.keycloak.events.admin.OperationType;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.services.resources.admin.AdminEventBuilder;
import org.keycloak.services.resources.admin.fgap.AdminPermissionEvaluator;

/**
 * {@code /admin/realms/{realm}/agent-auth/vault}: the vault's key state for this realm ({@code GET}: active key id, key
 * source, connections not yet under the active key; never key material) and key rotation's second step
 * ({@code POST vault/reencrypt}: rewrite every connection under the active key). Needs permission to manage the realm.
 */
public class AdminVaultResource {

    private static final int BATCH = 500;

    private final KeycloakSession session;
    private final RealmModel realm;
    private final AdminPermissionEvaluator auth;
    private final AdminEventBuilder adminEvent;

    public AdminVaultResource(KeycloakSession session, RealmModel realm, AdminPermissionEvaluator auth, AdminEventBuilder adminEvent) {
        this.session = session;
        this.realm = realm;
        this.auth = auth;
        this.adminEvent = adminEvent.resource(AgentAuthEvents.ADMIN_RESOURCE_VAULT);
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public Map<String, Object> status() {
        auth.realm().requireViewRealm();
        KeyRing keys = session.getProvider(VaultSettings.class).keys();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("keySource", keys.source().name());
        out.put("activeKeyId", keys.activeKeyId());
        out.put("keyIds", keys.keyIds());
        out.put("connectionsNotUnderActiveKey", session.getProvider(UpstreamConnectionProvider.class).countNotUnderActiveKey(realm));
        return out;
    }

    @POST
    @Path("reencrypt")
    @Produces(MediaType.APPLICATION_JSON)
    public Response reencrypt() {
        auth.realm().requireManageRealm();
        UpstreamConnectionProvider connections = session.getProvider(UpstreamConnectionProvider.class);
        int total = 0;
        try {
            int n;
            do {
                n = connections.reencrypt(realm, BATCH);
                total += n;
            } while (n == BATCH);
        } catch (VaultKeyException e) {
            return Response.status(Response.Status.CONFLICT).type(MediaType.APPLICATION_JSON)
                    .entity(Map.of("error", "vault_key", "error_description", e.getMessage())).build();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("rewritten", total);
        out.put("activeKeyId", session.getProvider(VaultSettings.class).keys().activeKeyId());
        out.put("connectionsNotUnderActiveKey", connections.countNotUnderActiveKey(realm));
        adminEvent.operation(OperationType.UPDATE).resourcePath(session.getContext().getUri()).representation(out).success();
        return Response.ok(out).build();
    }
}
