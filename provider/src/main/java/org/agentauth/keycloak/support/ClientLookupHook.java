package org.agentauth.keycloak.support;

import jakarta.ws.rs.core.MultivaluedMap;
import org.keycloak.provider.Provider;

/**
 * Runs before Keycloak looks a client up by the request's {@code client_id} at the authorization endpoint and at PAR
 * (SPI {@link ClientLookupHookSpi}): the place where a client that is not registered yet can be made to exist (client
 * ID metadata documents, package {@code cimd}). The endpoints call every hook through {@link #runAll}; a hook that does
 * not apply to a request returns at once.
 */
public interface ClientLookupHook extends Provider {

    /** Where the request arrived. */
    enum Endpoint {
        AUTHORIZATION, PAR
    }

    /**
     * Called with the request's parameters (query or form) before the client lookup. Throws {@link ProtocolError} to
     * refuse the request: the authorization endpoint then shows an error page (never a redirect), PAR answers 400 JSON.
     */
    void beforeClientLookup(Endpoint endpoint, MultivaluedMap<String, String> params);

    @Override
    default void close() {
    }

    /** Runs every registered hook, in the order of their factories' ids. */
    static void runAll(org.keycloak.models.KeycloakSession session, Endpoint endpoint, MultivaluedMap<String, String> params) {
        for (ClientLookupHook hook : session.getAllProviders(ClientLookupHook.class)) {
            hook.beforeClientLookup(endpoint, params);
        }
    }
}
