package org.agentauth.keycloak.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.agentauth.keycloak.agent.AgentPolicy;
import org.junit.jupiter.api.Test;

class AgentPolicyValidatorTest {

    private static final AgentPolicyValidator.Realm REALM = new AgentPolicyValidator.Realm() {
        @Override
        public boolean clientExists(String clientId) {
            return Set.of("agent-a", "agent-b", "host-app").contains(clientId);
        }

        @Override
        public Set<String> clientScopeNames() {
            return Set.of("profile", "email", "calendar.read");
        }
    };

    private static AgentPolicyRepresentation policy(Boolean agent, List<String> scopes, List<String> hosts, List<String> audiences,
            List<String> connectors, List<String> downstream, Integer depth, Long lifetime) {
        return new AgentPolicyRepresentation(agent, scopes, hosts, audiences, connectors, downstream, depth, lifetime, true, null, null, null);
    }

    @Test
    void validPolicyBecomesEveryAttribute() {
        AgentPolicyValidator.Result r = AgentPolicyValidator.validate(policy(true, List.of("openid", " calendar.read ", "openid"),
                List.of("host-app"), List.of("host-app", "https://mcp.example.com/mcp", "urn:example:api"), List.of("demo-calendar"),
                List.of("agent-b"), 4, 0L), "agent-a", true, REALM);
        assertTrue(r.ok(), r.errors().toString());
        Map<String, String> a = r.attributes();
        assertEquals("true", a.get(AgentPolicy.ATTR_AGENT));
        assertEquals("openid calendar.read", a.get(AgentPolicy.ATTR_ALLOWED_SCOPES));
        assertEquals("host-app https://mcp.example.com/mcp urn:example:api", a.get(AgentPolicy.ATTR_ALLOWED_AUDIENCES));
        assertEquals("agent-b", a.get(AgentPolicy.ATTR_DOWNSTREAM_AGENTS));
        assertEquals("4", a.get(AgentPolicy.ATTR_MAX_DEPTH));
        assertEquals("0", a.get(AgentPolicy.ATTR_GRANT_LIFETIME));
        assertEquals("true", a.get(AgentPolicy.ATTR_REFRESH_ALLOWED));
        assertEquals("false", a.get(AgentPolicy.ATTR_PREAUTHORIZED));
        assertEquals(12, a.size(), "ten policy attributes and the two resource-server attributes");
    }

    @Test
    void missingFieldsTakeDefaults() {
        AgentPolicyValidator.Result r = AgentPolicyValidator.validate(
                new AgentPolicyRepresentation(null, null, null, null, null, null, null, null, null, null, null, null), "agent-a", false, REALM);
        assertTrue(r.ok(), r.errors().toString());
        assertEquals("false", r.attributes().get(AgentPolicy.ATTR_AGENT));
        assertEquals("", r.attributes().get(AgentPolicy.ATTR_ALLOWED_HOSTS));
        assertEquals(Integer.toString(AgentPolicy.DEFAULT_MAX_DEPTH), r.attributes().get(AgentPolicy.ATTR_MAX_DEPTH));
        assertEquals(Long.toString(AgentPolicy.DEFAULT_GRANT_LIFETIME_SECONDS), r.attributes().get(AgentPolicy.ATTR_GRANT_LIFETIME));
    }

    @Test
    void everyBadValueIsReportedWithItsField() {
        AgentPolicyValidator.Result r = AgentPolicyValidator.validate(policy(true, List.of("nope"), List.of("ghost"),
                List.of("not a uri", "https://x.example/#frag"), List.of("bad alias!"), List.of("agent-a", "ghost"), 11, -1L),
                "agent-a", false, REALM);
        assertFalse(r.ok());
        List<String> fields = r.errors().stream().map(AgentPolicyValidator.FieldError::field).toList();
        assertEquals(List.of("agent", "allowedScopes", "allowedHosts", "allowedAudiences", "allowedAudiences", "allowedConnectors",
                "downstreamAgents", "downstreamAgents", "maxDepth", "grantLifetime"), fields);
        assertTrue(r.errors().get(0).message().contains("confidential client with service accounts"), r.errors().get(0).message());
        assertTrue(r.attributes().isEmpty());
    }

    @Test
    void nullOrEmptyEntriesAreErrorsNeverSkipped() {
        AgentPolicyValidator.Result r = AgentPolicyValidator.validate(policy(true, java.util.Arrays.asList("openid", null),
                List.of(""), List.of("  "), java.util.Arrays.asList((String) null), List.of("agent-b", ""), 3, 0L), "agent-a", true, REALM);
        assertFalse(r.ok());
        assertEquals(List.of("allowedScopes", "allowedHosts", "allowedAudiences", "allowedConnectors", "downstreamAgents"),
                r.errors().stream().map(AgentPolicyValidator.FieldError::field).toList());
        assertEquals("Entry 2 of 'allowedScopes' is null: every entry must be a non-empty string", r.errors().get(0).message());
        assertEquals("Entry 1 of 'allowedHosts' is empty: every entry must be a non-empty string", r.errors().get(1).message());
        assertTrue(r.attributes().isEmpty());

        List<AgentPolicyValidator.FieldError> errors = new java.util.ArrayList<>();
        assertEquals(Set.of(), AgentPolicyValidator.names(java.util.Arrays.asList((String) null), "scopes", errors));
        assertEquals(1, errors.size(), "the caller sees the error, not just an empty set");
        assertEquals(Set.of(), AgentPolicyValidator.names(null, "scopes", errors));
        assertEquals(1, errors.size(), "a missing list is no error");
    }

