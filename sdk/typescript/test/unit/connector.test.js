// Connector handles against the fake realm: the connector token's cache and renewal, the proxy call (headers, the
// upstream's answers returned, the proxy's refusals thrown), the status endpoint, waitForConnection, the vault exchange.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { AgentAuth, AgentAuthError, ConnectionNotFound, ConnectionRequired, GrantRevoked, UpstreamUnavailable } from '../../dist/index.js';
import { ISSUER, clock, fakeRealm, json, jwt } from './fake.js';

const RESOURCE = `${ISSUER}/agent-auth/connectors/demo-calendar`;
const CONNECT = `${RESOURCE}/connect?client_id=calendar-agent`;
const STATUS_OK = { connector: 'demo-calendar', connection_id: 'c-1', account: 'alice-work', status: 'ACTIVE', scopes: ['openid', 'profile'], delivery_mode: 'proxy' };

/** A realm whose token endpoint issues connector tokens of `lifetime` s, numbered, at the clock's time. */
async function setup({ lifetime = 300, proxy, connection, exchange } = {}) {
  const now = clock(Date.now());
  let issued = 0;
  const fake = fakeRealm({
    token: async (req) => {
      const f = req.form;
      if (f.get('grant_type') === 'client_credentials') return json(200, { access_token: await jwt({ sub: 'sa' }, { now: now(), lifetime: 3600 }), token_type: 'Bearer' });
      if (exchange) {
        const r = await exchange(req);
        if (r) return r;
      }
      issued++;
      return json(200, {
        access_token: await jwt({ sub: 'user-1', n: issued, aud: f.get('resource'), act: { client_id: 'calendar-agent' } }, { now: now(), lifetime }),
        token_type: 'Bearer',
        expires_in: lifetime,
      });
    },
    proxy: proxy ?? (async () => json(200, { preferred_username: 'alice-work' }, { 'x-connection-id': 'c-1' })),
    connection: connection ?? (async () => json(200, STATUS_OK)),
  });
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: fake.fetch, now });
  const exchanges = () => fake.tokenRequests().filter((r) => r.form.get('grant_type').endsWith('token-exchange'));
  return { now, fake, agent, exchanges };
}

test('the connector token: exchanged with resource = the connector URI, cached until 30 s before expiry', async () => {
  const { now, agent, exchanges } = await setup({ lifetime: 120 });
  const c = agent.connector('demo-calendar', { subjectToken: 'user-token' });
  assert.equal(c.resource, RESOURCE);
  const [t1, t2] = await Promise.all([c.token(), c.token()]);
  assert.equal(t1, t2);
  assert.equal(exchanges().length, 1);
  assert.deepEqual(exchanges()[0].form.getAll('resource'), [RESOURCE]);
  assert.equal(exchanges()[0].form.get('subject_token'), 'user-token');
  now.advance(89_000); // 31 s left
  assert.equal(await c.token(), t1);
  now.advance(1_000); // 30 s left
  const t3 = await c.token();
  assert.notEqual(t3, t1);
  assert.equal(exchanges().length, 2);
  // the subject token may be a function (called again for each exchange)
  let calls = 0;
  const d = agent.connector('demo-calendar', { subjectToken: async () => `fresh-${++calls}` });
  await d.token();
  assert.equal(exchanges().at(-1).form.get('subject_token'), 'fresh-1');
});

test('a subject token that is already this agent\'s token for the connector is used as it is', async () => {
  const { now, agent, exchanges } = await setup();
  const own = await jwt({ sub: 'user-1', aud: RESOURCE, act: { client_id: 'calendar-agent' } }, { now: now() });
  const t = await agent.connector('demo-calendar', { subjectToken: own }).token();
  assert.equal(t.accessToken, own);
  assert.equal(exchanges().length, 0);
  const other = await jwt({ sub: 'user-1', aud: RESOURCE, act: { client_id: 'another-agent' } }, { now: now() });
  await agent.connector('demo-calendar', { subjectToken: other }).token();
  assert.equal(exchanges().length, 1);
});

test('fetch goes through the proxy with the bearer and X-Connection-Id, and returns the upstream answer whatever its status', async () => {
  let upstream = json(200, { preferred_username: 'alice-work' }, { 'x-connection-id': 'c-9' });
  const { fake, agent } = await setup({ proxy: async () => upstream });
  const c = agent.connector('demo-calendar', { subjectToken: 'u', connectionId: 'c-9' });
  const res = await c.fetch('/calendars/primary/events?max=3', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { preferred_username: 'alice-work' });
  const req = fake.requests.at(-1);
  assert.equal(req.url.href, `${RESOURCE}/proxy/calendars/primary/events?max=3`);
  assert.equal(req.method, 'POST');
  assert.equal(req.headers.get('authorization'), `Bearer ${(await c.token()).accessToken}`);
  assert.equal(req.headers.get('x-connection-id'), 'c-9');
  assert.equal(req.headers.get('content-type'), 'application/json');
  assert.equal(req.init.redirect, 'manual');
  upstream = json(404, { error: 'not_found_upstream' }, { 'x-connection-id': 'c-9' });
  assert.equal((await c.fetch('nope')).status, 404, 'an upstream 404 is the upstream\'s answer, not an SDK error');
  assert.equal(c.withConnection('c-2').connectionId, 'c-2');
  assert.ok(!inspect(c).includes('eyJ') && !JSON.stringify(c).includes('eyJ'));
});

