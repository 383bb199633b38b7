package org.agentauth.keycloak.ciba;

import com.google.auto.service.AutoService;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.grants.OAuth2GrantType;
import org.keycloak.protocol.oidc.grants.OAuth2GrantTypeFactory;
import org.keycloak.protocol.oidc.grants.ciba.CibaGrantTypeFactory;

/**
 * Replaces Keycloak's CIBA grant (same id, shortcut {@code ci} and CIBA feature switch, higher order) with
 * {@link DelegatedCibaGrantType}. The shortcut must stay: it is part of every token id.
 */
@AutoService(OAuth2GrantTypeFactory.class)
public class DelegatedCibaGrantTypeFactory extends CibaGrantTypeFactory {

    @Override
    public OAuth2GrantType create(KeycloakSession session) {
        return new DelegatedCibaGrantType();
    }

    @Override
    public int order() {
        return 10;
    }
}
