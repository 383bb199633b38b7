package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.Browser;
import org.agentauth.keycloak.it.support.DbRows;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Key rotation without data loss (issue 13), on a server of its own (failsafe execution {@code vault-key-rotation},
 * started with key {@code k1}): connections made under k1; restart with k2 active and k1 kept: every connection reads
 * back, re-encryption moves every row to k2; restart with k2 alone: every connection still reads back; restart with an
 * unrelated key: the vault refuses (never a 500, never garbage), and comes back with k2.
 */
@Order(37)
@ExtendWith(KeycloakServerExtension.class)
class VaultKeyRotationIT {

    static final String KEYS = "--spi-agent-auth-vault--default--keys=";
    static final String ACTIVE = "--spi-agent-auth-vault--default--active-key=";
    static final String K1 = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    static final String K2 = "k2:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    static final String K3 = "k3:AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";

    private final KeycloakServer server;
    private final Vault vault;
    private final DemoUsers users;
    private final DbRows db;

    VaultKeyRotationIT(KeycloakServer server) {
        this.server = server;
        this.vault = new Vault(server);
        this.users = new DemoUsers(server);
        this.db = new DbRows(server);
    }

    @Test
    void rotationKeepsEveryConnectionReadable() throws Exception {
        JsonNode status = status();
        assertEquals("CONFIGURED", status.get("keySource").asText(), "run through the vault-key-rotation execution: " + status);
        assertEquals("k1", status.get("activeKeyId").asText());

        Map<String, String> connections = new HashMap<>(); // id -> account
        try (Browser b = new Browser()) {
            connections.put(Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), "alice", "alice-work", null)), "alice-work");
        }
        try (Browser b = new Browser()) {
            connections.put(Vault.connectionId(vault.connect(b, vault.connectUrl(Oidc.DEMO, Vault.CONNECTOR, "prompt=login"), "alice", "alice-personal", null)), "alice-personal");
        }
        Map<String, String> before = rows();
        assertTrue(before.keySet().containsAll(connections.keySet()));
        before.values().forEach(k -> assertTrue(k.startsWith("k1|"), "written under k1: " + k));

        // step 1: k2 becomes active, k1 stays for reading
        server.restart(List.of(KEYS, ACTIVE), List.of(KEYS + K2 + "," + K1, ACTIVE + "k2"));
        status = status();
        assertEquals("k2", status.get("activeKeyId").asText());
        assertTrue(status.get("connectionsNotUnderActiveKey").asLong() >= connections.size(), status.toString());
        assertAllRead(connections);
        // step 2: every row rewritten under k2
        Http.Response re = new Http().postJson(vaultUrl() + "/reencrypt", admin(), Map.of());
        assertEquals(200, re.status(), re.body());
        assertEquals(0, re.json().get("connectionsNotUnderActiveKey").asLong(), re.body());
        Map<String, String> after = rows();
        for (String id : before.keySet()) {
            assertTrue(after.get(id).startsWith("k2|"), "rewritten under k2: " + id);
            assertNotEquals(before.get(id), after.get(id));
        }
        // step 3: k1 dropped
        server.restart(List.of(KEYS, ACTIVE), List.of(KEYS + K2));
        assertEquals(0, status().get("connectionsNotUnderActiveKey").asLong());
        assertAllRead(connections);

        // a server with none of the row's keys refuses, and says why; nothing is changed or lost
        server.restart(List.of(KEYS, ACTIVE), List.of(KEYS + K3));
        String alice = users.accessToken("alice");
        for (String id : connections.keySet()) {
            Http.Response check = vault.check(Oidc.DEMO, alice, id);
            assertEquals(200, check.status(), check.body());
            assertFalse(check.json().get("ok").asBoolean(), check.body());
            assertEquals("vault_locked", check.json().get("problem").asText(), check.body());
        }
        assertEquals(after.keySet(), rows().keySet(), "nothing deleted");
        server.restart(List.of(KEYS, ACTIVE), List.of(KEYS + K2));
        assertAllRead(connections);
    }

    private void assertAllRead(Map<String, String> connections) {
        String alice = users.accessToken("alice");
        for (Map.Entry<String, String> c : connections.entrySet()) {
            Http.Response check = vault.check(Oidc.DEMO, alice, c.getKey());
            assertEquals(200, check.status(), check.body());
            assertTrue(check.json().get("ok").asBoolean(), check.body());
            assertEquals(c.getValue(), check.json().get("account").asText());
        }
    }

    /** id -> "keyId|ciphertext" of every connection row. */
    private Map<String, String> rows() {
        Map<String, String> out = new HashMap<>();
        for (Map<String, String> r : db.query("SELECT ID, KEY_ID, TOKENS FROM AGENT_AUTH_CONNECTION")) {
            out.put(r.get("ID"), r.get("KEY_ID") + "|" + r.get("TOKENS"));
        }
        return out;
    }

    private JsonNode status() {
        Http.Response r = new Http().get(vaultUrl(), admin());
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    private String vaultUrl() {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/agent-auth/vault";
    }

    private String admin() {
        return vault.oidc().adminToken();
    }
}
