// Headless approval (CIBA) against the fake realm: the backchannel request requestApproval builds, the poll loop of
// waitForApproval (authorization_pending, slow_down, access_denied, expired_token, timeout, abort), the actor token on
// each poll (the cached client-credentials token; a fresh actor+jwt per poll with a key), and no auth_req_id in
// anything printable. The clock and the sleeps are the fake's: the loop's waits are asserted, not slept.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { AccessDenied, AgentAuth, AgentAuthError, ApprovalExpired, ApprovalRequest, isAccessDenied, isApprovalExpired } from '../../dist/index.js';
import { BACKCHANNEL_ENDPOINT, ISSUER, clock, fakeRealm, json, jwt } from './fake.js';

const CIBA = 'urn:openid:params:grant-type:ciba';
const AUTH_REQ_ID = 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..secret-auth-req-id-value.tag';
const CONNECTOR = `${ISSUER}/agent-auth/connectors/demo-calendar`;

/**
 * A realm whose CIBA poll answers come from `answers` in turn (the last one repeats): a string is an OAuth error
 * (400), 'token' the delegated token set. Sleeps advance the fake clock and are recorded.
 */
async function setup({ answers = ['token'], backchannel, interval = 5, expiresIn = 600, key } = {}) {
  const now = clock(Date.now());
  const sleeps = [];
  let polls = 0;
  let ccIssued = 0;
  const fake = fakeRealm({
    backchannel: backchannel ?? (async () => json(200, { auth_req_id: AUTH_REQ_ID, expires_in: expiresIn, interval })),
    token: async (req) => {
      const f = req.form;
      if (f.get('grant_type') === 'client_credentials') {
        ccIssued++;
        return json(200, { access_token: await jwt({ sub: 'sa-cal', azp: 'calendar-agent', n: ccIssued }, { now: now(), lifetime: 300 }), token_type: 'Bearer', expires_in: 300 });
      }
      assert.equal(f.get('grant_type'), CIBA);
      const a = answers[Math.min(polls, answers.length - 1)];
      polls++;
      if (a === 'token') {
        return json(200, {
          access_token: await jwt({ sub: 'user-1', azp: 'calendar-agent', scope: 'openid profile', aud: CONNECTOR, act: { sub: 'sa-cal', client_id: 'calendar-agent', iss: ISSUER } }, { now: now() }),
          token_type: 'Bearer',
          expires_in: 300,
          refresh_token: 'refresh-secret',
          scope: 'openid profile',
        });
      }
      return json(400, { error: a, error_description: `answer ${a}` });
    },
  });
  const sleep = async (ms, signal) => {
    if (signal?.aborted) throw signal.reason;
    sleeps.push(ms);
    now.advance(ms);
  };
  const creds = key ? { privateKey: key.privateKey, kid: key.kid } : { clientSecret: 'calendar-agent-secret' };
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', ...creds, fetch: fake.fetch, now, sleep });
  const polled = () => fake.tokenRequests().filter((r) => r.form.get('grant_type') === CIBA);
  return { agent, fake, now, sleeps, polled, ccCount: () => ccIssued };
}

