package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.agentauth.keycloak.it.support.Vault;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 21, finding 2, as the attacker did it: a delegated token T is issued; alice revokes the grant (T: introspection
 * inactive, proxy 401); later she consents to the same agent through the same host again. T, its refresh token, the
 * code-flow tokens and chains built on T stay refused for good: they are bound to the exact grant they were issued under
 * (DESIGN section 3 rule 5, "Bound to its grant"); the new consent is a new grant with new tokens. The same when the
 * grant expired instead of being revoked. A consent while the grant is active renews that grant (it never lapsed), and
 * its revocation ends every token issued under it.
 */
@Order(13)
@ExtendWith(KeycloakServerExtension.class)
class GrantBindingIT {

    static final String TE = "urn:ietf:params:oauth:grant-type:token-exchange";
    static final String AT = "urn:ietf:params:oauth:token-type:access_token";
    static final String RT = "urn:ietf:params:oauth:token-type:refresh_token";
    static final String HOST = DemoUsers.HOST;
    static final String AGENT = "calendar-agent";
    static final String NEXT = "research-agent";
    static final String SHORT = "short-grant-agent";
    /** The resource server the exchanged tokens are for (every agent here may be delegated to it). */
    static final String RS = "plain-service";

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Delegations dlg;
    private final DemoUsers users;
    private final AgentFlows flows;
    private final Http http = new Http();
    private final String connectorUri;

    GrantBindingIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.dlg = new Delegations(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
        this.connectorUri = server.realmUrl(Oidc.DEMO) + "/agent-auth/connectors/" + Vault.CONNECTOR;
    }

    @AfterEach
    void cleanUp() {
        dlg.revokeAll("alice");
        deleteClient(oidc.adminToken(), SHORT);
    }

    // ---------------------------------------------------------------- helpers

    private String accountGrants() {
        return server.realmUrl(Oidc.DEMO) + "/agent-auth/account/delegations";
    }

    /** alice's grants to {@code agent} as she sees them on her account API. */
    private List<String> grantIds(String agent) {
        Http.Response r = http.get(accountGrants(), users.accessToken("alice"));
        assertEquals(200, r.status(), r.body());
        List<String> out = new java.util.ArrayList<>();
        r.json().forEach(g -> {
            if (agent.equals(g.path("agent").asText())) {
                out.add(g.path("id").asText());
            }
        });
        return out;
    }

    /** alice consents on the agent consent page (requested_actor through agent-host); returns the code-flow tokens. */
    private JsonNode consent(String agent, String... extra) {
        Pkce pkce = Pkce.create();
        Http browser = new Http();
        Http.Response page = flows.open(browser, oidc.authUrl(Oidc.DEMO, flows.authParams(agent, pkce, extra).list()), "alice");
        assertTrue(AgentFlows.isConsentPage(page), "alice is asked again: " + page);
        Http.Response r = flows.decide(browser, page, "allow");
        assertEquals(302, r.status(), r.toString());
        String code = Oidc.params(r.location()).get("code");
        assertNotNull(code, r.location());
        Http.Response t = flows.redeem(code, pkce, "actor_token", flows.agentToken(agent));
        assertEquals(200, t.status(), t.body());
        return t.json();
    }

