package org.agentauth.keycloak.token;

import org.jboss.logging.Logger;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.encode.AccessTokenContext;
import org.keycloak.protocol.oidc.encode.TokenContextEncoderProvider;
import org.keycloak.protocol.oidc.token.TokenPostProcessor;
import org.keycloak.protocol.oidc.token.TokenPostProcessorContext;
import org.keycloak.representations.AccessToken;

/**
 * The last word on every issued access token (lowest order: runs after the delegation and resource post-processors):
 * a token carrying {@code act} or {@code may_act} loses Keycloak's account and realm-management audiences and roles,
 * and only the extension's own grants may issue such a token at all (see {@link TokenContainment}).
 */
public class ContainmentPostProcessor implements TokenPostProcessor {

    private static final Logger LOG = Logger.getLogger(ContainmentPostProcessor.class);

    private final KeycloakSession session;

    public ContainmentPostProcessor(KeycloakSession session) {
        this.session = session;
    }

    @Override
    public void process(TokenPostProcessorContext ctx) {
        AccessToken at = ctx.accessToken();
        if (at == null || !TokenContainment.carriesDelegation(at)) {
            return;
        }
        // the grant type Keycloak encodes in the token id: the one whose isTokenAllowed it will ask at every bearer use
        String grantType = grantTypeOf(at);
        if (grantType == null || !TokenContainment.OWNED_GRANT_TYPES.contains(grantType)) {
            TokenContainment.strip(at);
            LOG.debugf("act/may_act removed from a token of grant type %s (not one of the extension's grants)", grantType);
        }
        TokenContainment.contain(at);
    }

    private String grantTypeOf(AccessToken at) {
        try {
            AccessTokenContext c = session.getProvider(TokenContextEncoderProvider.class).getTokenContextFromTokenId(at.getId());
            return c == null ? null : c.getGrantType();
        } catch (IllegalArgumentException e) {
            return null; // not an encoded id: no grant of ours decides its use
        }
    }

    @Override
    public void close() {
    }
}
