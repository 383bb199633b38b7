package org.agentauth.keycloak.account;

import jakarta.ws.rs.ForbiddenException;
import jakarta.ws.rs.NotAuthorizedException;
import org.agentauth.keycloak.token.DelegatedTokens;
import org.agentauth.keycloak.token.TokenContainment;
import org.keycloak.models.AccountRoles;
import org.keycloak.models.Constants;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.UserModel;
import org.keycloak.representations.AccessToken;
import org.keycloak.services.managers.AppAuthManager;
import org.keycloak.services.managers.AuthenticationManager;

/**
 * Who calls the extension's account API: authorised like Keycloak's Account REST API (bearer token with audience
 * {@code account} and role {@code manage-account}); a token that carries {@code act} or {@code may_act} is refused with
 * 403 (an agent never manages what the user delegated or connected), and so are service accounts.
 */
final class AccountAuth {

    private AccountAuth() {
    }

    static UserModel authenticate(KeycloakSession session, String delegatedRefusal, String serviceAccountRefusal) {
        // Keycloak's bearer authentication refuses a token carrying act or may_act (TokenContainment): say why with 403.
        AppAuthManager.AuthHeader header = AppAuthManager.extractAuthorizationHeaderTokenOrReturnNull(session.getContext().getRequestHeaders());
        if (header != null && DelegatedTokens.peek(header.getToken()).map(TokenContainment::carriesDelegation).orElse(false)) {
            throw new ForbiddenException(delegatedRefusal);
        }
        AuthenticationManager.AuthResult auth = new AppAuthManager.BearerTokenAuthenticator(session)
                .setAudience(Constants.ACCOUNT_MANAGEMENT_CLIENT_ID)
                .authenticate();
        if (auth == null) {
            throw new NotAuthorizedException("Bearer");
        }
        AccessToken token = auth.token();
        // like Keycloak's Account REST API: the token's client's web origins get CORS headers, other origins a 403
        AccountCors.check(token);
        if (token.getOtherClaims().containsKey("act") || token.getOtherClaims().containsKey("may_act")) {
            throw new ForbiddenException(delegatedRefusal);
        }
        if (auth.user().getServiceAccountClientLink() != null) {
            throw new ForbiddenException(serviceAccountRefusal);
        }
        AccessToken.Access access = token.getResourceAccess(Constants.ACCOUNT_MANAGEMENT_CLIENT_ID);
        if (access == null || !access.isUserInRole(AccountRoles.MANAGE_ACCOUNT)) {
            throw new ForbiddenException("Role manage-account required");
        }
        return auth.user();
    }
}