    @Test
    void boundsOfNumbers() {
        assertTrue(AgentPolicyValidator.validate(policy(false, null, null, null, null, null, 1, 0L), "x", false, REALM).ok());
        assertTrue(AgentPolicyValidator.validate(policy(false, null, null, null, null, null, 10, AgentPolicyValidator.MAX_GRANT_LIFETIME_SECONDS), "x", false, REALM).ok());
        assertFalse(AgentPolicyValidator.validate(policy(false, null, null, null, null, null, 0, 0L), "x", false, REALM).ok());
        assertFalse(AgentPolicyValidator.validate(policy(false, null, null, null, null, null, 3, Long.MAX_VALUE), "x", false, REALM).ok());
    }

    @Test
    void resourceUris() {
        assertTrue(AgentPolicyValidator.isResourceUri("https://mcp.example.com/mcp"));
        assertTrue(AgentPolicyValidator.isResourceUri("urn:example:resource"));
        assertFalse(AgentPolicyValidator.isResourceUri("mailto:a@example.com"));
        assertFalse(AgentPolicyValidator.isResourceUri("relative/path"));
        assertFalse(AgentPolicyValidator.isResourceUri("https://x.example/#f"));
    }

    @Test
    void resourceServerFieldsAreCheckedAndWritten() {
        AgentPolicyValidator.Realm realm = new AgentPolicyValidator.Realm() {
            @Override
            public boolean clientExists(String clientId) {
                return REALM.clientExists(clientId);
            }

            @Override
            public Set<String> clientScopeNames() {
                return REALM.clientScopeNames();
            }

            @Override
            public String resourceOwner(String normalizedUri) {
                return normalizedUri.equals("https://taken.example/mcp") ? "agent-b" : normalizedUri.equals("https://mine.example/mcp") ? "agent-a" : null;
            }
        };
        AgentPolicyRepresentation ok = new AgentPolicyRepresentation(false, null, null, null, null, null, null, null, null, null,
                List.of("https://MCP.example.com/mcp", "https://mine.example/mcp"), List.of("host-app"));
        AgentPolicyValidator.Result r = AgentPolicyValidator.validate(ok, "agent-a", false, realm);
        assertTrue(r.ok(), r.errors().toString());
        assertEquals("https://MCP.example.com/mcp https://mine.example/mcp", r.attributes().get("agent_auth.resource_uris"));
        assertEquals("host-app", r.attributes().get("agent_auth.resource_clients"));

        AgentPolicyRepresentation bad = new AgentPolicyRepresentation(false, null, null, null, null, null, null, null, null, null,
                List.of("https://taken.example/mcp", "relative/mcp", "https://x.example/#frag"), List.of("nobody"));
        AgentPolicyValidator.Result e = AgentPolicyValidator.validate(bad, "agent-a", false, realm);
        assertFalse(e.ok());
        assertEquals(List.of("resourceUris", "resourceUris", "resourceUris", "resourceClients"),
                e.errors().stream().map(AgentPolicyValidator.FieldError::field).toList(), e.errors().toString());
        assertTrue(e.errors().get(0).message().contains("agent-b"));
    }

    @Test
    void resourceClientsNameCimdHostsByCimdPrefix() {
        AgentPolicyRepresentation ok = new AgentPolicyRepresentation(false, null, null, null, null, null, null, null, null, null,
                List.of("https://mcp.example.com/mcp"), List.of("host-app", "CIMD:App.Example.COM", "cimd:*.B\u00fccher.example"));
        AgentPolicyValidator.Result r = AgentPolicyValidator.validate(ok, "agent-a", false, REALM);
        assertTrue(r.ok(), r.errors().toString());
        assertEquals("host-app cimd:app.example.com cimd:*.xn--bcher-kva.example", r.attributes().get("agent_auth.resource_clients"));
        for (String bad : List.of("cimd:", "cimd:https://app.example.com", "cimd:a..b", "cimd:*", "cimd:x.example/path")) {
            AgentPolicyValidator.Result e = AgentPolicyValidator.validate(new AgentPolicyRepresentation(false, null, null, null, null, null, null,
                    null, null, null, List.of("https://mcp.example.com/mcp"), List.of(bad)), "agent-a", false, REALM);
            assertFalse(e.ok(), bad);
            assertEquals("resourceClients", e.errors().get(0).field());
            assertTrue(e.errors().get(0).message().contains("cimd:<host>"), e.errors().toString());
        }
    }

    @Test
    void delegationScopesCannotBeAllowedScopes() {
        AgentPolicyValidator.Result r = AgentPolicyValidator.validate(policy(true, List.of("openid", "delegation:client:agent-b"),
                List.of(), List.of(), List.of(), List.of(), 3, 0L), "agent-a", true, REALM);
        assertFalse(r.ok());
        assertEquals("allowedScopes", r.errors().get(0).field());
        assertTrue(r.errors().get(0).message().contains("managed by Agent Auth"), r.errors().toString());
    }
}
