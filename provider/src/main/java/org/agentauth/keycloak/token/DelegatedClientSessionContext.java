package org.agentauth.keycloak.token;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.keycloak.models.AuthenticatedClientSessionModel;
import org.keycloak.models.ClientModel;
import org.keycloak.models.ClientScopeModel;
import org.keycloak.models.ClientSessionContext;
import org.keycloak.models.KeycloakSession;
import org.keycloak.models.ProtocolMapperModel;
import org.keycloak.models.RoleModel;
import org.keycloak.protocol.oidc.mappers.AudienceProtocolMapper;
import org.keycloak.protocol.oidc.mappers.AudienceResolveProtocolMapper;
import org.keycloak.rar.AuthorizationRequestContext;
import org.keycloak.services.util.DefaultClientSessionContext;

/**
 * The claims a token carrying {@code act} may hold (DESIGN section 3 rule 5, "Claims too"): those of the client scopes in
 * its granted scope set, plus the protocol claims, whichever client (host or agent) has which scopes as default or
 * optional. Keycloak decides a token's claims by the protocol mappers of a {@link ClientSessionContext}: the client's
 * default scopes, the optional scopes the request named, and the client itself (its own mappers). This context keeps of
 * another one only
 * <ul>
 * <li>the client scopes named in the granted scope set, and Keycloak's protocol scopes {@link #PROTOCOL_SCOPES}
 * ({@code basic}: {@code sub}, {@code auth_time}; {@code acr}; {@code roles}: the roles and audience a delegated token is
 * then narrowed to);</li>
 * <li>of the client's own mappers, those that set only {@code aud} (audience and audience-resolve mappers), which the
 * delegation then narrows to the agent's allowed audiences.</li>
 * </ul>
 * Everything else (the client session, the request's attributes such as the nonce, whether an offline token was asked
 * for) is the wrapped context's. Used wherever Keycloak would otherwise build a delegated token's claims from the
 * client's scopes: the {@code requested_actor} code grant, the delegated refresh and {@code /userinfo}. (The delegated
 * exchange restricts its scopes through Keycloak's own {@code TokenExchangeContext.setRestrictedScopes}, to the same set.)
 */
public final class DelegatedClientSessionContext implements ClientSessionContext {

    /** Keycloak's client scopes whose mappers set protocol claims only (DESIGN section 3 rule 5). */
    public static final Set<String> PROTOCOL_SCOPES = Set.of("basic", "acr", "roles");

    /** Mapper types that set {@code aud} and nothing else: kept among a client's own mappers. */
    private static final Set<String> AUDIENCE_MAPPERS = Set.of(AudienceProtocolMapper.PROVIDER_ID, AudienceResolveProtocolMapper.PROVIDER_ID);

    private final ClientSessionContext original;
    private final ClientSessionContext restricted;
    private final Set<String> droppedOwnMappers;

    private DelegatedClientSessionContext(ClientSessionContext original, ClientSessionContext restricted, Set<String> droppedOwnMappers) {
        this.original = original;
        this.restricted = restricted;
        this.droppedOwnMappers = droppedOwnMappers;
    }

    /** The client scopes a delegated token with scope {@code grantedScope} may take claims from. */
    public static Set<String> allowedScopes(Collection<String> grantedScope) {
        Set<String> out = new LinkedHashSet<>(grantedScope);
        out.removeIf(ScopeNarrowing::isDelegationScope);
        out.addAll(PROTOCOL_SCOPES);
        return out;
    }

    /** {@code ctx} restricted to the claims of {@code grantedScope} (plus the protocol claims). */
    public static ClientSessionContext restrict(KeycloakSession session, ClientSessionContext ctx, Collection<String> grantedScope) {
        Set<String> allowed = allowedScopes(grantedScope);
        AuthenticatedClientSessionModel cs = ctx.getClientSession();
        ClientModel client = cs.getClient();
        Set<ClientScopeModel> kept = ctx.getClientScopesStream()
                .filter(s -> s instanceof ClientModel || allowed.contains(s.getName()))
                .collect(Collectors.toCollection(LinkedHashSet::new));
        Set<String> dropped = client.getProtocolMappersStream()
                .filter(m -> !AUDIENCE_MAPPERS.contains(m.getProtocolMapper()))
                .map(ProtocolMapperModel::getId)
                .collect(Collectors.toSet());
        return new DelegatedClientSessionContext(ctx, DefaultClientSessionContext.fromClientSessionAndClientScopes(cs, kept, null, session), dropped);
    }

    @Override
    public AuthenticatedClientSessionModel getClientSession() {
        return original.getClientSession();
    }

    @Override
    public Set<String> getClientScopeIds() {
        return restricted.getClientScopeIds();
    }

    @Override
    public Stream<ClientScopeModel> getClientScopesStream() {
        return restricted.getClientScopesStream();
    }

    /** As asked for by the request; the grants check it against the user's grant before a token is issued. */
    @Override
    public boolean isOfflineTokenRequested() {
        return original.isOfflineTokenRequested();
    }

    @Override
    public Stream<RoleModel> getRolesStream() {
        return restricted.getRolesStream();
    }

    @Override
    public Stream<ProtocolMapperModel> getProtocolMappersStream() {
        return restricted.getProtocolMappersStream().filter(m -> !droppedOwnMappers.contains(m.getId()));
    }

    @Override
    public String getScopeString() {
        return restricted.getScopeString();
    }

    @Override
    public String getScopeString(boolean ignoreIncludeInTokenScope) {
        return restricted.getScopeString(ignoreIncludeInTokenScope);
    }

    @Override
    public void setAttribute(String name, Object value) {
        original.setAttribute(name, value);
    }

    @Override
    public <T> T getAttribute(String attribute, Class<T> clazz) {
        return original.getAttribute(attribute, clazz);
    }

    @Override
    public AuthorizationRequestContext getAuthorizationRequestContext() {
        return restricted.getAuthorizationRequestContext();
    }
}
