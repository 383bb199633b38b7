package org.agentauth.keycloak.cimd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class CimdDocumentTest {

    static final String URL = "https://app.example.com/client.json";

    static CimdDocument parse(String json) throws CimdDocument.Refused {
        return CimdDocument.parse(URL, json.getBytes(StandardCharsets.UTF_8));
    }

    static String refusal(String json) {
        return assertThrows(CimdDocument.Refused.class, () -> parse(json), json).getMessage();
    }

    @Test
    void minimalAndTolerantOfUnknownMembers() throws Exception {
        CimdDocument d = parse("""
                {"client_id":"%s","client_name":" Example App ","redirect_uris":["http://127.0.0.1:3000/cb","https://app.example.com/cb","https://app.example.com/cb"],
                 "logo_uri":"https://app.example.com/logo.png","client_uri":"https://app.example.com","x-vendor":{"a":[1,2]},
                 "grant_types":["authorization_code","refresh_token","client_credentials","urn:ietf:params:oauth:grant-type:device_code"],
                 "response_types":["code"],"token_endpoint_auth_method":"none","scope":"openid"}
                """.formatted(URL));
        assertEquals(URL, d.clientId());
        assertEquals("Example App", d.clientName());
        assertEquals(List.of("http://127.0.0.1:3000/cb", "https://app.example.com/cb"), d.redirectUris());
    }

    @Test
    void refusals() {
        String ok = "\"client_name\":\"A\",\"redirect_uris\":[\"https://app.example.com/cb\"]";
        assertTrue(refusal("{\"client_id\":\"https://app.example.com/other.json\"," + ok + "}").contains("client_id must equal"));
        assertTrue(refusal("{\"client_id\":\"https://app.example.com/client.json/\"," + ok + "}").contains("client_id must equal"));
        assertTrue(refusal("{" + ok + "}").contains("client_id"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\",\"redirect_uris\":[\"https://app.example.com/cb\"]}").contains("client_name"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\",\"client_name\":\"A\"}").contains("redirect_uris"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\",\"client_name\":\"A\",\"redirect_uris\":[]}").contains("redirect_uris"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\",\"client_name\":\"A\",\"redirect_uris\":\"https://app.example.com/cb\"}").contains("redirect_uris"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\",\"client_name\":\"A\",\"redirect_uris\":[\"https://app.example.com/cb/*\"]}").contains("wildcard"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\",\"client_name\":\"A\",\"redirect_uris\":[\"http://evil.example/cb\"]}").contains("loopback"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\"," + ok + ",\"client_secret\":\"s3cr3t\"}").contains("secret"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\"," + ok + ",\"token_endpoint_auth_method\":\"client_secret_basic\"}").contains("none"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\"," + ok + ",\"token_endpoint_auth_method\":\"private_key_jwt\"}")
                .contains("requires exactly one of jwks and jwks_uri"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\"," + ok + ",\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks_uri\":\"https://x.example/j\","
                + "\"jwks\":" + CimdKeysTest.rsaSet() + "}").contains("exactly one"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\"," + ok + ",\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks_uri\":\"http://x.example/j\"}")
                .contains("jwks_uri must be an https URL"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\"," + ok + ",\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks_uri\":7}")
                .contains("jwks_uri must be a string"));
        // a private key is refused even where the document would be a public client
        assertTrue(refusal("{\"client_id\":\"" + URL + "\"," + ok + ",\"jwks\":" + CimdKeysTest.rsaSet().replace("\"kty\"", "\"d\":\"AAAA\",\"kty\"") + "}")
                .contains("private key members"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\"," + ok + ",\"grant_types\":[\"client_credentials\"]}").contains("authorization_code"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\",\"client_name\":\"A\u202eB\",\"redirect_uris\":[\"https://app.example.com/cb\"]}").contains("control"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\",\"client_id\":\"" + URL + "\"," + ok + "}").contains("JSON"));
        assertTrue(refusal("{\"client_id\":\"" + URL + "\"," + ok + "} {}").contains("nothing after"));
        assertTrue(refusal("[]").contains("object"));
        assertTrue(refusal("").contains("object") || refusal("").contains("JSON"));
        assertTrue(refusal("<html>").contains("JSON"));
    }

    @Test
    void privateKeyJwtWithJwksOrJwksUri() throws Exception {
        String ok = "\"client_name\":\"A\",\"redirect_uris\":[\"https://app.example.com/cb\"]";
        CimdDocument inline = parse("{\"client_id\":\"" + URL + "\"," + ok + ",\"token_endpoint_auth_method\":\"private_key_jwt\",\"jwks\":"
                + CimdKeysTest.rsaSet() + "}");
        assertTrue(inline.privateKeyJwt());
        assertTrue(inline.jwks().contains("\"kty\":\"RSA\""));
        assertEquals(null, inline.jwksUri());
        CimdDocument byUri = parse("{\"client_id\":\"" + URL + "\"," + ok + ",\"token_endpoint_auth_method\":\"private_key_jwt\","
                + "\"jwks_uri\":\"https://app.example.com/jwks.json\"}");
        assertTrue(byUri.privateKeyJwt());
        assertEquals("https://app.example.com/jwks.json", byUri.jwksUri());
        assertEquals(null, byUri.jwks());
        // keys of a public client are not used
        CimdDocument open = parse("{\"client_id\":\"" + URL + "\"," + ok + ",\"token_endpoint_auth_method\":\"none\",\"jwks\":" + CimdKeysTest.rsaSet() + "}");
        assertFalse(open.privateKeyJwt());
        assertEquals(null, open.jwks());
    }

    @Test
    void secretNeverInTheMessage() {
        String m = refusal("{\"client_id\":\"" + URL + "\",\"client_name\":\"A\",\"redirect_uris\":[\"https://app.example.com/cb\"],\"client_secret\":\"TOPSECRET\"}");
        assertTrue(!m.contains("TOPSECRET"), m);
    }
}
