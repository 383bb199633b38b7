package org.agentauth.keycloak.delegation.exchange;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import org.agentauth.keycloak.support.ClientLookupHook;
import org.agentauth.keycloak.support.ProtocolError;
import org.keycloak.events.EventBuilder;
import org.keycloak.models.KeycloakSession;
import org.keycloak.protocol.oidc.endpoints.AuthorizationEndpoint;
import org.keycloak.services.ErrorPageException;

/**
 * Keycloak's authorization endpoint, with the {@link ClientLookupHook}s run first. They run here, in the resource
 * methods, and not in the sub-resource locator that creates this endpoint, because Keycloak parses a POSTed form only
 * for resource methods. A hook's refusal is an error page (HTTP 400), never a redirect to a client that does not exist
 * yet (RFC 6749 section 4.1.2.1).
 */
public class ClientLookupAuthorizationEndpoint extends AuthorizationEndpoint {

    public ClientLookupAuthorizationEndpoint(KeycloakSession session, EventBuilder event) {
        super(session, event);
    }

    @Override
    @GET
    public Response buildGet() {
        runHooks(session.getContext().getUri().getQueryParameters());
        return super.buildGet();
    }

    @Override
    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response buildPost() {
        runHooks(httpRequest.getDecodedFormParameters());
        return super.buildPost();
    }

    private void runHooks(MultivaluedMap<String, String> params) {
        try {
            ClientLookupHook.runAll(session, ClientLookupHook.Endpoint.AUTHORIZATION, params);
        } catch (ProtocolError e) {
            // the hook recorded its own event, with what it knows (host, fetch result)
            throw new ErrorPageException(session, e.status(), e.description());
        }
    }
}
