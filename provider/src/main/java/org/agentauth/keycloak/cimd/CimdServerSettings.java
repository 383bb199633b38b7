package org.agentauth.keycloak.cimd;

import org.keycloak.provider.Provider;

/**
 * Server-level CIMD settings ({@link CimdSpi}): the hosts whose documents may be fetched although they are not public
 * (tests, development) and the fetch rate bound. {@code session.getProvider(CimdServerSettings.class)}.
 */
public interface CimdServerSettings extends Provider {

    /** True when the host (lower case, without port) is on the server's allow-list. */
    boolean hostAllowListed(String host);

    /** The fetch-rate bound per realm and host, shared by the node. */
    CimdRateBound rateBound();

    @Override
    default void close() {
    }
}
