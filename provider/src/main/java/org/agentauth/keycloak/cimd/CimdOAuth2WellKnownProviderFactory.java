package org.agentauth.keycloak.cimd;

import com.google.auto.service.AutoService;
import org.keycloak.wellknown.WellKnownProviderFactory;

/**
 * {@code /.well-known/oauth-authorization-server} (RFC 8414, also under {@code /.well-known/oauth-authorization-server/realms/{realm}},
 * where the MCP SDK looks first): Keycloak's own provider, wrapped like {@link CimdOidcWellKnownProviderFactory}.
 */
@AutoService(WellKnownProviderFactory.class)
public class CimdOAuth2WellKnownProviderFactory extends CimdOidcWellKnownProviderFactory {

    public static final String PROVIDER_ID = "agent-auth-oauth-authorization-server";

    @Override
    protected String stockId() {
        return "oauth-authorization-server";
    }

    @Override
    public String getId() {
        return PROVIDER_ID;
    }

    @Override
    public boolean isAvailableViaServerMetadata() {
        return true;
    }
}
