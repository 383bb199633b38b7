package org.agentauth.keycloak.vault;

import org.agentauth.keycloak.vault.crypto.KeyRing;
import org.keycloak.provider.Provider;

/**
 * Server-level vault settings ({@link VaultSettingsSpi}): the encryption keys and the hosts connectors may reach
 * although they are not public. {@code session.getProvider(VaultSettings.class)}.
 */
public interface VaultSettings extends Provider {

    KeyRing keys();

    /** True when the host (lower-case, without port) is on the server's allow-list. */
    boolean hostAllowListed(String host);

    @Override
    default void close() {
    }
}