test('the proxy\'s refusals are thrown as their classes; connection_required updates connectUri', async () => {
  let refusal;
  const { agent } = await setup({ proxy: async () => refusal });
  const c = agent.connector('demo-calendar', { subjectToken: 'u' });
  assert.equal(c.connectUri, CONNECT, 'computed before any answer');

  const link = `${RESOURCE}/connect?client_id=calendar-agent&scope=openid`;
  refusal = json(403, { error: 'connection_required', error_description: 'The user has no active account linked on connector demo-calendar', connect_uri: link });
  const e = await c.fetch('userinfo').catch((x) => x);
  assert.ok(e instanceof ConnectionRequired);
  assert.deepEqual([e.connector, e.connectUri, e.status], ['demo-calendar', link, 403]);
  assert.equal(c.connectUri, link);

  // a connect link that is not this connector's connect page is never handed on
  refusal = json(403, { error: 'connection_required', connect_uri: 'https://phish.example/connect' });
  const p = await c.fetch('userinfo').catch((x) => x);
  assert.equal(p.connectUri, link);

  refusal = json(401, { error: 'invalid_token', error_description: 'The delegation is no longer valid: The delegation grant this token was issued under (agent calendar-agent via host client agent-host) is no longer active' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
  assert.ok((await c.fetch('userinfo').catch((x) => x)) instanceof GrantRevoked);
  refusal = json(404, { error: 'connection_not_found', error_description: 'No active connection x of this user on connector demo-calendar' });
  const nf = await c.fetch('userinfo').catch((x) => x);
  assert.deepEqual([nf.constructor, nf.code, nf.status, nf.connector, nf.connectionId], [ConnectionNotFound, 'connection_not_found', 404, 'demo-calendar', '']);
  assert.ok(nf instanceof AgentAuthError);
  refusal = json(504, { error: 'upstream_timeout', error_description: 'The upstream did not answer within 10000 ms' });
  assert.ok((await c.fetch('userinfo').catch((x) => x)) instanceof UpstreamUnavailable);
  refusal = json(403, { error: 'access_denied', error_description: 'Connector demo-calendar is not allowed for agent calendar-agent' });
  assert.equal((await c.fetch('userinfo').catch((x) => x)).name, 'AccessDenied');
});

test('a refused connector token that is not a revoked grant is exchanged again once', async () => {
  let calls = 0;
  const { agent, exchanges } = await setup({
    proxy: async () => (++calls === 1 ? json(401, { error: 'invalid_token', error_description: 'The token is not an active access token of this realm' }) : json(200, { ok: true }, { 'x-connection-id': 'c-1' })),
  });
  const c = agent.connector('demo-calendar', { subjectToken: 'u' });
  const res = await c.fetch('userinfo');
  assert.equal(res.status, 200);
  assert.equal(exchanges().length, 2);
  const again = await setup({ proxy: async () => json(401, { error: 'invalid_token', error_description: 'The token is not an active access token of this realm' }) });
  const e = await again.agent.connector('demo-calendar', { subjectToken: 'u' }).fetch('userinfo').catch((x) => x);
  assert.equal(e.code, 'invalid_token');
  assert.equal(again.exchanges().length, 2, 'one retry, not more');
});

test('connection() reads the status endpoint with the same headers', async () => {
  const { fake, agent } = await setup();
  const c = agent.connector('demo-calendar', { subjectToken: 'u', connectionId: 'c-1' });
  const info = await c.connection();
  assert.deepEqual(info, { connector: 'demo-calendar', connectionId: 'c-1', account: 'alice-work', status: 'ACTIVE', scopes: ['openid', 'profile'], deliveryMode: 'proxy' });
  const req = fake.requests.at(-1);
  assert.equal(req.url.href, `${RESOURCE}/connection`);
  assert.equal(req.method, 'GET');
  assert.equal(req.headers.get('x-connection-id'), 'c-1');
  assert.match(req.headers.get('authorization'), /^Bearer eyJ/);
});

test('waitForConnection polls until the user has connected', async () => {
  let polls = 0;
  const { agent } = await setup({
    connection: async () => (++polls < 3 ? json(403, { error: 'connection_required', connect_uri: CONNECT }) : json(200, STATUS_OK)),
  });
  const c = agent.connector('demo-calendar', { subjectToken: 'u' });
  const info = await c.waitForConnection({ timeoutMs: 5_000, intervalMs: 50 });
  assert.equal(info.account, 'alice-work');
  assert.equal(polls, 3);
});

test('waitForConnection gives up with ConnectionRequired after timeoutMs, rethrows other errors at once, honours abort', async () => {
  let answer = () => json(403, { error: 'connection_required', connect_uri: CONNECT });
  let polls = 0;
  const { agent } = await setup({ connection: async () => (polls++, answer()) });
  const c = agent.connector('demo-calendar', { subjectToken: 'u' });
  const started = Date.now();
  const e = await c.waitForConnection({ timeoutMs: 300, intervalMs: 60 }).catch((x) => x);
  const waited = Date.now() - started;
  assert.ok(e instanceof ConnectionRequired, `${e?.name}`);
  assert.equal(e.connectUri, CONNECT);
  assert.ok(waited >= 280 && waited < 2_000, `waited ${waited} ms`);
  assert.ok(polls >= 3, `polled ${polls} times`);

  answer = () => json(401, { error: 'invalid_token', error_description: 'The delegation is no longer valid: revoked' });
  polls = 0;
  const g = await c.waitForConnection({ timeoutMs: 5_000, intervalMs: 50 }).catch((x) => x);
  assert.ok(g instanceof GrantRevoked);
  assert.equal(polls, 1);

  answer = () => json(403, { error: 'connection_required', connect_uri: CONNECT });
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('stop waiting')), 100);
  const a = await c.waitForConnection({ timeoutMs: 10_000, intervalMs: 40, signal: ac.signal }).catch((x) => x);
  assert.equal(a.message, 'stop waiting');
});

