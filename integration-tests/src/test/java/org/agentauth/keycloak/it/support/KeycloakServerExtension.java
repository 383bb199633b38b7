package org.agentauth.keycloak.it.support;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Boots one {@link KeycloakServer} for the whole test run (kept in the root store, closed when the run ends) and
 * injects it into test constructors and methods.
 */
public class KeycloakServerExtension implements BeforeAllCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(KeycloakServerExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        server(context);
    }

    static KeycloakServer server(ExtensionContext context) {
        return context.getRoot().getStore(NS).getOrComputeIfAbsent("server", key -> {
            KeycloakServer s = KeycloakServer.fromSystemProperties();
            try {
                s.start();
            } catch (Exception e) {
                s.close();
                throw new IllegalStateException("Could not start Keycloak: " + e.getMessage(), e);
            }
            return new Holder(s);
        }, Holder.class).server;
    }

    @Override
    public boolean supportsParameter(ParameterContext pc, ExtensionContext ec) {
        return pc.getParameter().getType() == KeycloakServer.class;
    }

    @Override
    public Object resolveParameter(ParameterContext pc, ExtensionContext ec) {
        return server(ec);
    }

    /** Root-store value that stops the server when the test run ends. */
    static final class Holder implements AutoCloseable {
        final KeycloakServer server;

        Holder(KeycloakServer server) {
            this.server = server;
        }

        @Override
        public void close() {
            server.close();
        }
    }
}
