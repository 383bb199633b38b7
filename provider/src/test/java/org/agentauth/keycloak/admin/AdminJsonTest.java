package org.agentauth.keycloak.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class AdminJsonTest {

    private static AdminJson.Parsed<AdminGrantsResource.CreateGrant> grant(String body) {
        return AdminJson.read(body, AdminGrantsResource.CreateGrant.class, "grant");
    }

    private static void refused(String body, String field, String message) {
        AdminJson.Parsed<AdminGrantsResource.CreateGrant> p = grant(body);
        assertFalse(p.ok(), body);
        assertNull(p.value(), body);
        assertEquals(1, p.errors().size(), body);
        assertEquals(field, p.errors().get(0).field(), body);
        assertTrue(p.errors().get(0).message().contains(message), body + " -> " + p.errors().get(0).message());
    }

    @Test
    void oneObjectIsRead() {
        AdminJson.Parsed<AdminGrantsResource.CreateGrant> p = grant(" {\"agent\":\"a\",\"host\":\"h\",\"scopes\":[\"openid\"]}\n ");
        assertTrue(p.ok(), p.errors().toString());
        assertEquals("a", p.value().agent());
        assertEquals(List.of("openid"), p.value().scopes());
        assertNull(p.value().connectors());
    }

    @Test
    void anythingAfterTheObjectIsRefused() {
        refused("{\"agent\":\"a\",\"host\":\"h\"} {\"x\":1}", null, "with nothing after it");
        refused("{\"agent\":\"a\",\"host\":\"h\"}garbage", null, "with nothing after it");
        refused("{\"agent\":\"a\",\"host\":\"h\"}]", null, "with nothing after it");
        refused("{\"agent\":\"a\",\"host\":\"h\"}{}", null, "with nothing after it");
        refused("{\"agent\":\"a\",\"host\":\"h\"} null", null, "with nothing after it");
    }

    @Test
    void malformedOrNonObjectBodiesAreRefused() {
        refused("", null, "A JSON grant is required");
        refused("   ", null, "A JSON grant is required");
        refused(null, null, "A JSON grant is required");
        refused("{", null, "not a valid JSON grant");
        refused("null", null, "must be a JSON object");
        refused("[]", null, "must be a JSON object");
        refused("\"agent\"", null, "must be a JSON object");
    }

    @Test
    void duplicateAndUnknownFieldsAreRefused() {
        refused("{\"agent\":\"a\",\"host\":\"h\",\"scopes\":[\"openid\"],\"scopes\":[]}", "scopes", "appears more than once");
        refused("{\"agent\":\"a\",\"host\":\"h\",\"scope\":[\"openid\"]}", "scope", "Unknown field 'scope'");
    }

    @Test
    void valuesAreNeverCoerced() {
        refused("{\"agent\":\"a\",\"host\":\"h\",\"scopes\":[1]}", "scopes", "entry 1 is not a string");
        refused("{\"agent\":\"a\",\"host\":\"h\",\"scopes\":[\"openid\",true]}", "scopes", "entry 2 is not a string");
        refused("{\"agent\":\"a\",\"host\":\"h\",\"scopes\":[{}]}", "scopes", "entry 1 is not a string");
        refused("{\"agent\":\"a\",\"host\":\"h\",\"scopes\":\"openid\"}", "scopes", "Invalid value for 'scopes'");
        refused("{\"agent\":7,\"host\":\"h\"}", "agent", "Invalid value for 'agent'");

        AdminJson.Parsed<AgentPolicyRepresentation> depth = AdminJson.read("{\"maxDepth\":3.5}", AgentPolicyRepresentation.class, "agent policy");
        assertEquals("maxDepth", depth.errors().get(0).field());
        assertEquals("maxDepth", AdminJson.read("{\"maxDepth\":\"3\"}", AgentPolicyRepresentation.class, "p").errors().get(0).field());
        assertEquals("agent", AdminJson.read("{\"agent\":\"true\"}", AgentPolicyRepresentation.class, "p").errors().get(0).field());
        assertEquals("agent", AdminJson.read("{\"agent\":1}", AgentPolicyRepresentation.class, "p").errors().get(0).field());
        assertFalse(AdminJson.read("{\"maxDepth\":99999999999}", AgentPolicyRepresentation.class, "p").ok());
        assertEquals(3, AdminJson.read("{\"maxDepth\":3,\"agent\":true}", AgentPolicyRepresentation.class, "p").value().maxDepth());
    }

    @Test
    void nullEntriesAreLeftToTheCallersValidation() {
        // JSON null is a value, not a type error: the validators refuse it with their own message
        AdminJson.Parsed<AdminGrantsResource.CreateGrant> p = grant("{\"agent\":\"a\",\"host\":\"h\",\"scopes\":[null]}");
        assertTrue(p.ok());
        assertEquals(1, p.value().scopes().size());
        assertNull(p.value().scopes().get(0));
    }
}