    private Http.Response exchange(String requester, String subject, String actorAgent, String... extra) {
        Form f = Form.of("grant_type", TE, "subject_token", subject, "subject_token_type", AT,
                "actor_token", flows.agentToken(actorAgent), "actor_token_type", AT);
        for (int i = 0; i < extra.length; i += 2) {
            f.add(extra[i], extra[i + 1]);
        }
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), f.list(), Http.basic(requester, requester + "-secret"));
    }

    private JsonNode exchanged(String... extra) {
        Http.Response r = exchange(AGENT, users.accessToken("alice"), AGENT, extra);
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    private JsonNode exchangedFor(String resourceServer, String... extra) {
        String[] all = java.util.Arrays.copyOf(extra, extra.length + 2);
        all[extra.length] = "audience";
        all[extra.length + 1] = resourceServer;
        Http.Response r = exchange(AGENT, users.accessToken("alice"), AGENT, all);
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    /**
     * Introspection: of an access token by its audience, {@link #RS} (Keycloak lets only the audience introspect), of a
     * refresh token by its own client ({@code azp}).
     */
    private boolean active(String token) {
        JsonNode claims = Oidc.claims(token);
        boolean refresh = "Refresh".equals(claims.path("typ").asText());
        String by = refresh ? claims.path("azp").asText() : RS;
        Http.Response r = new Http().postForm(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/token/introspect",
                Form.of("token", token, "token_type_hint", refresh ? "refresh_token" : "access_token").list(), Http.basic(by, by + "-secret"));
        assertEquals(200, r.status(), r.body());
        return r.json().path("active").asBoolean();
    }

    private Http.Response refresh(String client, String refreshToken) {
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                "refresh_token", refreshToken).list(), Http.basic(client, client + "-secret"));
    }

    /** The brokered proxy: 401 when the token is refused; 200 or 403 connection_required once the grant check passed. */
    private Http.Response proxy(String token) {
        return http.get(connectorUri + "/proxy/userinfo", token);
    }

    private static boolean passedGrantCheck(Http.Response proxy) {
        return proxy.status() == 200 || (proxy.status() == 403 && "connection_required".equals(proxy.json().path("error").asText()));
    }

    private Http.Response vaultExchange(String subject) {
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", TE, "subject_token", subject,
                "subject_token_type", AT, "requested_issuer", Vault.CONNECTOR).list(), Http.basic(AGENT, AGENT + "-secret"));
    }

    private static boolean vaultPassedGrantCheck(Http.Response r) {
        return r.status() == 200 || "connection_required".equals(r.json().path("error").asText());
    }

    private Http.Response userinfo(String token) {
        return http.get(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/userinfo", token);
    }

    private void deleteClient(String admin, String clientId) {
        Http.Response r = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients?clientId=" + clientId, admin);
        for (JsonNode c : r.json()) {
            http.delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + c.get("id").asText(), admin);
        }
    }

    /** Everything issued under a grant that is gone: each use refused. */
    private void assertRefusedForGood(String when, Tokens t) {
        assertRefusedWhereTheAttackerLooked(when, t);
        assertFalse(active(t.codeFlowRefresh), when + ": code-flow refresh token inactive (introspection)");
        Http.Response codeFlowUserinfo = userinfo(t.codeFlow);
        assertEquals(401, codeFlowUserinfo.status(), when + ": userinfo with the code-flow token " + codeFlowUserinfo);
        Http.Response ui = userinfo(t.exchanged);
        assertEquals(401, ui.status(), when + ": userinfo " + ui);
    }

    /** What issue 21's attacker checked (introspection, the proxy) and what else the exchanged tokens reach. */
    private void assertRefusedWhereTheAttackerLooked(String when, Tokens t) {
        assertFalse(active(t.exchanged), when + ": exchanged token inactive");
        assertFalse(active(t.chained), when + ": chained token inactive");
        assertFalse(active(t.exchangedRefresh), when + ": exchanged refresh token inactive (introspection)");
        Http.Response p = proxy(t.forProxy);
        assertEquals(401, p.status(), when + ": proxy " + p);
        Http.Response v = vaultExchange(t.forProxy);
        assertEquals(400, v.status(), when + ": vault exchange " + v);
        assertFalse(vaultPassedGrantCheck(v), when + ": vault exchange " + v);
        Http.Response hop = exchange(NEXT, t.exchanged, NEXT);
        DelegationExchangeIT.assertError(hop, 400, "invalid_request");
    }

    /** What one consent gave: tokens of every kind. Refresh tokens are kept unused (the demo realm rotates them). */
    private record Tokens(String exchanged, String exchangedRefresh, String forProxy, String chained, String codeFlow,
            String codeFlowRefresh) {
    }

    private Tokens issueEverything(JsonNode codeFlow) {
        JsonNode ex = exchangedFor(RS, "requested_token_type", RT);
        JsonNode forProxy = exchanged("resource", connectorUri);
        Http.Response chained = exchange(NEXT, ex.get("access_token").asText(), NEXT, "scope", "openid", "audience", RS);
        assertEquals(200, chained.status(), chained.body());
        Tokens t = new Tokens(ex.get("access_token").asText(), ex.get("refresh_token").asText(), forProxy.get("access_token").asText(),
                chained.json().get("access_token").asText(), codeFlow.get("access_token").asText(), codeFlow.get("refresh_token").asText());
        assertTrue(active(t.exchanged), "exchanged token active at first");
        assertTrue(active(t.chained), "chained token active at first");
        assertTrue(active(t.codeFlowRefresh), "code-flow refresh token active at first");
        assertEquals(200, userinfo(t.codeFlow).status(), "userinfo with the code-flow token at first");
        assertTrue(active(t.exchangedRefresh), "refresh token active at first");
        assertTrue(passedGrantCheck(proxy(t.forProxy)), "the proxy accepts the token at first");
        assertTrue(vaultPassedGrantCheck(vaultExchange(t.forProxy)), "the vault exchange accepts the token at first");
        assertEquals(200, userinfo(t.exchanged).status());
        return t;
    }

    // ---------------------------------------------------------------- revoked, then consented again

    @Test
    void aRevokedGrantsTokensNeverComeBack() {
        dlg.revokeAll("alice");
        Tokens first = issueEverything(consent(AGENT));
        List<String> before = grantIds(AGENT);
        assertEquals(1, before.size(), before.toString());
        String g1 = before.get(0);

        // alice revokes the grant on her account API
        Http.Response del = http.delete(accountGrants() + "/" + g1, users.accessToken("alice"));
        assertEquals(204, del.status(), del.toString());
        assertRefusedWhereTheAttackerLooked("after revocation", first);

        // she consents to the same agent through the same host again: a new grant, with a new id
        JsonNode again = consent(AGENT);
        List<String> after = grantIds(AGENT);
        assertEquals(1, after.size(), after.toString());
        assertNotEquals(g1, after.get(0), "a new consent is a new grant");
        assertRefusedForGood("after consenting again", first);
        Http.Response r1 = refresh(AGENT, first.exchangedRefresh);
        DelegationExchangeIT.assertError(r1, 400, "invalid_grant");
        Http.Response r2 = flows.refresh(first.codeFlowRefresh);
        DelegationExchangeIT.assertError(r2, 400, "invalid_grant");

        // the new consent gives new tokens that work
        Tokens second = issueEverything(again);
        Http.Response r3 = refresh(AGENT, second.exchangedRefresh);
        assertEquals(200, r3.status(), r3.body());
        assertTrue(active(r3.json().get("access_token").asText()));
        Http.Response r4 = flows.refresh(second.codeFlowRefresh);
        assertEquals(200, r4.status(), r4.body());
    }

    @Test
    void consentingAgainWhileTheGrantIsActiveRenewsItButNeverOutlivesIt() {
        dlg.revokeAll("alice");
        Tokens first = issueEverything(consent(AGENT));
        String g1 = grantIds(AGENT).get(0);
        // a new consent while the grant is active renews it: the same grant, which never lapsed, so its tokens stay valid
        JsonNode renewed = consent(AGENT, "prompt", "consent");
        assertEquals(List.of(g1), grantIds(AGENT), "the active grant is renewed");
        assertTrue(active(first.exchanged) && active(first.exchangedRefresh), "the renewed grant's earlier tokens stay valid");
        Tokens second = issueEverything(renewed);
        // revoking the renewed grant ends every token issued under it, before and after the renewal, for good
        assertEquals(204, http.delete(accountGrants() + "/" + g1, users.accessToken("alice")).status());
        assertRefusedForGood("after revoking the renewed grant", first);
        assertRefusedForGood("after revoking the renewed grant", second);
        consent(AGENT);
        assertNotEquals(g1, grantIds(AGENT).get(0), "a consent after the revocation is a new grant");
        assertRefusedForGood("after consenting again", first);
        assertRefusedForGood("after consenting again", second);
    }

    // ---------------------------------------------------------------- expired, then consented again

    @Test
    void anExpiredGrantsTokensNeverComeBack() throws InterruptedException {
        String admin = oidc.adminToken();
        deleteClient(admin, SHORT);
        Map<String, Object> rep = new LinkedHashMap<>();
        rep.put("clientId", SHORT);
        rep.put("protocol", "openid-connect");
        rep.put("publicClient", false);
        rep.put("secret", SHORT + "-secret");
        rep.put("serviceAccountsEnabled", true);
        rep.put("standardFlowEnabled", false);
        rep.put("attributes", Map.of("standard.token.exchange.enabled", "true", "agent_auth.agent", "true",
                "agent_auth.allowed_scopes", "openid profile", "agent_auth.allowed_hosts", HOST,
                "agent_auth.refresh_allowed", "true", "agent_auth.grant_lifetime", "4", "agent_auth.allowed_audiences", RS));
        flows.createClient(admin, rep);

        JsonNode codeFlow = consent(SHORT);
        Http.Response ex = exchange(SHORT, users.accessToken("alice"), SHORT, "requested_token_type", RT, "audience", RS);
        assertEquals(200, ex.status(), ex.body());
        String token = ex.json().get("access_token").asText();
        String rt = ex.json().get("refresh_token").asText();
        assertTrue(active(token));
        String g1 = grantIds(SHORT).get(0);

        Thread.sleep(5_000);
        assertFalse(active(token), "the grant expired");
        assertFalse(active(codeFlow.get("refresh_token").asText()), "the grant expired");

        // alice consents again: the old grant is not revived
        JsonNode again = consent(SHORT);
        assertTrue(active(again.get("refresh_token").asText()), "the new consent's tokens work");
        assertNotEquals(g1, grantIds(SHORT).get(0), "a new consent is a new grant");
        assertFalse(active(token), "the expired grant's token stays refused");
        assertFalse(active(codeFlow.get("refresh_token").asText()), "the expired grant's code-flow refresh token stays refused");
        assertEquals(401, userinfo(codeFlow.get("access_token").asText()).status(), "the expired grant's code-flow token stays refused");
        DelegationExchangeIT.assertError(refresh(SHORT, rt), 400, "invalid_grant");
        DelegationExchangeIT.assertError(flows.refresh(codeFlow.get("refresh_token").asText()), 400, "invalid_grant");
        assertEquals(401, userinfo(token).status());
    }
}