test('requestApproval sends the CIBA request with requested_actor = the agent, the binding message, the action and the resource', async () => {
  const { agent, fake } = await setup();
  const r = await agent.requestApproval({
    loginHint: 'alice',
    scope: ['openid', 'profile'],
    bindingMessage: 'CAL-4711',
    description: "Read tomorrow's meetings",
    resource: CONNECTOR,
    maxAge: 300,
  });
  const req = fake.requests.find((x) => x.url.href === BACKCHANNEL_ENDPOINT);
  assert.equal(req.method, 'POST');
  const f = req.form;
  assert.equal(f.get('login_hint'), 'alice');
  assert.equal(f.get('scope'), 'openid profile');
  assert.equal(f.get('binding_message'), 'CAL-4711');
  assert.equal(f.get('requested_actor'), 'calendar-agent');
  assert.equal(f.get('resource'), CONNECTOR);
  assert.equal(f.get('max_age'), '300');
  assert.deepEqual(JSON.parse(f.get('authorization_details')), [{ type: 'agent_action', description: "Read tomorrow's meetings" }]);
  assert.match(req.headers.get('authorization') ?? '', /^Basic /, 'the agent authenticates as a client');
  assert.ok(r instanceof ApprovalRequest);
  assert.equal(r.authReqId, AUTH_REQ_ID);
  assert.equal(r.interval, 5);
  assert.equal(r.bindingMessage, 'CAL-4711');
  assert.ok(Math.abs(r.expiresAt.getTime() - Date.now() - 600_000) < 5_000);

  // no optional parameters unless given
  const { agent: a2, fake: f2 } = await setup();
  await a2.requestApproval({ loginHint: 'bob', scope: 'openid', bindingMessage: 'B-1' });
  const bare = f2.requests.find((x) => x.url.href === BACKCHANNEL_ENDPOINT).form;
  for (const p of ['resource', 'authorization_details', 'max_age']) assert.equal(bare.get(p), null, p);
});

test('the auth_req_id never shows in toString, JSON, inspect or an error', async () => {
  const { agent } = await setup({ answers: ['access_denied'] });
  const r = await agent.requestApproval({ loginHint: 'alice', scope: 'openid', bindingMessage: 'X-1' });
  for (const text of [String(r), JSON.stringify(r), inspect(r, { showHidden: true, depth: 5 }), `${r}`, JSON.stringify({ r })]) {
    assert.ok(!text.includes('secret-auth-req-id'), text);
  }
  assert.equal(JSON.parse(JSON.stringify(r)).authReqId, '[redacted]');
  const e = await agent.waitForApproval(r).catch((x) => x);
  assert.ok(e instanceof AccessDenied);
  assert.ok(!JSON.stringify(e).includes('secret-auth-req-id') && !String(e).includes('secret-auth-req-id'));
});

test('refusals at the backchannel endpoint are error values; missing arguments fail before any request', async () => {
  const { agent, fake } = await setup({
    backchannel: async (req) =>
      req.form.get('scope').includes('email')
        ? json(400, { error: 'invalid_scope', error_description: 'Invalid scopes: openid email' })
        : json(400, { error: 'invalid_authorization_details', error_description: 'description too long' }),
  });
  const scope = await agent.requestApproval({ loginHint: 'a', scope: 'openid email', bindingMessage: 'X' }).catch((x) => x);
  assert.equal(scope.name, 'InsufficientScope');
  assert.equal(scope.code, 'invalid_scope');
  assert.equal(scope.status, 400);
  const details = await agent.requestApproval({ loginHint: 'a', scope: 'openid', bindingMessage: 'X', description: 'x'.repeat(1001) }).catch((x) => x);
  assert.ok(details instanceof AgentAuthError);
  assert.equal(details.code, 'invalid_authorization_details');
  const sent = fake.requests.length;
  for (const bad of [{ scope: 'openid', bindingMessage: 'X' }, { loginHint: 'a', bindingMessage: 'X' }, { loginHint: 'a', scope: 'openid' }]) {
    const e = await agent.requestApproval(bad).catch((x) => x);
    assert.ok(e instanceof AgentAuthError && e.code === 'invalid_request', JSON.stringify(bad));
  }
  assert.equal(fake.requests.length, sent, 'nothing sent for a request without its required parts');

  const none = fakeRealm({}, { metadata: { backchannel_authentication_endpoint: undefined } });
  const plain = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: none.fetch });
  const e = await plain.requestApproval({ loginHint: 'a', scope: 'openid', bindingMessage: 'X' }).catch((x) => x);
  assert.equal(e.code, 'invalid_configuration');
});

