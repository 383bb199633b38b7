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
 * started with key {@code k1}): connections made under k1; restart with k2 active and k1 kept, the rows meanwhile put
 * back into the ciphertext form of before issue 21 (associated data without the connector): every connection reads back,
 * re-encryption moves every row to k2 and the current form; restart with k2 alone and one row in the older form under
 * k2 itself: it reads back and re-encryption moves it too; restart with an unrelated key: the vault refuses (never a
 * 500, never garbage), and comes back with k2.
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
        Map<String, String> written = rows();
        assertTrue(written.keySet().containsAll(connections.keySet()));
        written.values().forEach(k -> assertTrue(k.startsWith("k1|v2."), "written under k1 in the current form (connector bound): " + k.substring(0, 12)));

        // step 1: k2 becomes active, k1 stays for reading; meanwhile the rows are put back into the form written before
        // the connector and subject were bound (associated data realm + user + connection), as an older version left them
        server.restart(List.of(KEYS, ACTIVE), List.of(KEYS + K2 + "," + K1, ACTIVE + "k2"), () -> toOlderForm(K1, connections.keySet()));
        Map<String, String> before = rows();
        before.values().forEach(k -> assertTrue(k.startsWith("k1|") && !k.startsWith("k1|v2."), "the older form under k1: " + k.substring(0, 12)));
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
            assertTrue(after.get(id).startsWith("k2|v2."), "rewritten under k2 in the current form: " + id);
            assertNotEquals(before.get(id), after.get(id));
        }
        // step 3: k1 dropped; one row is put back into the older form, under the active key k2 itself: re-encryption
        // moves it to the current form although its key is the active one
        String older = connections.keySet().iterator().next();
        server.restart(List.of(KEYS, ACTIVE), List.of(KEYS + K2), () -> toOlderForm(K2, java.util.Set.of(older)));
        assertEquals(1, status().get("connectionsNotUnderActiveKey").asLong(), "an older-form row under the active key still counts");
        assertAllRead(connections);
        re = new Http().postJson(vaultUrl() + "/reencrypt", admin(), Map.of());
        assertEquals(200, re.status(), re.body());
        assertEquals(0, re.json().get("connectionsNotUnderActiveKey").asLong(), re.body());
        after = rows();
        after.values().forEach(k -> assertTrue(k.startsWith("k2|v2."), "every row under k2 in the current form: " + k.substring(0, 12)));
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

    /**
     * Rewrites the rows' ciphertext (current form, under {@code keySpec}) into the form written before the connector
     * and subject were bound: same key, same tokens, associated data realm + user + connection, no {@code v2.} prefix.
     * The test knows the key, as an older version of the extension did; the server is stopped meanwhile.
     */
    private void toOlderForm(String keySpec, java.util.Set<String> ids) {
        try {
            javax.crypto.spec.SecretKeySpec key = new javax.crypto.spec.SecretKeySpec(
                    java.util.Base64.getDecoder().decode(keySpec.substring(keySpec.indexOf(':') + 1)), "AES");
            for (String id : ids) {
                Map<String, String> r = db.queryWhileStopped("SELECT REALM_ID, USER_ID, CONNECTOR_ID, SUBJECT, TOKENS FROM AGENT_AUTH_CONNECTION"
                        + " WHERE ID = '" + id + "'").get(0);
                byte[] all = java.util.Base64.getDecoder().decode(r.get("TOKENS").substring("v2.".length()));
                javax.crypto.Cipher c = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
                c.init(javax.crypto.Cipher.DECRYPT_MODE, key, new javax.crypto.spec.GCMParameterSpec(128, all, 1, 12));
                c.updateAAD(("agent-auth/connection/v2\0" + r.get("REALM_ID") + "\0" + r.get("USER_ID") + "\0" + id + "\0"
                        + r.get("CONNECTOR_ID") + "\0" + r.get("SUBJECT")).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                byte[] plain = c.doFinal(all, 13, all.length - 13);
                byte[] nonce = new byte[12];
                new java.security.SecureRandom().nextBytes(nonce);
                c.init(javax.crypto.Cipher.ENCRYPT_MODE, key, new javax.crypto.spec.GCMParameterSpec(128, nonce));
                c.updateAAD(("agent-auth/connection/v1\0" + r.get("REALM_ID") + "\0" + r.get("USER_ID") + "\0" + id)
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8));
                byte[] ct = c.doFinal(plain);
                byte[] older = new byte[1 + 12 + ct.length];
                older[0] = 1;
                System.arraycopy(nonce, 0, older, 1, 12);
                System.arraycopy(ct, 0, older, 13, ct.length);
                assertEquals(1, db.updateWhileStopped("UPDATE AGENT_AUTH_CONNECTION SET TOKENS = '"
                        + java.util.Base64.getEncoder().encodeToString(older) + "' WHERE ID = '" + id + "'"));
            }
        } catch (java.security.GeneralSecurityException e) {
            throw new AssertionError("the row is not in the current form under " + keySpec.substring(0, keySpec.indexOf(':')), e);
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
