package org.agentauth.keycloak.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.agentauth.keycloak.FuzzRuns;
import org.agentauth.keycloak.resource.ResourceIndicators;

/**
 * Resource URIs (RFC 8707) and connector resource URIs: normalisation fails only with the documented
 * IllegalArgumentException, is idempotent and bounded; a connector alias is only ever read back from a URI of this
 * issuer and is a valid alias; the list helpers never fail.
 */
class ResourceUriFuzzTest {

    private static final String ISSUER = "http://localhost:8080/realms/agents-demo";

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void normalizeIsIdempotentAndOnlyRefuses(FuzzedDataProvider data) {
        String value = data.consumeRemainingAsString();
        String n;
        try {
            n = ResourceServers.normalize(value);
        } catch (IllegalArgumentException e) {
            assertNotNull(e.getMessage());
            return;
        }
        assertTrue(n.length() <= value.length(), n);
        assertEquals(n, ResourceServers.normalize(n));
        ResourceIndicators.splitList(value);
        ResourceIndicators.strings(value);
    }

    @FuzzTest(maxExecutions = FuzzRuns.LONG)
    void connectorAliasComesOnlyFromThisIssuer(FuzzedDataProvider data) {
        String alias = data.consumeString(80);
        String value = data.consumeRemainingAsString();
        String read = ConnectorResources.aliasOf(ISSUER, value);
        if (read != null) {
            assertTrue(read.matches(ConnectorResources.ALIAS_PATTERN), read);
            assertTrue(ResourceServers.normalize(value).startsWith(ISSUER + "/agent-auth/connectors/"), value);
            assertTrue(ConnectorResources.connectorShaped(ResourceServers.normalize(value)));
        }
        if (alias.matches(ConnectorResources.ALIAS_PATTERN)) {
            assertEquals(alias, ConnectorResources.aliasOf(ISSUER, ConnectorResources.uri(ISSUER, alias)));
            assertEquals(null, ConnectorResources.aliasOf("http://localhost:8080/realms/other", ConnectorResources.uri(ISSUER, alias)));
        }
    }
}