test('waitForApproval waits the interval, polls through authorization_pending with the actor token, returns the delegated token', async () => {
  const { agent, sleeps, polled, ccCount } = await setup({ answers: ['authorization_pending', 'authorization_pending', 'token'] });
  const r = await agent.requestApproval({ loginHint: 'alice', scope: 'openid profile', bindingMessage: 'A-1' });
  const ts = await agent.waitForApproval(r);
  assert.deepEqual(sleeps, [5000, 5000, 5000], 'the interval before every poll, the first included');
  const polls = polled();
  assert.equal(polls.length, 3);
  for (const p of polls) {
    assert.equal(p.form.get('auth_req_id'), AUTH_REQ_ID);
    assert.equal(p.form.get('actor_token_type'), 'urn:ietf:params:oauth:token-type:access_token');
    assert.equal(decodeJwt(p.form.get('actor_token')).azp, 'calendar-agent');
    assert.match(p.headers.get('authorization') ?? '', /^Basic /);
  }
  assert.equal(new Set(polls.map((p) => p.form.get('actor_token'))).size, 1, 'the cached client-credentials token on each poll');
  assert.equal(ccCount(), 1);
  assert.equal(ts.act.client_id, 'calendar-agent');
  assert.deepEqual(ts.actChain(), ['calendar-agent']);
  assert.deepEqual(ts.scope, ['openid', 'profile']);
  assert.deepEqual(ts.aud, [CONNECTOR]);
  assert.equal(ts.refreshToken, 'refresh-secret');
  assert.ok(!JSON.stringify(ts).includes('refresh-secret'));
});

test('slow_down adds 5 s to the interval for every later poll', async () => {
  const { agent, sleeps } = await setup({ answers: ['slow_down', 'authorization_pending', 'slow_down', 'token'], interval: 2 });
  const r = await agent.requestApproval({ loginHint: 'alice', scope: 'openid', bindingMessage: 'S-1' });
  await agent.waitForApproval(r);
  assert.deepEqual(sleeps, [2000, 7000, 7000, 12000]);
});

test('no interval in the answer: 5 s (CIBA Core 7.3)', async () => {
  const { agent, sleeps } = await setup({ backchannel: async () => json(200, { auth_req_id: 'x', expires_in: 60 }) });
  const r = await agent.requestApproval({ loginHint: 'alice', scope: 'openid', bindingMessage: 'I-1' });
  assert.equal(r.interval, 5);
  await agent.waitForApproval(r);
  assert.deepEqual(sleeps, [5000]);
});

test('access_denied is AccessDenied, expired_token is ApprovalExpired, both at once; another refusal is thrown as mapped', async () => {
  for (const [answer, check, cls] of [
    ['access_denied', isAccessDenied, 'AccessDenied'],
    ['expired_token', isApprovalExpired, 'ApprovalExpired'],
    ['invalid_grant', (e) => e instanceof AgentAuthError && e.code === 'invalid_grant', 'AgentAuthError'],
  ]) {
    const { agent, polled } = await setup({ answers: ['authorization_pending', answer] });
    const r = await agent.requestApproval({ loginHint: 'alice', scope: 'openid', bindingMessage: 'D-1' });
    const e = await agent.waitForApproval(r).catch((x) => x);
    assert.ok(check(e), `${answer}: ${e}`);
    assert.equal(e.name, cls);
    assert.equal(e.code, answer);
    assert.equal(e.status, 400);
    assert.equal(polled().length, 2, `${answer}: no poll after the refusal`);
  }
  assert.ok(new ApprovalExpired('expired_token') instanceof AgentAuthError);
});

test('timeoutMs: AgentAuthError authorization_pending after the time, without a poll that would come too early; the request stays usable', async () => {
  const { agent, sleeps, polled, now } = await setup({ answers: ['authorization_pending', 'authorization_pending', 'token'] });
  const r = await agent.requestApproval({ loginHint: 'alice', scope: 'openid', bindingMessage: 'T-1' });
  const start = now();
  const e = await agent.waitForApproval(r, { timeoutMs: 12_000 }).catch((x) => x);
  assert.ok(e instanceof AgentAuthError && !(e instanceof ApprovalExpired), `${e}`);
  assert.equal(e.code, 'authorization_pending');
  assert.equal(now() - start, 12_000, 'waited exactly timeoutMs');
  assert.deepEqual(sleeps, [5000, 5000, 2000]);
  assert.equal(polled().length, 2);
  // waiting again on the same request gets the token
  const ts = await agent.waitForApproval(r);
  assert.equal(ts.act.client_id, 'calendar-agent');
});

