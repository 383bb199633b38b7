package org.agentauth.keycloak.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.vault.Connector;
import org.agentauth.keycloak.vault.ConnectorProvider;
import org.agentauth.keycloak.vault.OAuth2ConnectorFactory;
import org.junit.jupiter.api.Test;
import org.keycloak.component.ComponentModel;

class ConnectorRepresentationTest {

    private static ConnectorRepresentation read(String json) {
        AdminJson.Parsed<ConnectorRepresentation> p = AdminJson.read(json, ConnectorRepresentation.class, "connector");
        assertTrue(p.ok(), p.errors().toString());
        return p.value();
    }

    private static final String FULL = """
            {"alias": "cal", "displayName": "Calendar", "authorizationUrl": "https://up.example.com/auth",
             "tokenUrl": "https://up.example.com/token", "clientId": "c1", "clientSecret": "s3cret",
             "clientAuthMethod": "client_secret_post", "scopes": ["openid", "calendar.read", "openid"],
             "extraAuthParams": {"access_type": "offline", "hd": "example.com & co"},
             "apiBaseUrl": "https://api.example.com/v1", "deliveryMode": "proxy_exchange", "preset": "oauth2",
             "timeoutMillis": 5000, "maxResponseBytes": 1048576}""";

    @Test
    void aNewConnectorIsARealmComponentOfTheOAuth2Factory() {
        ConnectorRepresentation.ToModel t = read(FULL).toModel("realm-1", null);
        assertTrue(t.ok(), t.errors().toString());
        ComponentModel m = t.model();
        assertEquals("cal", m.getName());
        assertEquals("realm-1", m.getParentId());
        assertEquals(ConnectorProvider.class.getName(), m.getProviderType());
        assertEquals(OAuth2ConnectorFactory.PROVIDER_ID, m.getProviderId());
        assertEquals("openid calendar.read", m.get(Connector.SCOPES), "space separated, once each");
        assertEquals("s3cret", m.get(Connector.CLIENT_SECRET));
        assertEquals("5000", m.get(Connector.TIMEOUT_MILLIS));

        Connector c = Connector.of(m);
        assertEquals(Map.of("access_type", "offline", "hd", "example.com & co"), c.extraAuthParams(), "form-encoded and back");
        assertEquals(List.of("access_type", "hd"), List.copyOf(c.extraAuthParams().keySet()));
        assertEquals(Connector.DELIVERY_PROXY_EXCHANGE, c.deliveryMode());
        assertEquals(1048576L, c.maxResponseBytes());
    }

    @Test
    void theSecretIsNeverInARepresentation() throws Exception {
        ComponentModel m = read(FULL).toModel("r", null).model();
        ConnectorRepresentation rep = ConnectorRepresentation.of(Connector.of(m));
        assertNull(rep.clientSecret());
        assertTrue(rep.clientSecretSet());
        String json = new ObjectMapper().writeValueAsString(rep);
        assertFalse(json.contains("s3cret"), json);
        assertFalse(json.contains("\"clientSecret\""), json);
        assertTrue(json.contains("\"clientSecretSet\":true"), json);
        assertFalse(json.contains("connectionsExpired"), "only in the answer to an update that changed a host");
        assertTrue(new ObjectMapper().writeValueAsString(rep.withOriginsChanged(java.util.List.of("tokenUrl"))).contains("\"connectionsExpired\":true,\"originsChanged\":[\"tokenUrl\"]"));

        m.getConfig().remove(Connector.CLIENT_SECRET);
        assertFalse(ConnectorRepresentation.of(Connector.of(m)).clientSecretSet());
    }

    @Test
    void anUpdateWithoutSecretKeepsTheStoredOneAndAnEmptyOneRemovesIt() {
        ComponentModel stored = read(FULL).toModel("r", null).model();
        stored.setId("id-1");
        stored.getConfig().putSingle("somethingElse", "kept");

        ComponentModel kept = read("{\"tokenUrl\": \"https://up.example.com/token2\", \"authorizationUrl\": \"https://up.example.com/auth\","
                + " \"clientId\": \"c2\"}").toModel("r", stored).model();
        assertEquals("s3cret", kept.get(Connector.CLIENT_SECRET));
        assertEquals("id-1", kept.getId());
        assertEquals("cal", kept.getName());
        assertEquals("c2", kept.get(Connector.CLIENT_ID));
        assertNull(kept.get(Connector.SCOPES), "a missing field clears the stored value");
        assertNull(kept.get(Connector.DISPLAY_NAME));
        assertEquals("kept", kept.get("somethingElse"), "keys this API does not know are kept");
        assertEquals("s3cret", stored.get(Connector.CLIENT_SECRET), "the stored model is not changed");
        assertEquals("Calendar", stored.get(Connector.DISPLAY_NAME));

        assertEquals("s3cret", read("{\"clientSecret\": null}").toModel("r", stored).model().get(Connector.CLIENT_SECRET));
        assertNull(read("{\"clientSecret\": \"\"}").toModel("r", stored).model().get(Connector.CLIENT_SECRET));
        assertEquals("${vault.cal_secret}", read("{\"clientSecret\": \"${vault.cal_secret}\"}").toModel("r", stored).model()
                .get(Connector.CLIENT_SECRET), "a vault reference is stored as given");
    }

    @Test
    void aResponseCanBeSentBackAsItIs() throws Exception {
        ComponentModel stored = read(FULL).toModel("r", null).model();
        String answer = new ObjectMapper().writeValueAsString(ConnectorRepresentation.of(Connector.of(stored)).withOriginsChanged(java.util.List.of("tokenUrl")));
        ConnectorRepresentation.ToModel again = read(answer).toModel("r", stored);
        assertTrue(again.ok(), again.errors().toString());
        Map<String, List<String>> before = new LinkedHashMap<>(stored.getConfig());
        assertEquals(before, new LinkedHashMap<>(again.model().getConfig()));
    }

    @Test
    void whatTheValidatorCannotSeeIsRefusedHere() {
        ComponentModel stored = read(FULL).toModel("r", null).model();
        assertEquals("alias", read("{\"alias\": \"other\"}").toModel("r", stored).errors().get(0).field(), "the alias cannot change");
        assertTrue(read("{\"alias\": \"cal\"}").toModel("r", stored).ok());
        assertEquals("alias", read("{\"alias\": \"presets\"}").toModel("r", null).errors().get(0).field());
        assertEquals("scopes", read("{\"scopes\": [\"a b\"]}").toModel("r", null).errors().get(0).field());
        assertEquals("scopes", read("{\"scopes\": [\"\"]}").toModel("r", null).errors().get(0).field());
        assertEquals("scopes", read("{\"scopes\": [null]}").toModel("r", null).errors().get(0).field());
        assertEquals("extraAuthParams", read("{\"extraAuthParams\": {\"x\": null}}").toModel("r", null).errors().get(0).field());
        assertEquals("preset", read("{\"preset\": \"Not A Preset!\"}").toModel("r", null).errors().get(0).field());
    }

    @Test
    void unknownFieldsAndWrongTypesAreRefusedByTheStrictReader() {
        assertEquals("clientSecretRef", AdminJson.read("{\"clientSecretRef\": \"x\"}", ConnectorRepresentation.class, "connector")
                .errors().get(0).field());
        assertEquals("timeoutMillis", AdminJson.read("{\"timeoutMillis\": \"100\"}", ConnectorRepresentation.class, "connector")
                .errors().get(0).field());
        assertEquals("scopes", AdminJson.read("{\"scopes\": \"openid\"}", ConnectorRepresentation.class, "connector")
                .errors().get(0).field());
    }
}
