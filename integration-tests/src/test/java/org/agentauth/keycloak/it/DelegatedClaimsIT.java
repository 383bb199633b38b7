package org.agentauth.keycloak.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.agentauth.keycloak.it.support.AgentFlows;
import org.agentauth.keycloak.it.support.Delegations;
import org.agentauth.keycloak.it.support.DemoUsers;
import org.agentauth.keycloak.it.support.Http;
import org.agentauth.keycloak.it.support.KeycloakServer;
import org.agentauth.keycloak.it.support.KeycloakServerExtension;
import org.agentauth.keycloak.it.support.Oidc;
import org.agentauth.keycloak.it.support.Oidc.Form;
import org.agentauth.keycloak.it.support.Oidc.Pkce;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 21, finding 1, as the attacker did it: agents created the ordinary way (Keycloak's admin REST API, so the realm's
 * default client scopes {@code profile} and {@code email} come with them), policy ceiling {@code openid}; alice consents
 * to {@code openid} only. Every token carrying {@code act} (the {@code requested_actor} code flow through agent-host,
 * the delegated exchange requested by the agent or by the host, their refreshes, a chain hop) holds only the claims of
 * its granted scopes plus the protocol claims, and {@code /userinfo} and introspection with it answer only within that
 * set (DESIGN section 3 rule 5, "Claims too").
 */
@Order(13)
@ExtendWith(KeycloakServerExtension.class)
class DelegatedClaimsIT {

    static final String TE = "urn:ietf:params:oauth:grant-type:token-exchange";
    static final String AT = "urn:ietf:params:oauth:token-type:access_token";
    static final String RT = "urn:ietf:params:oauth:token-type:refresh_token";
    static final String HOST = DemoUsers.HOST;
    /** The first ordinary agent; it may hand over to {@link #AGENT_B}. */
    static final String AGENT_A = "ordinary-agent-a";
    static final String AGENT_B = "ordinary-agent-b";
    /** The resource server the delegated tokens are for (and that introspects them). */
    static final String RS = "plain-service";

    /** What the profile and email scopes (and their mappers) would add. */
    static final Set<String> PERSONAL = Set.of("email", "email_verified", "name", "given_name", "family_name",
            "preferred_username", "middle_name", "nickname", "locale", "username");
    /**
     * The claims a delegated token may carry whatever its scope: the protocol claims of DESIGN section 3 rule 5 (and
     * {@code nbf}), the roles it is narrowed to, and the extension's own delegation claims.
     */
    static final Set<String> PROTOCOL = Set.of("sub", "iss", "aud", "exp", "iat", "nbf", "jti", "sid", "azp", "scope", "typ",
            "auth_time", "acr", "cnf", "act", "realm_access", "resource_access", "delegation_host", "delegation_grants",
            // what a delegated refresh token records of its access token (DESIGN section 3 rule 8)
            "delegation_scope", "delegation_aud", "delegation_roles");
    /**
     * Introspection's own members (RFC 7662 section 2.2), and the bookkeeping Keycloak keeps in a refresh token (the
     * original audience, the refresh-token provider, the rotation id, the exchange's requested audience): no user claims.
     */
    static final Set<String> INTROSPECTION = Set.of("active", "client_id", "token_type", "aud_x", "prov", "reuse_id", "req-aud");

    private final KeycloakServer server;
    private final Oidc oidc;
    private final Delegations dlg;
    private final DemoUsers users;
    private final AgentFlows flows;
    private final Http http = new Http();

    DelegatedClaimsIT(KeycloakServer server) {
        this.server = server;
        this.oidc = new Oidc(server);
        this.dlg = new Delegations(server);
        this.users = new DemoUsers(server);
        this.flows = new AgentFlows(server);
    }