test('a request past its expiry with the server still pending ends as ApprovalExpired', async () => {
  const { agent, polled } = await setup({ answers: ['authorization_pending'], expiresIn: 12 });
  const r = await agent.requestApproval({ loginHint: 'alice', scope: 'openid', bindingMessage: 'E-1' });
  const e = await agent.waitForApproval(r).catch((x) => x);
  assert.ok(isApprovalExpired(e), `${e}`);
  assert.equal(e.code, 'expired_token');
  assert.equal(polled().length, 3, 'polls at 5, 10 and 15 s (the first after the expiry at 12 s); no more');
});

test('abort: the signal stops the wait with its reason', async () => {
  const { agent, polled } = await setup({ answers: ['authorization_pending'] });
  const r = await agent.requestApproval({ loginHint: 'alice', scope: 'openid', bindingMessage: 'X-2' });
  const ac = new AbortController();
  ac.abort(new Error('stop waiting'));
  const e = await agent.waitForApproval(r, { signal: ac.signal }).catch((x) => x);
  assert.equal(e.message, 'stop waiting');
  assert.equal(polled().length, 0);
  // real timers: an abort during the sleep ends it at once
  const real = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: fakeRealm({}).fetch });
  const ac2 = new AbortController();
  const started = Date.now();
  setTimeout(() => ac2.abort(), 50);
  const e2 = await real.waitForApproval(r, { signal: ac2.signal }).catch((x) => x);
  assert.equal(e2.name, 'AbortError');
  assert.ok(Date.now() - started < 2_000);
  await assert.rejects(real.waitForApproval({ authReqId: 'x', interval: 1 }), (x) => x.code === 'invalid_request');
});

test('with a private key: a fresh actor+jwt on every poll, private_key_jwt client authentication', async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const { agent, polled } = await setup({ answers: ['authorization_pending', 'slow_down', 'token'], key: { privateKey, kid: 'k1' } });
  assert.ok(await exportJWK(publicKey));
  const r = await agent.requestApproval({ loginHint: 'alice', scope: 'openid', bindingMessage: 'K-1' });
  await agent.waitForApproval(r);
  const polls = polled();
  assert.equal(polls.length, 3);
  const jtis = new Set();
  for (const p of polls) {
    const actor = p.form.get('actor_token');
    assert.equal(p.form.get('actor_token_type'), 'urn:ietf:params:oauth:token-type:jwt');
    assert.equal(decodeProtectedHeader(actor).typ, 'actor+jwt');
    assert.equal(decodeJwt(actor).aud, `${ISSUER}/agent-auth/actor`);
    jtis.add(decodeJwt(actor).jti);
    assert.equal(p.form.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  }
  assert.equal(jtis.size, 3, 'one actor JWT per poll');
});

test('a cached actor token the server no longer accepts: the next poll sends a new one', async () => {
  let refused = false;
  const { agent, polled, ccCount } = await setup({ answers: ['token'] });
  const base = agent.realm.fetch;
  // the first poll is refused for its actor token (the agent's session ended), then the server answers as before
  Object.defineProperty(agent.realm, 'fetch', {
    value: async (input, init) => {
      const body = init?.body instanceof URLSearchParams ? init.body : new URLSearchParams(typeof init?.body === 'string' ? init.body : '');
      if (!refused && body.get('grant_type') === CIBA) {
        refused = true;
        return json(400, { error: 'invalid_grant', error_description: 'Invalid actor_token: not an active access token of this realm' });
      }
      return base(input, init);
    },
  });
  const r = await agent.requestApproval({ loginHint: 'alice', scope: 'openid', bindingMessage: 'R-1' });
  await agent.actorToken();
  const ts = await agent.waitForApproval(r);
  assert.equal(ts.act.client_id, 'calendar-agent');
  assert.equal(ccCount(), 2, 'a new client-credentials token after the refusal');
  assert.equal(polled().length, 1);
});
