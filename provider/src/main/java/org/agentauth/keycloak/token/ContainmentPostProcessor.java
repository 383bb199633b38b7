package org.agentauth.keycloak.token;

import org.jboss.logging.Logger;
import org.keycloak.models.Constants;
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

    @Override
    public void process(TokenPostProcessorContext ctx) {
        AccessToken at = ctx.accessToken();
        if (at == null || !TokenContainment.carriesDelegation(at)) {
            return;
        }
        String grantType = ctx.clientSessionCtx() == null ? null : ctx.clientSessionCtx().getAttribute(Constants.GRANT_TYPE, String.class);
        if (grantType == null || !TokenContainment.OWNED_GRANT_TYPES.contains(grantType)) {
            TokenContainment.strip(at);
            LOG.debugf("act/may_act removed from a token of grant type %s (not one of the extension's grants)", grantType);
        }
        TokenContainment.contain(at);
    }

    @Override
    public void close() {
    }
}
