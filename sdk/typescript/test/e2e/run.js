// End-to-end: the TypeScript SDK (the built dist/) against a real Keycloak with the Agent Auth extension and the demo
// realms, the whole story for fresh users:
//
//   setup   a fresh user in agents-demo, two fresh users in upstream-saas, a temporary agent client with its own key
//   a       requested_actor: the host's authorization URL (PKCE S256), login and the agent consent screen in Chromium,
//           redeemCode with the agent's actor token -> a token with act
//   b       the user's own token (a plain login of the host app, same browser)
//   c       actor tokens both ways: calendar-agent's client credentials (cached), the temporary agent's signed actor+jwt
//           (fresh jti each time; the client authenticates with private_key_jwt)
//   d       exchange with act (both agents; narrowed by scope and audience); the temporary agent's connector outside
//           its grant is AccessDenied; a chain hop calendar-agent -> research-agent (nested act)
//   e       the connector: connector token (aud = connector URI), connection_required (status endpoint and proxy),
//           waitForConnection times out with ConnectionRequired
//   f       connect in Chromium (connect page Continue, upstream-saas login) while waitForConnection polls: it resolves;
//           the same proxied call (userinfo) now answers the fresh upstream account
//   g       a second linked account; a chosen connectionId answers that account; an unknown one is connection_not_found
//   h       the vault exchange (demo-calendar is proxy_exchange): an upstream token for the chosen account
//   i       the user revokes the grant (account API): the proxy, the status endpoint, the exchange, the vault exchange
//           and the chain hop give GrantRevoked
//   cleanup every user and client this run created (also after a failure)
//
// stdout: one line `SDK-E2E-RESULT {json}`; progress on stderr. Exit 1 on the first failed assertion. Never prints a
// token. Environment: KEYCLOAK_URL (http://localhost:8080), REALM (agents-demo), UPSTREAM_REALM (upstream-saas),
// CHROMIUM (/usr/bin/chromium), SCREENSHOT_DIR (target/screenshots of this package), ADMIN_USER/ADMIN_PASSWORD
// (admin/admin), E2E_STEP_TIMEOUT_MS (30000).

import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import {
  AccessDenied,
  AgentAuth,
  AgentAuthError,
  ConnectionNotFound,
  ConnectionRequired,
  GrantRevoked,
  TokenSet,
  isAccessDenied,
  isConnectionNotFound,
  isConnectionRequired,
  isGrantRevoked,
} from '../../dist/index.js';
import {
  RUN,
  admin,
  assert,
  assertEq,
  assertNoToken,
  cfg,
  cleanups,
  connectInBrowser,
  createUser,
  launchBrowser,
  login,
  rejects,
  runMain,
  shot,
  startCallbackServer,
  step,
  summary,
  withTimeout,
} from './support.js';
import { mkdir } from 'node:fs/promises';