    /**
     * Creates the two agents the way an admin does: a confidential client with a service account through Keycloak's admin
     * REST API, no client scopes named (Keycloak gives it the realm's defaults), then the agent attributes.
     */
    @BeforeEach
    void ordinaryAgents() {
        String admin = oidc.adminToken();
        for (String agent : List.of(AGENT_A, AGENT_B)) {
            deleteClient(admin, agent);
            Map<String, Object> rep = new LinkedHashMap<>();
            rep.put("clientId", agent);
            rep.put("name", "Ordinary " + agent);
            rep.put("protocol", "openid-connect");
            rep.put("publicClient", false);
            rep.put("secret", agent + "-secret");
            rep.put("serviceAccountsEnabled", true);
            rep.put("standardFlowEnabled", false);
            Map<String, String> attrs = new LinkedHashMap<>();
            attrs.put("standard.token.exchange.enabled", "true");
            attrs.put("agent_auth.agent", "true");
            attrs.put("agent_auth.allowed_scopes", "openid");
            attrs.put("agent_auth.allowed_hosts", HOST);
            attrs.put("agent_auth.refresh_allowed", "true");
            // a resource server the tokens may be for, which introspects them (Keycloak lets only the audience introspect)
            attrs.put("agent_auth.allowed_audiences", RS);
            if (agent.equals(AGENT_A)) {
                attrs.put("agent_auth.downstream_agents", AGENT_B);
            }
            rep.put("attributes", attrs);
            flows.createClient(admin, rep);
            // the precondition of the finding: the agent has profile and email as default scopes
            JsonNode defaults = http.get(clientUrl(admin, agent) + "/default-client-scopes", admin).json();
            Set<String> names = new TreeSet<>();
            defaults.forEach(s -> names.add(s.path("name").asText()));
            assertTrue(names.containsAll(Set.of("profile", "email")), agent + " default scopes " + names);
        }
    }

    @AfterEach
    void removeAgents() {
        String admin = oidc.adminToken();
        dlg.revokeAll("alice");
        for (String agent : List.of(AGENT_A, AGENT_B)) {
            deleteClient(admin, agent);
        }
    }

    private String clientUrl(String admin, String clientId) {
        return server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + flows.client(admin, clientId).get("id").asText();
    }

