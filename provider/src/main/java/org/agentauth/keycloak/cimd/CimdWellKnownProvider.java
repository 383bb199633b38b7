package org.agentauth.keycloak.cimd;

import java.util.ArrayList;
import java.util.List;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.RealmModel;
import org.keycloak.protocol.oidc.representations.OIDCConfigurationRepresentation;
import org.keycloak.wellknown.WellKnownProvider;

/**
 * Keycloak's discovery document (OIDC or RFC 8414), with {@code client_id_metadata_document_supported: true} and
 * {@code none} among the token endpoint's authentication methods exactly where the realm has CIMD on; elsewhere the
 * flag is removed, also where Keycloak's experimental {@code cimd} feature would set it in every realm. Everything else
 * is Keycloak's answer (including its {@code openid-configuration-override} option).
 */
final class CimdWellKnownProvider implements WellKnownProvider {

    private final KeycloakSession session;
    private final WellKnownProvider stock;

    CimdWellKnownProvider(KeycloakSession session, WellKnownProvider stock) {
        this.session = session;
        this.stock = stock;
    }

    @Override
    public Object getConfig() {
        Object config = stock.getConfig();
        RealmModel realm = session.getContext().getRealm();
        if (!(config instanceof OIDCConfigurationRepresentation c) || realm == null) {
            return config;
        }
        if (CimdSettings.of(realm).enabled()) {
            c.setClientIdMetadataDocumentSupported(true);
            List<String> methods = c.getTokenEndpointAuthMethodsSupported() == null ? new ArrayList<>()
                    : new ArrayList<>(c.getTokenEndpointAuthMethodsSupported());
            if (!methods.contains("none")) {
                methods.add("none");
            }
            c.setTokenEndpointAuthMethodsSupported(methods); // a copy: Keycloak shares the list with other members
        } else {
            c.setClientIdMetadataDocumentSupported(null);
        }
        return c;
    }

    @Override
    public void close() {
        stock.close();
    }
}
