package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.LogWindows;
import org.agentauth.keycloak.it.support.Oidc;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs last: after everything the other tests did (logins, consents, exchanges, refusals, garbage input), the
 * server log has no ERROR line, and neither the log nor the stored events contain anything shaped like a token.
 */
@Order(Integer.MAX_VALUE)
@ExtendWith(KeycloakServerExtension.class)
class ServerLogIT {

    /** A JWT (signed token): two base64url JSON segments. Every token this realm issues has this shape. */
    private static final Pattern JWT = Pattern.compile("eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}");

    /**
     * Keycloak's own ERROR lines for bad client input the tests send on purpose, logged before any extension code
     * runs: KC-SERVICES0093 "Invalid parameter value for: scope" is how 26.7 logs a malformed {@code resource}
     * (relative, or with a fragment) at the authorization endpoint, which it answers with invalid_request itself.
     */
    private static final List<String> KEYCLOAK_OWN_INPUT_ERRORS = List.of("KC-SERVICES0093: Invalid parameter value for: scope",
            // HostileInputIT: Keycloak's PAR endpoint logs a missing response_type at ERROR; RESTEasy Reactive's form parser
            // (before any resource method) fails with these on a form of an unknown charset and a broken multipart body
            "KC-SERVICES0092: Missing parameter: ",
            "Uncaught server error: java.nio.charset.IllegalCharsetNameException",
            "Uncaught server error: java.nio.charset.UnsupportedCharsetException",
            "Uncaught server error: java.io.IOException: Connection terminated parsing multipart request",
            "Uncaught server error: java.lang.IllegalArgumentException: Failed to decode URL ");

    @Test
    void serverLogHasNoErrors(KeycloakServer server) {
        List<String> all = server.logText().lines().toList();
        List<String> errors = java.util.stream.IntStream.range(0, all.size())
                .filter(i -> all.get(i).contains(" ERROR ") && !LogWindows.expected(i)).mapToObj(all::get)
                .filter(l -> KEYCLOAK_OWN_INPUT_ERRORS.stream().noneMatch(l::contains)).toList();
        for (LogWindows.Window w : LogWindows.closed()) {
            System.out.println("[log] not checked for ERROR lines: " + w + ", " + w.errorLines() + " ERROR line(s) there");
        }
        assertTrue(errors.isEmpty(), "ERROR lines in " + server.logFile() + ":\n" + String.join("\n", errors));
        assertTrue(server.logText().contains("agent-auth") || server.logText().contains("keycloak-agent-auth"),
                "the server log mentions the installed provider");
    }

    @Test
    void noTokenInTheServerLog(KeycloakServer server) {
        Matcher m = JWT.matcher(server.logText());
        assertTrue(!m.find(), "a token-shaped string in " + server.logFile() + " at offset " + (m.hitEnd() ? -1 : m.start()));
    }

    @Test
    void noTokenInStoredEvents(KeycloakServer server) {
        Oidc oidc = new Oidc(server);
        String admin = oidc.adminToken();
        Http http = new Http();
        for (String path : new String[] {"/events?max=5000", "/admin-events?max=5000"}) {
            Http.Response r = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + path, admin);
            assertEquals(200, r.status(), r.body());
            if (path.startsWith("/events")) {
                // user events are stored (every run logs users in); admin events only where a test changed something
                assertTrue(r.json().size() > 0, "events are stored in " + Oidc.DEMO + " (" + path + ")");
            }
            assertTrue(!JWT.matcher(r.body()).find(), "a token-shaped string in stored events " + path);
        }
    }
}