test('upstreamToken: the vault exchange (requested_issuer, no actor_token); connection_required with its link', async () => {
  let vault = async () => json(200, { access_token: 'upstream-opaque', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 60, connection_id: 'c-3' });
  const { fake, agent } = await setup({ exchange: async (req) => (req.form.get('requested_issuer') ? vault(req) : undefined) });
  const c = agent.connector('demo-calendar', { subjectToken: 'u', connectionId: 'c-3' });
  const up = await c.upstreamToken();
  assert.equal(up.accessToken, 'upstream-opaque');
  assert.equal(up.connectionId, 'c-3');
  assert.ok(!JSON.stringify(up).includes('upstream-opaque') && !inspect(up).includes('upstream-opaque'));
  const req = fake.tokenRequests().at(-1);
  assert.equal(req.form.get('requested_issuer'), 'demo-calendar');
  assert.equal(req.form.get('subject_token'), (await c.token()).accessToken);
  assert.equal(req.form.get('connection_id'), 'c-3');
  assert.equal(req.form.get('actor_token'), null);

  vault = async () => json(400, { error: 'connection_required', error_description: 'The linked account must be connected again', connect_uri: CONNECT });
  const e = await c.upstreamToken().catch((x) => x);
  assert.ok(e instanceof ConnectionRequired);
  assert.deepEqual([e.connector, e.connectUri, e.status], ['demo-calendar', CONNECT, 400]);
  vault = async () => json(503, { error: 'temporarily_unavailable', error_description: 'The upstream is not available: timeout' });
  assert.ok((await c.upstreamToken().catch((x) => x)) instanceof UpstreamUnavailable);
});

test('a bad alias or missing subject token is refused at once', async () => {
  const { agent } = await setup();
  assert.throws(() => agent.connector('../admin', { subjectToken: 'u' }), (e) => e.code === 'invalid_request');
  assert.throws(() => agent.connector('demo-calendar', {}), (e) => e.code === 'invalid_request');
});

test('a proxy path that a URL parser would resolve elsewhere is refused before anything is sent', async () => {
  const { agent, fake } = await setup();
  const c = agent.connector('demo-calendar', { subjectToken: 'user-token' });
  const before = fake.tokenRequests().length;
  for (const path of ['../../protocol/openid-connect/userinfo', 'a/../../x', './x', '%2e%2e/x', 'a/%2E%2e/x', 'a\\..\\x', 'a/.\t./x', 'a\n/x']) {
    await assert.rejects(c.fetch(path), (e) => e instanceof AgentAuthError && e.code === 'invalid_request' && !e.message.includes('user-token'), path);
  }
  assert.equal(fake.tokenRequests().length, before, 'no token was even asked for');
  // ordinary paths, with dots inside segments and dot segments in the query, go through
  for (const path of ['userinfo', '/calendars/v1.2/events', 'a..b/c.', 'search?q=../x']) {
    assert.equal((await c.fetch(path)).status, 200, path);
  }
});