async function main() {
  await mkdir(cfg.screenshots, { recursive: true });
  const callback = await startCallbackServer();
  let browser;
  try {
    // ---- setup: fresh users, a temporary agent with its own key
    const { user, upA, upB, keyAgentId, privateKey, kid } = await step('setup', async () => {
      const user = await createUser(cfg.realm, `sdk-ts-${RUN}`, 'Sdk', `Ts ${RUN}`);
      const upA = await createUser(cfg.upstreamRealm, `sdk-ts-${RUN}-work`, 'Work', `Ts ${RUN}`);
      const upB = await createUser(cfg.upstreamRealm, `sdk-ts-${RUN}-home`, 'Home', `Ts ${RUN}`);
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
      const kid = `sdk-ts-${RUN}`;
      const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
      const keyAgentId = `sdk-ts-agent-${RUN}`;
      // the demo agent's policy (realm-exports/agents-demo.json, calendar-agent's agent_auth.* attributes), its own
      // key instead of a secret, no resource URIs of its own (those belong to calendar-agent)
      const created = await admin('POST', cfg.realm, '/clients', {
        clientId: keyAgentId,
        name: `SDK TS Agent ${RUN}`,
        description: 'A temporary agent of the TypeScript SDK end-to-end test (signed actor tokens, private_key_jwt).',
        enabled: true,
        protocol: 'openid-connect',
        publicClient: false,
        clientAuthenticatorType: 'client-jwt',
        standardFlowEnabled: false,
        directAccessGrantsEnabled: false,
        serviceAccountsEnabled: true,
        attributes: {
          'standard.token.exchange.enabled': 'true',
          'use.jwks.string': 'true',
          'jwks.string': JSON.stringify({ keys: [jwk] }),
          'token.endpoint.auth.signing.alg': 'ES256',
          'agent_auth.agent': 'true',
          'agent_auth.allowed_scopes': 'openid profile email',
          'agent_auth.allowed_audiences': 'plain-service',
          'agent_auth.allowed_hosts': cfg.host,
          'agent_auth.allowed_connectors': cfg.connector,
          'agent_auth.max_depth': '3',
          'agent_auth.grant_lifetime': '2592000',
          'agent_auth.refresh_allowed': 'false',
        },
      });
      assertEq(created.status, 201, `admin: create client ${keyAgentId}`);
      const uuid = created.location.split('/').pop();
      cleanups.push(async () => {
        const d = await admin('DELETE', cfg.realm, `/clients/${uuid}`);
        if (d.status !== 204 && d.status !== 404) throw new Error(`delete client ${keyAgentId}: HTTP ${d.status}`);
      });
      summary.created = { user: user.username, upstreamUsers: [upA.username, upB.username], agent: keyAgentId };
      return { user, upA, upB, keyAgentId, privateKey, kid };
    });

    const calendar = await AgentAuth.discover({ issuer: cfg.issuer, clientId: cfg.agent, clientSecret: cfg.agentSecret });
    const research = await AgentAuth.discover({ issuer: cfg.issuer, clientId: cfg.downstream, clientSecret: cfg.downstreamSecret });
    const host = await AgentAuth.host({ issuer: cfg.issuer, clientId: cfg.host, clientSecret: cfg.hostSecret });
    assertNoToken(calendar, 'AgentAuth');

    browser = await launchBrowser();
    const page = await browser.context.newPage();

    // ---- a. requested_actor: authorization URL, login + consent in Chromium, redeemCode with the actor token
    const delegated = await step('a_requested_actor_code_flow', async () => {
      const req = await calendar.authorizationUrl({ clientId: cfg.host, redirectUri: callback.redirectUri, scope: 'openid profile' });
      const u = new URL(req.url);
      assertEq(u.searchParams.get('requested_actor'), cfg.agent, 'authorization URL requested_actor');
      assertEq(u.searchParams.get('code_challenge_method'), 'S256', 'authorization URL code_challenge_method');
      assertEq(u.searchParams.get('client_id'), cfg.host, 'authorization URL client_id');
      assertEq(u.searchParams.get('state'), req.state, 'authorization URL state');
      assert(/^[A-Za-z0-9_-]{43}$/.test(u.searchParams.get('code_challenge') ?? ''), 'authorization URL code_challenge is not S256');
      const came = callback.next();
      await page.goto(req.url);
      await login(page, user);
      await page.locator('#kc-agent-consent-form').waitFor();
      const title = (await page.locator('#agent-consent-title').innerText()).replace(/\s+/g, ' ').trim();
      assert(title.includes(cfg.agentName), `consent title "${title}" does not name ${cfg.agentName}`);
      await shot(page, 'consent');
      await page.click('#kc-agent-allow');
      const back = await withTimeout(came, 'the redirect back after Allow');
      assert(back.searchParams.get('code'), `no code: ${back.searchParams.get('error')} ${back.searchParams.get('error_description') ?? ''}`);
      const tokens = await calendar.redeemCode({
        callbackUrl: back,
        state: req.state,
        codeVerifier: req.codeVerifier,
        redirectUri: callback.redirectUri,
        clientId: cfg.host,
        clientSecret: cfg.hostSecret,
      });
      assert(tokens instanceof TokenSet, 'redeemCode returns a TokenSet');
      assertEq(tokens.sub, user.id, 'requested_actor token sub');
      assertEq(tokens.act?.client_id, cfg.agent, 'requested_actor token act.client_id');
      assertEq(tokens.act?.iss, cfg.issuer, 'requested_actor token act.iss');
      assert(tokens.expiresAt instanceof Date && tokens.expiresAt.getTime() > Date.now(), 'requested_actor token expiresAt');
      assert(tokens.scope.includes('openid'), `requested_actor token scope ${JSON.stringify(tokens.scope)}`);
      assertNoToken(tokens, 'requested_actor TokenSet');
      summary.requestedActor = { consentTitle: title, token: tokens.toJSON() };
      return tokens;
    });

    // ---- b. the user's own token: a plain login of the host app (same browser: no login page, no consent)
    const userToken = await step('b_user_token', async () => {
      const req = await host.authorizationUrl({ redirectUri: callback.redirectUri, scope: 'openid profile email' });
      assert(!new URL(req.url).searchParams.has('requested_actor'), 'a plain login carries requested_actor');
      const came = callback.next();
      await page.goto(req.url);
      const back = await withTimeout(came, 'the plain login');
      const tokens = await host.redeemCode({ callbackUrl: back, state: req.state, codeVerifier: req.codeVerifier, redirectUri: callback.redirectUri });
      assertEq(tokens.sub, user.id, 'user token sub');
      assertEq(tokens.claims.azp, cfg.host, 'user token azp');
      assertEq(tokens.act, undefined, 'user token act');
      // a wrong state is refused before any request
      const wrong = await rejects(
        () => host.redeemCode({ callbackUrl: back, state: 'not-the-state', codeVerifier: req.codeVerifier, redirectUri: callback.redirectUri }),
        'redeemCode with a wrong state',
      );
      assert(wrong instanceof AgentAuthError, `wrong state: ${wrong?.name}`);
      summary.userToken = tokens.toJSON();
      return tokens.accessToken;
    });

    // ---- c. actor tokens both ways
    const keyAgent = await step('c_actor_tokens', async () => {
      const a1 = await calendar.actorToken();
      const a2 = await calendar.actorToken();
      assertEq(a1 === a2, true, 'the client-credentials actor token is cached');
      const c = decodeJwt(a1);
      assertEq(c.azp, cfg.agent, 'client-credentials actor token azp');
      assertEq(c.act, undefined, 'client-credentials actor token act');
      assertEq(calendar.actorTokenType, 'urn:ietf:params:oauth:token-type:access_token', 'calendar-agent actorTokenType');

      const keyAgent = await AgentAuth.discover({ issuer: cfg.issuer, clientId: keyAgentId, privateKey, kid });
      const j1 = await keyAgent.actorToken();
      const j2 = await keyAgent.actorToken();
      const h = decodeProtectedHeader(j1);
      const p1 = decodeJwt(j1);
      const p2 = decodeJwt(j2);
      assertEq([h.typ, h.alg, h.kid], ['actor+jwt', 'ES256', kid], 'actor JWT header');
      assertEq([p1.iss, p1.sub, p1.aud], [keyAgentId, keyAgentId, `${cfg.issuer}/agent-auth/actor`], 'actor JWT iss, sub, aud');
      assert(p1.exp - p1.iat <= 300 && p1.exp > Date.now() / 1000, `actor JWT lifetime ${p1.exp - p1.iat}`);
      assert(typeof p1.jti === 'string' && p1.jti !== p2.jti, 'actor JWTs need a fresh jti each');
      assertEq(keyAgent.actorTokenType, 'urn:ietf:params:oauth:token-type:jwt', 'key agent actorTokenType');
      // the same key for client credentials (private_key_jwt at the token endpoint)
      const keyAgentCc = await AgentAuth.discover({ issuer: cfg.issuer, clientId: keyAgentId, privateKey, kid, actorTokenKind: 'client_credentials' });
      const cc = decodeJwt(await keyAgentCc.actorToken());
      assertEq(cc.azp, keyAgentId, 'private_key_jwt client-credentials token azp');
      summary.actorTokens = { clientCredentials: { azp: c.azp, cached: true }, jwt: { header: h, iss: p1.iss, aud: p1.aud, lifetime: p1.exp - p1.iat, freshJti: true }, privateKeyJwt: { azp: cc.azp } };
      return { keyAgent, keyAgentCc };
    });

    // ---- d. the delegated exchange (act), both agents, and a chain hop
    const exchanged = await step('d_exchange_and_chain', async () => {
      const t = await calendar.exchange({ subjectToken: userToken });
      assertEq(t.sub, user.id, 'exchanged token sub');
      assertEq(t.act?.client_id, cfg.agent, 'exchanged token act.client_id');
      assertEq(t.act?.iss, cfg.issuer, 'exchanged token act.iss');
      assert(typeof t.act?.sub === 'string', 'exchanged token act.sub');
      assertEq(t.claims.azp, cfg.agent, 'exchanged token azp');
      assertEq(t.actChain(), [cfg.agent], 'exchanged token actChain');
      assertNoToken(t, 'exchanged TokenSet');
      const narrowed = await calendar.exchange({ subjectToken: userToken, scope: ['openid'], audience: 'plain-service' });
      assertEq(narrowed.aud, ['plain-service'], 'exchange with audience: aud');
      assertEq(narrowed.scope, ['openid'], 'exchange with scope: scope');

      // the temporary agent: the admin pre-authorises its grant (the user's consent to it), then both actor kinds
      const g = await admin('POST', cfg.realm, `/agent-auth/users/${user.id}/delegations`, { agent: keyAgentId, host: cfg.host });
      assertEq(g.status, 201, `admin: pre-authorise ${keyAgentId} for the user`);
      const viaJwt = await exchanged_key(keyAgent.keyAgent, 'signed actor JWT');
      const viaCc = await exchanged_key(keyAgent.keyAgentCc, 'private_key_jwt client credentials');
      // its policy allows demo-calendar, the admin's grant (no connectors given) does not: AccessDenied
      const denied = await rejects(() => keyAgent.keyAgent.connector(cfg.connector, { subjectToken: userToken }).fetch('userinfo'), 'a connector outside the grant');
      assert(denied instanceof AccessDenied && isAccessDenied(denied), `connector outside the grant: expected AccessDenied, got ${denied?.name} ${denied?.message}`);
      assertEq([denied.code, denied.status], ['invalid_target', 400], 'connector outside the grant: code and status');
      async function exchanged_key(agent, what) {
        const k = await agent.exchange({ subjectToken: userToken });
        assertEq([k.sub, k.act?.client_id], [user.id, keyAgentId], `exchange with ${what}: sub, act.client_id`);
        return k.toJSON();
      }

      // the chain hop: research-agent exchanges calendar-agent's token (calendar-agent's policy lists it downstream, and
      // the grant the consent screen recorded lists it: the user's consent to the hand-over)
      const grants = await admin('GET', cfg.realm, `/agent-auth/users/${user.id}/delegations`);
      const calGrant = grants.body.find((x) => x.agent === cfg.agent && x.host === cfg.host && x.active !== false);
      assert(calGrant, `no grant from the consent screen: ${JSON.stringify(grants.body)}`);
      assertEq(calGrant.origin, 'consent', 'the consent screen grant origin');
      assert((calGrant.downstreamAgents ?? []).includes(cfg.downstream), `the consent screen's grant lists no ${cfg.downstream}: ${JSON.stringify(calGrant.downstreamAgents)}`);
      assert((calGrant.connectors ?? []).includes(cfg.connector), `the consent screen's grant lists no ${cfg.connector}: ${JSON.stringify(calGrant.connectors)}`);
      const hop = await research.exchange({ subjectToken: t.accessToken });
      assertEq(hop.sub, user.id, 'chain hop sub');
      assertEq(hop.actChain(), [cfg.downstream, cfg.agent], 'chain hop act chain (current first)');
      assertEq(hop.act?.act?.client_id, cfg.agent, 'chain hop nested act.client_id');
      summary.exchange = { calendar: t.toJSON(), narrowed: narrowed.toJSON(), keyAgentJwt: viaJwt, keyAgentClientCredentials: viaCc, connectorOutsideGrant: denied.toJSON(), chain: { token: hop.toJSON(), grant: { connectors: calGrant.connectors, downstreamAgents: calGrant.downstreamAgents } } };
      return { t, hop };
    });

    // ---- e. the connector: its token, connection_required from the status endpoint and the proxy, a wait that times out
    const conn = calendar.connector(cfg.connector, { subjectToken: userToken });
    await step('e_connector_connection_required', async () => {
      const ct = await conn.token();
      assertEq(ct.aud, [cfg.connectorUri], 'connector token aud');
      assertEq(ct.act?.client_id, cfg.agent, 'connector token act.client_id');
      assert((await conn.token()) === ct, 'the connector token is cached');
      const s = await rejects(() => conn.connection(), 'connection() before any account');
      assert(s instanceof ConnectionRequired && isConnectionRequired(s), `connection(): expected ConnectionRequired, got ${s?.name} ${s?.message}`);
      assertEq([s.code, s.status, s.connector], ['connection_required', 403, cfg.connector], 'status endpoint ConnectionRequired');
      assert(s.connectUri.startsWith(`${cfg.connectorUri}/connect?`), `connectUri ${s.connectUri}`);
      assertEq(new URL(s.connectUri).searchParams.get('client_id'), cfg.agent, 'connectUri client_id');
      const p = await rejects(() => conn.fetch('userinfo'), 'fetch(userinfo) before any account');
      assert(p instanceof ConnectionRequired, `fetch(): expected ConnectionRequired, got ${p?.name} ${p?.message}`);
      assertEq(conn.connectUri, p.connectUri, 'connector.connectUri is the last connection_required link');
      assertNoToken(p, 'ConnectionRequired');
      const j = p.toJSON();
      assertEq([j.type, j.code, j.connector, j.connect_uri], ['ConnectionRequired', 'connection_required', cfg.connector, p.connectUri], 'ConnectionRequired.toJSON()');
      assertEq(AgentAuthError.fromJSON(JSON.parse(JSON.stringify(p))) instanceof ConnectionRequired, true, 'fromJSON(toJSON()) is a ConnectionRequired');
      const started = Date.now();
      const w = await rejects(() => conn.waitForConnection({ timeoutMs: 1500, intervalMs: 400 }), 'waitForConnection with nothing connected');
      const waited = Date.now() - started;
      assert(w instanceof ConnectionRequired, `waitForConnection timeout: expected ConnectionRequired, got ${w?.name}`);
      assert(waited >= 1400 && waited < 10_000, `waitForConnection gave up after ${waited} ms`);
      summary.connectionRequired = { status: s.toJSON(), proxy: j, waitTimeoutMs: waited };
    });

    // ---- f. connect in Chromium while waitForConnection polls; the same call then succeeds
    const first = await step('f_connect_wait_call', async () => {
      const waiting = conn.waitForConnection({ timeoutMs: 120_000, intervalMs: 500 });
      const message = await connectInBrowser(page, conn.connectUri, upA, 'first');
      const info = await withTimeout(waiting, 'waitForConnection after connecting');
      assertEq([info.connector, info.account, info.status, info.deliveryMode], [cfg.connector, upA.username, 'ACTIVE', 'proxy_exchange'], 'waitForConnection result');
      assert(info.connectionId, 'waitForConnection: no connectionId');
      const res = await conn.fetch('userinfo');
      assertEq(res.status, 200, 'proxied userinfo status');
      const body = await res.json();
      assertEq(body.preferred_username, upA.username, 'proxied userinfo preferred_username');
      assertEq(res.headers.get('x-connection-id'), info.connectionId, 'proxied call X-Connection-Id');
      summary.connected = { message, connection: info, userinfo: { preferred_username: body.preferred_username } };
      return info;
    });

    // ---- g. a second account; a chosen connectionId; an unknown one
    const second = await step('g_second_account_connection_id', async () => {
      // another upstream account: the browser forgets its upstream-saas session (it is not ended: re-authenticating
      // as another user over it, prompt=login, would end it, and with it the first account's upstream tokens)
      await browser.context.clearCookies({ path: new RegExp(`^/realms/${cfg.upstreamRealm}`) });
      await connectInBrowser(page, conn.connectUri, upB, 'second');
      const conns = await admin('GET', cfg.realm, `/agent-auth/users/${user.id}/connections`);
      const mine = conns.body.filter((c) => c.connector === cfg.connector);
      assertEq(mine.map((c) => c.account).sort(), [upA.username, upB.username].sort(), 'the user\'s two accounts');
      const idB = mine.find((c) => c.account === upB.username).id;
      const forB = calendar.connector(cfg.connector, { subjectToken: userToken, connectionId: idB });
      const infoB = await forB.connection();
      assertEq([infoB.connectionId, infoB.account], [idB, upB.username], 'connection() with connectionId B');
      const resB = await forB.fetch('userinfo');
      assertEq(resB.status, 200, 'proxied userinfo with connectionId B: status');
      assertEq((await resB.json()).preferred_username, upB.username, 'proxied userinfo with connectionId B');
      assertEq(resB.headers.get('x-connection-id'), idB, 'X-Connection-Id B');
      const resA = await conn.withConnection(first.connectionId).fetch('userinfo');
      assertEq(resA.status, 200, 'proxied userinfo with connectionId A: status');
      assertEq((await resA.json()).preferred_username, upA.username, 'proxied userinfo with connectionId A');
      const unknown = calendar.connector(cfg.connector, { subjectToken: userToken, connectionId: 'no-such-connection' });
      const nf = await rejects(() => unknown.fetch('userinfo'), 'fetch with an unknown connectionId');
      assertEq([nf.name, nf.code, nf.status], ['ConnectionNotFound', 'connection_not_found', 404], 'unknown connectionId at the proxy');
      assert(nf instanceof ConnectionNotFound && isConnectionNotFound(nf), 'unknown connectionId: ConnectionNotFound');
      assertEq([nf.connector, nf.connectionId, nf.toJSON().connection_id], [cfg.connector, 'no-such-connection', 'no-such-connection'], 'ConnectionNotFound connector and connection id');
      const nf2 = await rejects(() => unknown.connection(), 'connection() with an unknown connectionId');
      assertEq([nf2.name, nf2.code, nf2.status], ['ConnectionNotFound', 'connection_not_found', 404], 'unknown connectionId at the status endpoint');
      summary.connectionId = { accounts: mine.map((c) => c.account), chosen: infoB, unknown: nf.toJSON() };
      return { idB, forB };
    });

    // ---- h. the vault exchange (demo-calendar's delivery mode is proxy_exchange)
    await step('h_upstream_token', async () => {
      const up = await second.forB.upstreamToken();
      assertEq(up.connectionId, second.idB, 'upstream token connectionId');
      assert(up.expiresAt.getTime() > Date.now(), 'upstream token expiresAt');
      assertNoToken(up, 'upstream TokenSet');
      const res = await fetch(`${cfg.keycloakUrl}/realms/${cfg.upstreamRealm}/protocol/openid-connect/userinfo`, { headers: { authorization: `Bearer ${up.accessToken}` } });
      assertEq(res.status, 200, 'the upstream accepts the upstream token');
      assertEq((await res.json()).preferred_username, upB.username, 'the upstream token is account B\'s');
      summary.upstreamToken = up.toJSON();
    });

    // ---- i. the user revokes the grant: GrantRevoked from the proxy (cached connector token) and the exchange
    await step('i_revoke_grant_revoked', async () => {
      const acct = `${cfg.issuer}/agent-auth/account/delegations`;
      const list = await fetch(acct, { headers: { authorization: `Bearer ${userToken}` } });
      assertEq(list.status, 200, 'account API: list my delegations with the user\'s own token');
      const grants = await list.json();
      const mine = grants.filter((g) => g.agent === cfg.agent && g.host === cfg.host && g.active !== false);
      assertEq(mine.length, 1, 'one active grant to calendar-agent');
      const del = await fetch(`${acct}/${encodeURIComponent(mine[0].id)}`, { method: 'DELETE', headers: { authorization: `Bearer ${userToken}` } });
      assertEq(del.status, 204, 'account API: revoke the grant');
      const p = await rejects(() => conn.fetch('userinfo'), 'proxied call after revocation');
      assert(p instanceof GrantRevoked && isGrantRevoked(p), `proxy after revocation: expected GrantRevoked, got ${p?.name} ${p?.message}`);
      assertEq([p.code, p.status], ['invalid_token', 401], 'proxy GrantRevoked code and status');
      const s = await rejects(() => conn.connection(), 'connection() after revocation');
      assert(s instanceof GrantRevoked, `status endpoint after revocation: expected GrantRevoked, got ${s?.name}`);
      const x = await rejects(() => calendar.exchange({ subjectToken: userToken }), 'exchange after revocation');
      assert(x instanceof GrantRevoked, `exchange after revocation: expected GrantRevoked, got ${x?.name} ${x?.message}`);
      assertEq([x.code, x.status], ['invalid_request', 400], 'exchange GrantRevoked code and status');
      const v = await rejects(() => second.forB.upstreamToken(), 'vault exchange after revocation');
      assert(v instanceof GrantRevoked, `vault exchange after revocation: expected GrantRevoked, got ${v?.name} ${v?.message}`);
      const hop = await rejects(() => research.exchange({ subjectToken: exchanged.t.accessToken }), 'chain hop after revocation');
      assert(hop instanceof GrantRevoked, `chain hop after revocation: expected GrantRevoked, got ${hop?.name} ${hop?.message}`);
      for (const e of [p, s, x, v, hop]) assertNoToken(e, `${e.name} after revocation`);
      summary.revoked = { proxy: p.toJSON(), status: s.toJSON(), exchange: x.toJSON(), vault: v.toJSON(), chain: hop.toJSON() };
    });

    summary.ok = true;
  } finally {
    if (browser) await browser.close();
    await callback.close();
  }
}

await runMain(main);
