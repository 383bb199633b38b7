package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code requested_actor} at the authorization and token endpoints (DESIGN sections 4.1, 4.3, 4.4, 4.5). */
@Order(20)
@ExtendWith(KeycloakServerExtension.class)
class RequestedActorIT {

    private final KeycloakServer server;
    private final Oidc oidc;
    private final AgentFlows flows;
    private final String issuer;

    RequestedActorIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.flows = new AgentFlows(server);
        this.issuer = server.realmUrl(Oidc.DEMO);
    }

    private void assertRefusedBeforeLogin(Http.Response r, String why) {
        assertEquals(302, r.status(), why + ": " + r);
        assertTrue(r.location().startsWith(DemoUsers.REDIRECT), why + ": " + r.location());
        Map<String, String> p = Oidc.params(r.location());
        assertEquals("invalid_request", p.get("error"), why + ": " + r.location());
        assertEquals("st-1", p.get("state"), why);
        assertEquals(issuer, p.get("iss"), why);
        assertFalse(p.containsKey("code"), why);
    }

    @Test
    void unknownDisabledNonAgentAndNotAllowedActorsAreRefusedBeforeLogin() {
        String admin = oidc.adminToken();
        flows.createClient(admin, Map.of("clientId", "disabled-agent", "enabled", false, "publicClient", false,
                "serviceAccountsEnabled", true, "secret", "disabled-agent-secret",
                "attributes", Map.of("agent_auth.agent", "true", "agent_auth.allowed_hosts", "agent-host",
                        "agent_auth.allowed_scopes", "openid profile")));
        for (String actor : List.of("no-such-agent", "disabled-agent", "plain-service", "agent-host", "")) {
            Pkce pkce = Pkce.create();
            Http.Response r = new Http().get(oidc.authUrl(Oidc.DEMO, flows.authParams(actor, pkce).list()));
            assertRefusedBeforeLogin(r, "'" + actor + "'");
        }
        // research-agent does not allow mcp-client as its host
        Pkce pkce = Pkce.create();
        Http.Response r = new Http().get(oidc.authUrl(Oidc.DEMO, Form.of("client_id", "mcp-client", "redirect_uri", DemoUsers.REDIRECT,
                "response_type", "code", "scope", "openid", "state", "st-1", "code_challenge", pkce.challenge(),
                "code_challenge_method", "S256", "requested_actor", "research-agent").list()));
        assertRefusedBeforeLogin(r, "host not allowed");
        assertTrue(flows.events(admin, "type=LOGIN_ERROR&client=mcp-client").contains("research-agent"));
    }

    @Test
    void theAuthorizationEndpointOnlyReadsRealmConfiguration() {
        // the consent step registered at start-up; an admin removes it: agent logins are refused before login, and the
        // GET puts nothing back (it used to re-register the required action during the request)
        String admin = oidc.adminToken();
        String actions = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/authentication/required-actions/";
        assertEquals(200, new Http().get(actions + "agent-auth-consent", admin).status());
        assertEquals(204, new Http().delete(actions + "agent-auth-consent", admin).status());
        try {
            Http.Response r = new Http().get(oidc.authUrl(Oidc.DEMO, flows.authParams("calendar-agent", Pkce.create()).list()));
            assertRefusedBeforeLogin(r, "no consent step");
            assertTrue(Oidc.params(r.location()).get("error_description").contains("agent-auth-consent"), r.location());
            Http.Response byScope = new Http().get(oidc.authUrl(Oidc.DEMO, Form.of("client_id", "mcp-client", "redirect_uri",
                    DemoUsers.REDIRECT, "response_type", "code", "scope", "openid delegation:client:calendar-agent", "state", "st-1",
                    "code_challenge", Pkce.create().challenge(), "code_challenge_method", "S256").list()));
            assertEquals("invalid_scope", Oidc.params(byScope.location()).get("error"), byScope.location());
            assertEquals(404, new Http().get(actions + "agent-auth-consent", admin).status(), "the GET wrote no realm configuration");
        } finally {
            Http.Response reg = new Http().postJson(server.baseUrl() + "/admin/realms/" + Oidc.DEMO
                    + "/authentication/register-required-action", oidc.adminToken(),
                    Map.of("providerId", "agent-auth-consent", "name", "Agent consent (Agent Auth)"));
            assertEquals(204, reg.status(), reg.toString());
        }
        // registered again: accepted
        Http.Response ok = new Http().get(oidc.authUrl(Oidc.DEMO, flows.authParams("calendar-agent", Pkce.create()).list()));
        assertEquals(200, ok.status(), ok.toString());
        assertTrue(ok.body().contains("kc-form-login"));
    }

    @Test
    void pkceS256AndResponseTypeCodeAreRequired() {
        String admin = oidc.adminToken();
        flows.createClient(admin, Map.of("clientId", "legacy-host", "publicClient", false, "secret", "legacy-host-secret",
                "standardFlowEnabled", true, "implicitFlowEnabled", true,
                "redirectUris", List.of("http://localhost/*")));
        flows.createClient(admin, Map.of("clientId", "lab-agent", "publicClient", false, "serviceAccountsEnabled", true,
                "secret", "lab-agent-secret", "attributes", Map.of("agent_auth.agent", "true",
                        "agent_auth.allowed_hosts", "legacy-host", "agent_auth.allowed_scopes", "openid profile")));
        Pkce pkce = Pkce.create();
        Form base = Form.of("client_id", "legacy-host", "redirect_uri", DemoUsers.REDIRECT, "scope", "openid",
                "state", "st-1", "nonce", "n", "requested_actor", "lab-agent");
        // no PKCE at all (the client itself does not enforce it)
        Form noPkce = Form.of().add("response_type", "code");
        noPkce.list().addAll(base.list());
        assertRefusedBeforeLogin(new Http().get(oidc.authUrl(Oidc.DEMO, noPkce.list())), "no PKCE");
        // plain PKCE
        Form plain = Form.of("response_type", "code", "code_challenge", pkce.verifier(), "code_challenge_method", "plain");
        plain.list().addAll(base.list());
        assertRefusedBeforeLogin(new Http().get(oidc.authUrl(Oidc.DEMO, plain.list())), "plain PKCE");
        // hybrid response type (returned in the fragment)
        Form hybrid = Form.of("response_type", "code id_token", "code_challenge", pkce.challenge(), "code_challenge_method", "S256");
        hybrid.list().addAll(base.list());
        Http.Response r = new Http().get(oidc.authUrl(Oidc.DEMO, hybrid.list()));
        assertEquals(302, r.status(), r.toString());
        assertEquals("invalid_request", Oidc.params(r.location()).get("error"), r.location());
        // S256 + code passes the check and shows the login page
        Form ok = Form.of("response_type", "code", "code_challenge", pkce.challenge(), "code_challenge_method", "S256");
        ok.list().addAll(base.list());
        Http.Response login = new Http().get(oidc.authUrl(Oidc.DEMO, ok.list()));
        assertEquals(200, login.status(), login.toString());
        assertTrue(login.body().contains("kc-form-login"));
    }

    @Test
    void delegatedCodeNeedsTheRequestedActorsTokenAndIsUsedUpByEveryAttempt() {
        String calendar = flows.agentToken("calendar-agent");
        String research = flows.agentToken("research-agent");
        String plain = flows.agentToken("plain-service");

        // missing actor_token
        Pkce pkce = Pkce.create();
        String code = flows.codeFor(new Http(), flows.authParams("calendar-agent", pkce), "alice");
        assertGrantError(flows.redeem(code, pkce), "invalid_grant");
        // ... and that attempt used the code up
        assertGrantError(flows.redeem(code, pkce, "actor_token", calendar), "invalid_grant");

        for (String bad : List.of("garbage", research, plain, calendar + "x")) {
            Pkce p = Pkce.create();
            String c = flows.codeFor(new Http(), flows.authParams("calendar-agent", p), "alice");
            assertGrantError(flows.redeem(c, p, "actor_token", bad), "invalid_grant");
        }
        // wrong actor_token_type
        Pkce p = Pkce.create();
        String c = flows.codeFor(new Http(), flows.authParams("calendar-agent", p), "alice");
        assertGrantError(flows.redeem(c, p, "actor_token", calendar, "actor_token_type", "urn:ietf:params:oauth:token-type:jwt"), "invalid_grant");

        // a user's token is not an actor token
        Pkce p2 = Pkce.create();
        String c2 = flows.codeFor(new Http(), flows.authParams("calendar-agent", p2), "alice");
        String userToken = new DemoUsers(server).accessToken("bob");
        assertGrantError(flows.redeem(c2, p2, "actor_token", userToken), "invalid_grant");

        String events = flows.events(oidc.adminToken(), "type=CODE_TO_TOKEN_ERROR&client=agent-host");
        assertTrue(events.contains("calendar-agent"), events);
        assertFalse(events.contains(calendar) || events.contains(userToken), "no tokens in events");
    }

    @Test
    void actorTokenOnANormalCodeIsInvalidRequest() {
        Pkce pkce = Pkce.create();
        String code = flows.codeFor(new Http(), flows.authParams(null, pkce), "bob");
        assertGrantError(flows.redeem(code, pkce, "actor_token", flows.agentToken("calendar-agent")), "invalid_request");
        Pkce p = Pkce.create();
        String c = flows.codeFor(new Http(), flows.authParams(null, p), "bob");
        assertGrantError(flows.redeem(c, p, "actor_token_type", "urn:ietf:params:oauth:token-type:access_token"), "invalid_request");
    }

    @Test
    void issuedTokenCarriesActAndIsNarrowedAndRefreshKeepsIt() {
        String admin = oidc.adminToken();
        String agentSub = Oidc.claims(flows.agentToken("calendar-agent")).get("sub").asText();
        Pkce pkce = Pkce.create();
        String code = flows.codeFor(new Http(), flows.authParams("calendar-agent", pkce, "prompt", "consent"), "alice");
        Http.Response t = flows.redeem(code, pkce, "actor_token", flows.agentToken("calendar-agent"),
                "actor_token_type", "urn:ietf:params:oauth:token-type:access_token");
        assertEquals(200, t.status(), t.body());
        JsonNode at = Oidc.claims(t.json().get("access_token").asText());
        assertAct(at, agentSub);
        assertEquals(new DemoUsers(server).userId(admin, "alice"), at.get("sub").asText());
        assertEquals("agent-host", at.get("azp").asText());
        assertNarrowed(at, List.of("openid", "profile", "email"));

        // refresh keeps act
        assertNotNull(t.json().get("refresh_token"), "calendar-agent's policy allows refresh");
        Http.Response r1 = flows.refresh(t.json().get("refresh_token").asText());
        assertEquals(200, r1.status(), r1.body());
        JsonNode at2 = Oidc.claims(r1.json().get("access_token").asText());
        assertAct(at2, agentSub);
        assertNarrowed(at2, List.of("openid", "profile", "email"));

        String events = flows.events(admin, "type=CODE_TO_TOKEN&client=agent-host");
        assertTrue(events.contains("\"act_chain\":\"calendar-agent\""), events);
        assertFalse(events.contains(t.json().get("access_token").asText()));

        // revoke the grant with alice's own token: refresh fails, never a token without act
        String aliceToken = new DemoUsers(server).accessToken("alice");
        Http.Response list = new Http().get(issuer + "/agent-auth/account/delegations", aliceToken);
        String grantId = null;
        for (JsonNode g : list.json()) {
            if ("calendar-agent".equals(g.path("agent").asText()) && "agent-host".equals(g.path("host").asText())) {
                grantId = g.path("id").asText();
            }
        }
        assertNotNull(grantId, list.body());
        assertEquals(204, new Http().delete(issuer + "/agent-auth/account/delegations/" + grantId, aliceToken).status());
        Http.Response r2 = flows.refresh(r1.json().get("refresh_token").asText());
        assertGrantError(r2, "invalid_grant");
    }

    @Test
    void researchAgentTokenIsNarrowedToItsCeilingAndGetsNoRefreshToken() {
        String agentSub = Oidc.claims(flows.agentToken("research-agent")).get("sub").asText();
        JsonNode t = flows.delegatedTokens("bob", "research-agent");
        JsonNode at = Oidc.claims(t.get("access_token").asText());
        assertAct(at, agentSub);
        assertEquals("research-agent", at.get("act").get("client_id").asText());
        assertNarrowed(at, List.of("openid", "profile"));
        assertFalse(List.of(at.get("scope").asText().split(" ")).contains("email"), at.toString());
        assertTrue(t.get("refresh_token") == null || t.get("refresh_token").isNull(), "research-agent's policy forbids refresh");
    }

    @Test
    void requestedActorDoesNotLeakIntoALaterPlainLoginOfTheSameClient() {
        Http browser = new Http();
        Pkce p1 = Pkce.create();
        String code = flows.codeFor(browser, flows.authParams("calendar-agent", p1), "alice");
        assertEquals(200, flows.redeem(code, p1, "actor_token", flows.agentToken("calendar-agent")).status());
        // same browser (SSO session), same client, no requested_actor: no consent page, a plain token
        Pkce p2 = Pkce.create();
        Http.Response r = browser.get(oidc.authUrl(Oidc.DEMO, flows.authParams(null, p2).list()));
        assertEquals(302, r.status(), "SSO login without any page: " + r);
        String plainCode = Oidc.params(r.location()).get("code");
        Http.Response t = flows.redeem(plainCode, p2);
        assertEquals(200, t.status(), t.body());
        JsonNode at = Oidc.claims(t.json().get("access_token").asText());
        assertTrue(at.get("act") == null, "no act in a plain login: " + at);
        // and the refresh of that plain token stays plain
        Http.Response rr = flows.refresh(t.json().get("refresh_token").asText());
        assertEquals(200, rr.status(), rr.body());
        assertTrue(Oidc.claims(rr.json().get("access_token").asText()).get("act") == null);
        // a plain code in that session refuses actor_token (not bound)
        Pkce p3 = Pkce.create();
        Http.Response r3 = browser.get(oidc.authUrl(Oidc.DEMO, flows.authParams(null, p3).list()));
        assertGrantError(flows.redeem(Oidc.params(r3.location()).get("code"), p3, "actor_token", flows.agentToken("calendar-agent")), "invalid_request");
    }

    @Test
    void requestedActorSurvivesMoreThanFiveExtraParameters() {
        Pkce pkce = Pkce.create();
        Form f = Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT, "response_type", "code",
                "scope", "openid profile", "state", "st-1", "code_challenge", pkce.challenge(), "code_challenge_method", "S256");
        for (int i = 1; i <= 7; i++) {
            f.add("x_extra_" + i, "v" + i);
        }
        f.add("requested_actor", "calendar-agent").add("prompt", "consent");
        Http browser = new Http();
        Http.Response r = flows.open(browser, oidc.authUrl(Oidc.DEMO, f.list()), "alice");
        assertTrue(AgentFlows.isConsentPage(r), "consent page despite 7 extra parameters before requested_actor: " + r);
        Http.Response back = flows.decide(browser, r, "allow");
        String code = Oidc.params(back.location()).get("code");
        Http.Response t = flows.redeem(code, pkce, "actor_token", flows.agentToken("calendar-agent"));
        assertEquals(200, t.status(), t.body());
        assertEquals("calendar-agent", Oidc.claims(t.json().get("access_token").asText()).get("act").get("client_id").asText());
    }

    @Test
    void pushedAuthorizationRequests() {
        String par = server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/ext/par/request";
        String basic = Http.basic(DemoUsers.HOST, DemoUsers.HOST_SECRET);
        // an agent that does not allow the host: 400 JSON at the PAR endpoint
        Pkce bad = Pkce.create();
        Http.Response refused = new Http().postForm(par, flows.authParams("plain-service", bad).list(), basic);
        assertEquals(400, refused.status(), refused.toString());
        assertEquals("invalid_request", refused.json().get("error").asText());
        Http.Response noPkce = new Http().postForm(par, Form.of("client_id", DemoUsers.HOST, "redirect_uri", DemoUsers.REDIRECT,
                "response_type", "code", "scope", "openid", "requested_actor", "calendar-agent").list(), basic);
        assertEquals(400, noPkce.status(), noPkce.toString());

        // pushed requested_actor, more than 5 extras: consent, bound code, act
        Pkce pkce = Pkce.create();
        Form f = flows.authParams("calendar-agent", pkce, "prompt", "consent");
        for (int i = 1; i <= 6; i++) {
            f.add("x_par_" + i, "v");
        }
        Http.Response pushed = new Http().postForm(par, f.list(), basic);
        assertEquals(201, pushed.status(), pushed.toString());
        String requestUri = pushed.json().get("request_uri").asText();
        Http browser = new Http();
        Http.Response r = flows.open(browser, oidc.authUrl(Oidc.DEMO, Form.of("client_id", DemoUsers.HOST,
                "request_uri", requestUri).list()), "alice");
        assertTrue(AgentFlows.isConsentPage(r), r.toString());
        Http.Response back = flows.decide(browser, r, "allow");
        Http.Response t = flows.redeem(Oidc.params(back.location()).get("code"), pkce, "actor_token", flows.agentToken("calendar-agent"));
        assertEquals(200, t.status(), t.body());
        assertEquals("calendar-agent", Oidc.claims(t.json().get("access_token").asText()).get("act").get("client_id").asText());

        // a copy of requested_actor next to request_uri is invalid_request (even the same value)
        Pkce p2 = Pkce.create();
        Http.Response pushed2 = new Http().postForm(par, flows.authParams("calendar-agent", p2).list(), basic);
        assertEquals(201, pushed2.status(), pushed2.toString());
        Http.Response copy = new Http().get(oidc.authUrl(Oidc.DEMO, Form.of("client_id", DemoUsers.HOST,
                "request_uri", pushed2.json().get("request_uri").asText(), "requested_actor", "calendar-agent").list()));
        assertEquals(302, copy.status(), copy.toString());
        assertEquals("invalid_request", Oidc.params(copy.location()).get("error"), copy.location());

        // a pushed request without requested_actor and a query copy: also refused
        Pkce p3 = Pkce.create();
        Http.Response pushed3 = new Http().postForm(par, flows.authParams(null, p3).list(), basic);
        Http.Response copy3 = new Http().get(oidc.authUrl(Oidc.DEMO, Form.of("client_id", DemoUsers.HOST,
                "request_uri", pushed3.json().get("request_uri").asText(), "requested_actor", "calendar-agent").list()));
        assertEquals("invalid_request", Oidc.params(copy3.location()).get("error"), copy3.location());
    }

    @Test
    void anAgentSignedJwtIsAnActorTokenAtTheCodeExchangeToo() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair kp = g.generateKeyPair();
        RSAPublicKey pub = (RSAPublicKey) kp.getPublic();
        String kid = "code-" + UUID.randomUUID();
        String jwks = Http.JSON.writeValueAsString(Map.of("keys", List.of(Map.of("kty", "RSA", "kid", kid, "use", "sig", "alg", "RS256",
                "n", DelegationExchangeIT.b64(DelegationExchangeIT.unsigned(pub.getModulus())),
                "e", DelegationExchangeIT.b64(DelegationExchangeIT.unsigned(pub.getPublicExponent()))))));
        Delegations dlg = new Delegations(server);
        Map<String, String> before = dlg.setAttributes("calendar-agent", Map.of("use.jwks.string", "true", "jwks.string", jwks));
        try {
            String agentSub = Oidc.claims(flows.agentToken("calendar-agent")).get("sub").asText();
            String jwt = DelegationExchangeIT.rs256(kp, kid, actorClaims("calendar-agent"));
            Pkce pkce = Pkce.create();
            String code = flows.codeFor(new Http(), flows.authParams("calendar-agent", pkce), "alice");
            Http.Response t = flows.redeem(code, pkce, "actor_token", jwt, "actor_token_type", DelegationExchangeIT.JWT);
            assertEquals(200, t.status(), t.body());
            JsonNode at = Oidc.claims(t.json().get("access_token").asText());
            assertAct(at, agentSub);
            assertEquals("calendar-agent", at.get("act").get("client_id").asText());
            assertNarrowed(at, List.of("openid", "profile", "email"));

            // single use: the same JWT on another code is refused
            Pkce p2 = Pkce.create();
            String c2 = flows.codeFor(new Http(), flows.authParams("calendar-agent", p2), "alice");
            assertGrantError(flows.redeem(c2, p2, "actor_token", jwt, "actor_token_type", DelegationExchangeIT.JWT), "invalid_grant");
            // without actor_token_type the actor token is an access token: a JWT is refused
            Pkce p3 = Pkce.create();
            String c3 = flows.codeFor(new Http(), flows.authParams("calendar-agent", p3), "alice");
            assertGrantError(flows.redeem(c3, p3, "actor_token", DelegationExchangeIT.rs256(kp, kid, actorClaims("calendar-agent"))),
                    "invalid_grant");
            // signed by another key
            Pkce p4 = Pkce.create();
            String c4 = flows.codeFor(new Http(), flows.authParams("calendar-agent", p4), "alice");
            assertGrantError(flows.redeem(c4, p4, "actor_token", DelegationExchangeIT.rs256(g.generateKeyPair(), kid, actorClaims("calendar-agent")),
                    "actor_token_type", DelegationExchangeIT.JWT), "invalid_grant");
            // a JWT of another agent (research-agent has no registered key, and is not the requested actor)
            Pkce p5 = Pkce.create();
            String c5 = flows.codeFor(new Http(), flows.authParams("calendar-agent", p5), "alice");
            assertGrantError(flows.redeem(c5, p5, "actor_token", DelegationExchangeIT.rs256(kp, kid, actorClaims("research-agent")),
                    "actor_token_type", DelegationExchangeIT.JWT), "invalid_grant");
            // the agent's client assertion (typ JWT, aud = the token endpoint) is no actor JWT, nor one typed as actor JWT
            // whose aud is the realm issuer (DESIGN section 3)
            Map<String, Object> assertion = actorClaims("calendar-agent");
            assertion.put("aud", issuer + "/protocol/openid-connect/token");
            Map<String, Object> issuerAud = actorClaims("calendar-agent");
            issuerAud.put("aud", issuer);
            for (String refused : List.of(DelegationExchangeIT.rs256(kp, kid, "JWT", assertion), DelegationExchangeIT.rs256(kp, kid, issuerAud))) {
                Pkce p6 = Pkce.create();
                String c6 = flows.codeFor(new Http(), flows.authParams("calendar-agent", p6), "alice");
                assertGrantError(flows.redeem(c6, p6, "actor_token", refused, "actor_token_type", DelegationExchangeIT.JWT), "invalid_grant");
            }
        } finally {
            dlg.setAttributes("calendar-agent", new LinkedHashMap<>(before));
        }
    }

    @Test
    void codeFlowAudienceStaysWithinTheAgentsAllowedAudiences() {
        String admin = oidc.adminToken();
        String hostId = flows.client(admin, DemoUsers.HOST).get("id").asText();
        String mappers = server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + hostId + "/protocol-mappers/models";
        List<String> created = new java.util.ArrayList<>();
        try {
            for (String aud : List.of("plain-service", "mcp-client")) {
                Http.Response r = new Http().postJson(mappers, admin, Map.of("name", "test-aud-" + aud, "protocol", "openid-connect",
                        "protocolMapper", "oidc-audience-mapper", "config", Map.of("included.client.audience", aud,
                                "access.token.claim", "true", "id.token.claim", "false", "introspection.token.claim", "true")));
                assertEquals(201, r.status(), r.toString());
                created.add(r.location());
            }
            // a plain login of the host gets both audiences
            Pkce p0 = Pkce.create();
            Http.Response plain = flows.redeem(flows.codeFor(new Http(), flows.authParams(null, p0), "bob"), p0);
            assertEquals(200, plain.status(), plain.body());
            String plainAud = Oidc.claims(plain.json().get("access_token").asText()).path("aud").toString();
            assertTrue(plainAud.contains("plain-service") && plainAud.contains("mcp-client"), plainAud);

            // the delegated token keeps only what calendar-agent's policy allows (plain-service), and so does refresh
            JsonNode t = flows.delegatedTokens("alice", "calendar-agent");
            JsonNode at = Oidc.claims(t.get("access_token").asText());
            assertEquals("[\"plain-service\"]", audArray(at), at.toString());
            Http.Response r1 = flows.refresh(t.get("refresh_token").asText());
            assertEquals(200, r1.status(), r1.body());
            JsonNode at2 = Oidc.claims(r1.json().get("access_token").asText());
            assertEquals("[\"plain-service\"]", audArray(at2), at2.toString());
            assertEquals("calendar-agent", at2.get("act").get("client_id").asText());
        } finally {
            for (String m : created) {
                new Http().delete(m, oidc.adminToken());
            }
        }
    }

    private static String audArray(JsonNode at) {
        JsonNode aud = at.path("aud");
        return aud.isTextual() ? "[\"" + aud.asText() + "\"]" : aud.toString();
    }

    private Map<String, Object> actorClaims(String agent) {
        long now = System.currentTimeMillis() / 1000;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("iss", agent);
        m.put("sub", agent);
        m.put("aud", issuer + "/agent-auth/actor");
        m.put("iat", now);
        m.put("exp", now + 60);
        m.put("jti", UUID.randomUUID().toString());
        return m;
    }

    static void assertGrantError(Http.Response r, String error) {
        assertEquals(400, r.status(), r.toString());
        assertEquals(error, r.json().get("error").asText(), r.body());
        assertFalse(r.json().has("access_token") || r.json().has("refresh_token"), r.body());
    }

    private void assertAct(JsonNode at, String agentSub) {
        JsonNode act = at.get("act");
        assertNotNull(act, "act claim: " + at);
        assertEquals(agentSub, act.get("sub").asText());
        assertTrue(act.get("client_id").asText().endsWith("-agent"));
        assertEquals(issuer, act.get("iss").asText());
    }

    private static void assertNarrowed(JsonNode at, List<String> ceiling) {
        for (String s : at.get("scope").asText().split(" ")) {
            assertTrue(ceiling.contains(s), "scope " + s + " outside " + ceiling + ": " + at);
        }
        String aud = at.path("aud").toString();
        assertFalse(aud.contains("account") || aud.contains("realm-management"), "aud " + aud);
        assertTrue(at.path("resource_access").path("account").isMissingNode(), "account roles: " + at);
        assertTrue(at.path("resource_access").path("realm-management").isMissingNode(), "realm-management roles: " + at);
    }
}