    private void deleteClient(String admin, String clientId) {
        Http.Response r = http.get(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients?clientId=" + clientId, admin);
        for (JsonNode c : r.json()) {
            http.delete(server.baseUrl() + "/admin/realms/" + Oidc.DEMO + "/clients/" + c.get("id").asText(), admin);
        }
    }

    // ---------------------------------------------------------------- helpers

    private String userinfo() {
        return server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/userinfo";
    }

    private Http.Response exchange(String requester, String subject, String actorAgent, String... extra) {
        Form f = Form.of("grant_type", TE, "subject_token", subject, "subject_token_type", AT,
                "actor_token", flows.agentToken(actorAgent), "actor_token_type", AT);
        for (int i = 0; i < extra.length; i += 2) {
            f.add(extra[i], extra[i + 1]);
        }
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), f.list(), Http.basic(requester, requester + "-secret"));
    }

    private Http.Response refresh(String client, String refreshToken) {
        return new Http().postForm(oidc.tokenEndpoint(Oidc.DEMO), Form.of("grant_type", "refresh_token",
                "refresh_token", refreshToken).list(), Http.basic(client, client + "-secret"));
    }

    private static Set<String> names(JsonNode o) {
        Set<String> out = new TreeSet<>();
        o.fieldNames().forEachRemaining(out::add);
        return out;
    }

    /**
     * The token carries {@code act}, says {@code scope: openid} and holds only protocol claims; {@code /userinfo} with it
     * answers {@code sub} alone; introspection (by {@code introspector}, the token's audience, or by its own client for a
     * refresh token) answers only the token's protocol claims.
     */
    private void assertOnlyOpenid(String label, String token, String introspector) {
        JsonNode claims = Oidc.claims(token);
        assertTrue(claims.has("act"), label + ": carries act " + claims);
        assertEquals("openid", claims.path("scope").asText(), label + ": scope " + claims);
        Set<String> leaked = new TreeSet<>(names(claims));
        leaked.removeAll(PROTOCOL);
        assertEquals(Set.of(), leaked, label + ": claims beyond the grant in the token " + claims);

        Http.Response ui = http.get(userinfo(), token);
        assertEquals(200, ui.status(), label + " userinfo: " + ui);
        assertEquals(Set.of("sub"), names(ui.json()), label + ": userinfo answers beyond the grant " + ui.body());

        if (introspector != null) {
            assertIntrospectedWithinGrant(label, token, introspector);
        }

        // and, as for every delegated token, Keycloak's account API stays out of reach
        Http.Response account = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.realmUrl(Oidc.DEMO) + "/account/"))
                .header("Authorization", "Bearer " + token).header("Accept", "application/json").GET());
        assertTrue(account.status() == 401 || account.status() == 403, label + " account API: " + account);
    }

    private void assertIntrospectedWithinGrant(String label, String token, String introspector) {
        boolean refresh = "Refresh".equals(Oidc.claims(token).path("typ").asText());
        Http.Response intro = new Http().postForm(server.realmUrl(Oidc.DEMO) + "/protocol/openid-connect/token/introspect",
                Form.of("token", token, "token_type_hint", refresh ? "refresh_token" : "access_token").list(),
                Http.basic(introspector, introspector + "-secret"));
        assertEquals(200, intro.status(), intro.body());
        assertTrue(intro.json().path("active").asBoolean(), label + ": introspection active " + intro.body());
        Set<String> introLeaked = new TreeSet<>(names(intro.json()));
        introLeaked.removeAll(PROTOCOL);
        introLeaked.removeAll(INTROSPECTION);
        assertEquals(Set.of(), introLeaked, label + ": introspection answers beyond the grant " + intro.body());
        for (String p : PERSONAL) {
            assertFalse(intro.json().has(p), label + ": introspection " + p + " " + intro.body());
        }
    }

    /** alice consents on the agent consent page (requested_actor through agent-host) and the host redeems the code. */
    private JsonNode codeFlow(String agent) {
        Pkce pkce = Pkce.create();
        String code = flows.codeFor(new Http(), flows.authParams(agent, pkce), "alice");
        Http.Response t = flows.redeem(code, pkce, "actor_token", flows.agentToken(agent));
        assertEquals(200, t.status(), t.body());
        return t.json();
    }

    // ---------------------------------------------------------------- (a) the requested_actor code flow

    @Test
    void codeFlowTokenHoldsOnlyTheGrantedScopesClaims() {
        JsonNode tokens = codeFlow(AGENT_A);
        // the grant records openid only: that is all alice consented to
        JsonNode grants = http.get(users.grantsUrl(dlg.userId("alice")), oidc.adminToken()).json();
        JsonNode grant = null;
        for (JsonNode g : grants) {
            if (AGENT_A.equals(g.path("agent").asText())) {
                grant = g;
            }
        }
        assertTrue(grant != null, grants.toString());
        assertEquals("[\"openid\"]", grant.path("scopes").toString(), grant.toString());

        // the access token has no audience here, so nobody may introspect it; its refresh token is introspected by the host
        assertOnlyOpenid("code flow", tokens.get("access_token").asText(), null);
        assertIntrospectedWithinGrant("code flow refresh token", tokens.get("refresh_token").asText(), HOST);
        if (tokens.has("id_token")) {
            JsonNode id = Oidc.claims(tokens.get("id_token").asText());
            for (String p : PERSONAL) {
                assertFalse(id.has(p), "the ID token of an agent login holds no " + p + ": " + id);
            }
        }

        // refresh (Keycloak re-adds agent-host's default scopes there), twice
        String rt = tokens.get("refresh_token").asText();
        for (int i = 0; i < 2; i++) {
            Http.Response r = flows.refresh(rt);
            assertEquals(200, r.status(), r.body());
            assertOnlyOpenid("code flow refresh " + i, r.json().get("access_token").asText(), null);
            rt = r.json().get("refresh_token").asText();
        }
    }

    // ---------------------------------------------------------------- (b) the delegated exchange and /userinfo

    @Test
    void exchangedTokensAndUserinfoHoldOnlyTheGrantedScopesClaims() {
        codeFlow(AGENT_A); // alice's consent: openid only
        for (String requester : List.of(AGENT_A, HOST)) {
            String subject = users.accessToken("alice");
            // the attacker's request: scope=openid (with a refresh token, as the first reproduction here sent it) and no
            // audience, so nobody may introspect it; the token and /userinfo are checked
            Http.Response plain = exchange(requester, subject, AGENT_A, "scope", "openid", "requested_token_type", RT);
            assertEquals(200, plain.status(), plain.body());
            assertOnlyOpenid("plain exchange by " + requester, plain.json().get("access_token").asText(), null);
            Http.Response r = exchange(requester, subject, AGENT_A, "scope", "openid", "requested_token_type", RT, "audience", RS);
            assertEquals(200, r.status(), r.body());
            assertOnlyOpenid("exchange by " + requester, r.json().get("access_token").asText(), RS);
            assertIntrospectedWithinGrant("exchange refresh token by " + requester, r.json().get("refresh_token").asText(), requester);
            // without a scope parameter: still only what alice granted
            Http.Response all = exchange(requester, subject, AGENT_A, "audience", RS);
            assertEquals(200, all.status(), all.body());
            assertOnlyOpenid("exchange without scope by " + requester, all.json().get("access_token").asText(), RS);

            Http.Response refreshed = refresh(requester, r.json().get("refresh_token").asText());
            assertEquals(200, refreshed.status(), refreshed.body());
            assertOnlyOpenid("exchange refresh by " + requester, refreshed.json().get("access_token").asText(), RS);
        }
    }

    @Test
    void aChainHopHoldsOnlyTheGrantedScopesClaims() {
        codeFlow(AGENT_A); // openid, and (the policy's downstream agents) AGENT_B
        Http.Response first = exchange(AGENT_A, users.accessToken("alice"), AGENT_A, "scope", "openid", "requested_token_type", RT,
                "audience", RS);
        assertEquals(200, first.status(), first.body());
        Http.Response hop = exchange(AGENT_B, first.json().get("access_token").asText(), AGENT_B, "requested_token_type", RT,
                "audience", RS);
        assertEquals(200, hop.status(), hop.body());
        assertTrue(Oidc.claims(hop.json().get("access_token").asText()).path("act").has("act"), "nested act");
        assertOnlyOpenid("chain hop", hop.json().get("access_token").asText(), RS);
        Http.Response refreshed = refresh(AGENT_B, hop.json().get("refresh_token").asText());
        assertEquals(200, refreshed.status(), refreshed.body());
        assertOnlyOpenid("chain hop refresh", refreshed.json().get("access_token").asText(), RS);
    }

    @Test
    void aGrantWithProfileStillShowsProfileClaims() {
        // the assertions above can fail: with profile in the ceiling and the grant, profile's claims are there
        Map<String, String> old = dlg.setAttributes(AGENT_A, Map.of("agent_auth.allowed_scopes", "openid profile"));
        try {
            JsonNode tokens = codeFlow(AGENT_A);
            JsonNode claims = Oidc.claims(tokens.get("access_token").asText());
            assertTrue(claims.has("preferred_username") && claims.has("given_name"), claims.toString());
            assertFalse(claims.has("email"), "email was not granted: " + claims);
            Http.Response ui = http.get(userinfo(), tokens.get("access_token").asText());
            assertEquals(200, ui.status(), ui.body());
            assertTrue(ui.json().has("preferred_username"), ui.body());
            assertFalse(ui.json().has("email"), "userinfo: email was not granted " + ui.body());
        } finally {
            dlg.setAttributes(AGENT_A, old);
        }
    }
}
