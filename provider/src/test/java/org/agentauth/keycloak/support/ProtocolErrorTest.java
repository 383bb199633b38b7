package org.agentauth.keycloak.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import jakarta.ws.rs.core.Response;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProtocolErrorTest {

    @Test
    void bodyCarriesErrorDescriptionAndExtraMembers() {
        ProtocolError e = ProtocolError.invalidRequest("no usable connection").as("connection_required")
                .with("connect_uri", "https://kc.example/realms/r/agent-auth/connectors/c/connect");
        Map<String, Object> body = e.body();
        assertEquals("connection_required", body.get("error"));
        assertEquals("no usable connection", body.get("error_description"));
        assertEquals("https://kc.example/realms/r/agent-auth/connectors/c/connect", body.get("connect_uri"));
        assertEquals(Response.Status.BAD_REQUEST, e.status());
        assertEquals("invalid_request", ProtocolError.invalidRequest("x").error(), "with() and as() leave the original alone");
    }

    @Test
    void invalidClientIsUnauthorizedEverythingElseBadRequest() {
        assertEquals(Response.Status.UNAUTHORIZED, new ProtocolError("invalid_client", "x", "invalid_client").status());
        assertEquals(Response.Status.BAD_REQUEST, ProtocolError.invalidTarget("x").status());
        assertFalse(ProtocolError.invalidScope("x").body().containsKey("connect_uri"));
    }
}
