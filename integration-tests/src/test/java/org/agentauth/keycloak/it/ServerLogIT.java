package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Runs last: after everything the other tests did, the server log has no ERROR line. */
@Order(Integer.MAX_VALUE)
@ExtendWith(KeycloakServerExtension.class)
class ServerLogIT {

    @Test
    void serverLogHasNoErrors(KeycloakServer server) {
        List<String> errors = server.logText().lines().filter(l -> l.contains(" ERROR ")).toList();
        assertTrue(errors.isEmpty(), "ERROR lines in " + server.logFile() + ":\n" + String.join("\n", errors));
        assertTrue(server.logText().contains("agent-auth") || server.logText().contains("keycloak-agent-auth"),
                "the server log mentions the installed provider");
    }
}
