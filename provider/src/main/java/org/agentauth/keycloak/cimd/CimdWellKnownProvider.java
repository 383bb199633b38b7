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
 * answer is what Keycloak gives without its experimental {@code cimd} feature (which, when on, sets the flag and adds
 * {@code none} in every realm). Everything else is Keycloak's answer (including its {@code openid-configuration-override}
 * option). Assumes no client authenticator of the server offers {@code none} (none of Keycloak's does).
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
            // public clients authenticate nowhere else: as with the feature off, also where Keycloak's cimd feature is on
            c.setIntrospectionEndpointAuthMethodsSupported(withoutNone(c.getIntrospectionEndpointAuthMethodsSupported()));
            c.setRevocationEndpointAuthMethodsSupported(withoutNone(c.getRevocationEndpointAuthMethodsSupported()));
        } else if (Boolean.TRUE.equals(c.getClientIdMetadataDocumentSupported())) {
            // Keycloak's experimental cimd feature set the flag, and added "none" to the one list it shares between the
            // token, introspection and revocation endpoints, in every realm: undo both here, as with the feature off
            c.setClientIdMetadataDocumentSupported(null);
            c.setTokenEndpointAuthMethodsSupported(withoutNone(c.getTokenEndpointAuthMethodsSupported()));
            c.setIntrospectionEndpointAuthMethodsSupported(withoutNone(c.getIntrospectionEndpointAuthMethodsSupported()));
            c.setRevocationEndpointAuthMethodsSupported(withoutNone(c.getRevocationEndpointAuthMethodsSupported()));
        }
        return c;
    }

    private static List<String> withoutNone(List<String> methods) {
        return methods == null ? null : methods.stream().filter(m -> !"none".equals(m)).toList();
    }

    @Override
    public void close() {
        stock.close();
    }
}
