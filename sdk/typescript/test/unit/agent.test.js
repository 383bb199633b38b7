// AgentAuth against the fake realm: discovery, the actor token (caching and renewal timing, signed actor+jwt),
// private_key_jwt, the exchange request, error mapping through oauth4webapi, and the host side of requested_actor.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { calculatePKCECodeChallenge } from 'oauth4webapi';
import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { AgentAuth, AgentAuthError, GrantRevoked, NetworkError, UpstreamUnavailable } from '../../dist/index.js';
import { ISSUER, TOKEN_ENDPOINT, clock, fakeRealm, json, jwt } from './fake.js';

/** The client id and secret of an HTTP Basic header (RFC 6749 2.3.1: each form-urlencoded). */
function basic(header) {
  assert.match(header ?? '', /^Basic /);
  const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  return [decodeURIComponent(id), decodeURIComponent(secret)];
}

/** A token endpoint issuing client-credentials and exchanged tokens (lifetime s) at the clock's time. */
function tokenEndpoint(now, { lifetime = 300, onExchange } = {}) {
  return async (req) => {
    const grant = req.form.get('grant_type');
    if (grant === 'client_credentials') {
      return json(200, { access_token: await jwt({ sub: 'sa-cal', azp: 'calendar-agent', n: Math.random() }, { now: now(), lifetime }), token_type: 'Bearer', expires_in: lifetime });
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:token-exchange') {
      if (onExchange) return onExchange(req);
      return json(200, {
        access_token: await jwt({ sub: 'user-1', azp: 'calendar-agent', scope: 'openid', act: { sub: 'sa-cal', client_id: 'calendar-agent', iss: ISSUER } }, { now: now(), lifetime }),
        token_type: 'Bearer',
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        expires_in: lifetime,
      });
    }
    return json(400, { error: 'unsupported_grant_type' });
  };
}

test('discover reads the metadata; the issuer must match; http only for loopback unless allowed', async () => {
  const fake = fakeRealm({});
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: fake.fetch });
  assert.equal(agent.issuer, ISSUER);
  assert.equal(agent.realm.as.token_endpoint, TOKEN_ENDPOINT);
  assert.equal(fake.requests[0].url.href, `${ISSUER}/.well-known/openid-configuration`);
  assert.ok(!inspect(agent).includes('"s"') && !JSON.stringify(agent).includes('secret'));

  const other = fakeRealm({}, { metadata: { issuer: 'https://evil.test/realms/demo' } });
  const e = await AgentAuth.discover({ issuer: ISSUER, clientId: 'a', clientSecret: 's', fetch: other.fetch }).catch((x) => x);
  assert.ok(e instanceof AgentAuthError);
  assert.equal(e.code, 'discovery_failed');

  const insecure = await AgentAuth.discover({ issuer: 'http://kc.example/realms/demo', clientId: 'a', clientSecret: 's', fetch: fake.fetch }).catch((x) => x);
  assert.ok(insecure instanceof AgentAuthError, `plain http to a non-loopback host: ${insecure}`);

  await assert.rejects(AgentAuth.discover({ issuer: ISSUER, clientId: 'a', fetch: fake.fetch }), (x) => x.code === 'invalid_configuration');
  await assert.rejects(AgentAuth.discover({ issuer: ISSUER, clientId: '', clientSecret: 's', fetch: fake.fetch }), (x) => x.code === 'invalid_configuration');
});

test('client-credentials actor token: cached, renewed 30 s before expiry, one request for parallel callers', async () => {
  const now = clock();
  const fake = fakeRealm({ token: tokenEndpoint(now, { lifetime: 300 }) });
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 'calendar-agent-secret', fetch: fake.fetch, now });
  const [a, b, c] = await Promise.all([agent.actorToken(), agent.actorToken(), agent.actorToken()]);
  assert.equal(fake.tokenRequests().length, 1, 'parallel callers share one request');
  assert.ok(a === b && b === c);
  const req = fake.tokenRequests()[0];
  assert.equal(req.form.get('grant_type'), 'client_credentials');
  assert.deepEqual(basic(req.headers.get('authorization')), ['calendar-agent', 'calendar-agent-secret']);
  assert.equal(agent.actorTokenType, 'urn:ietf:params:oauth:token-type:access_token');

  now.advance(269_000); // 31 s left: still cached
  assert.equal(await agent.actorToken(), a);
  assert.equal(fake.tokenRequests().length, 1);
  now.advance(1_000); // 30 s left: renewed
  const renewed = await agent.actorToken();
  assert.notEqual(renewed, a);
  assert.equal(fake.tokenRequests().length, 2);
});

test('renewBeforeSeconds is configurable', async () => {
  const now = clock();
  const fake = fakeRealm({ token: tokenEndpoint(now, { lifetime: 120 }) });
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: fake.fetch, now, renewBeforeSeconds: 100 });
  const a = await agent.actorToken();
  now.advance(19_000);
  assert.equal(await agent.actorToken(), a);
  now.advance(1_000);
  assert.notEqual(await agent.actorToken(), a);
});

test('signed actor+jwt: header, claims, a fresh jti each time, verifiable with the public key; private_key_jwt client auth', async () => {
  const now = clock(Date.now());
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const fake = fakeRealm({ token: tokenEndpoint(now) });
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'my-agent', privateKey, kid: 'k1', fetch: fake.fetch, now });
  assert.equal(agent.actorTokenType, 'urn:ietf:params:oauth:token-type:jwt');
  const t1 = await agent.actorToken();
  const t2 = await agent.actorToken();
  assert.equal(fake.tokenRequests().length, 0, 'an actor JWT needs no request');
  const h = decodeProtectedHeader(t1);
  assert.deepEqual([h.typ, h.alg, h.kid], ['actor+jwt', 'ES256', 'k1']);
  const { payload: p1 } = await jwtVerify(t1, publicKey, { issuer: 'my-agent', subject: 'my-agent', audience: `${ISSUER}/agent-auth/actor`, typ: 'actor+jwt', currentDate: new Date(now()) });
  const { payload: p2 } = await jwtVerify(t2, publicKey, { audience: `${ISSUER}/agent-auth/actor`, currentDate: new Date(now()) });
  assert.equal(p1.exp - p1.iat, 60);
  assert.ok(p1.jti && p2.jti && p1.jti !== p2.jti);
  assert.deepEqual([p1.aud], [`${ISSUER}/agent-auth/actor`]);

  await agent.exchange({ subjectToken: 'user-token' });
  const req = fake.tokenRequests()[0];
  assert.equal(req.form.get('actor_token_type'), 'urn:ietf:params:oauth:token-type:jwt');
  assert.equal(req.headers.get('authorization'), null);
  assert.equal(req.form.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  const { payload: ca, protectedHeader } = await jwtVerify(req.form.get('client_assertion'), publicKey, { issuer: 'my-agent', subject: 'my-agent', currentDate: new Date(now()) });
  assert.equal(protectedHeader.kid, 'k1');
  assert.notEqual(protectedHeader.typ, 'actor+jwt');
  assert.ok([ca.aud].flat().includes(ISSUER), `client assertion aud ${ca.aud}`);
  assert.notEqual(ca.jti, decodeProtectedHeader(req.form.get('actor_token')).jti);
});

test('private keys as a JWK or a KeyObject (RSA: RS256 by default); client credentials with a key', async () => {
  const now = clock(Date.now());
  const fake = fakeRealm({ token: tokenEndpoint(now) });
  const { privateKey: rsa, publicKey: rsaPub } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const a = await AgentAuth.discover({ issuer: ISSUER, clientId: 'rsa-agent', privateKey: rsa, fetch: fake.fetch, now });
  const t = await a.actorToken();
  assert.equal(decodeProtectedHeader(t).alg, 'RS256');
  await jwtVerify(t, rsaPub, { currentDate: new Date(now()) });

  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'from-jwk' };
  const b = await AgentAuth.discover({ issuer: ISSUER, clientId: 'jwk-agent', privateKey: jwk, fetch: fake.fetch, now, actorTokenKind: 'client_credentials' });
  assert.equal(b.actorTokenType, 'urn:ietf:params:oauth:token-type:access_token');
  await b.actorToken();
  const cc = fake.tokenRequests().at(-1);
  assert.equal(cc.form.get('grant_type'), 'client_credentials');
  assert.equal(decodeProtectedHeader(cc.form.get('client_assertion')).kid, 'from-jwk');

  await assert.rejects(AgentAuth.discover({ issuer: ISSUER, clientId: 'x', privateKey: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }, fetch: fake.fetch }), (e) => e.code === 'invalid_configuration');
});

test('exchange sends subject, actor, resource, audience and scope; answers a TokenSet with act', async () => {
  const now = clock(Date.now());
  const fake = fakeRealm({ token: tokenEndpoint(now) });
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: fake.fetch, now });
  const t = await agent.exchange({ subjectToken: 'the-user-token', resource: ['https://r1', 'https://r2'], audience: 'plain-service', scope: ['openid', 'profile'] });
  assert.equal(t.act.client_id, 'calendar-agent');
  assert.equal(t.sub, 'user-1');
  const [cc, ex] = fake.tokenRequests();
  assert.equal(cc.form.get('grant_type'), 'client_credentials');
  const f = ex.form;
  assert.equal(f.get('grant_type'), 'urn:ietf:params:oauth:grant-type:token-exchange');
  assert.equal(f.get('subject_token'), 'the-user-token');
  assert.equal(f.get('subject_token_type'), 'urn:ietf:params:oauth:token-type:access_token');
  assert.equal(f.get('actor_token'), await agent.actorToken());
  assert.equal(f.get('actor_token_type'), 'urn:ietf:params:oauth:token-type:access_token');
  assert.deepEqual(f.getAll('resource'), ['https://r1', 'https://r2']);
  assert.deepEqual(f.getAll('audience'), ['plain-service']);
  assert.equal(f.get('scope'), 'openid profile');
  assert.equal(f.get('requested_token_type'), null);
  await agent.exchange({ subjectToken: 'u', requestedTokenType: 'refresh_token' });
  assert.equal(fake.tokenRequests().at(-1).form.get('requested_token_type'), 'urn:ietf:params:oauth:token-type:refresh_token');
  await assert.rejects(agent.exchange({ subjectToken: '' }), (e) => e.code === 'invalid_request');
});

test('exchange errors are mapped from the server answer, and carry no token', async () => {
  const now = clock(Date.now());
  const subject = await jwt({ sub: 'user-1' }, { now: now() });
  let answer;
  const fake = fakeRealm({ token: tokenEndpoint(now, { onExchange: () => answer }) });
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: fake.fetch, now });

  answer = json(400, { error: 'invalid_request', error_description: 'No active delegation grant from the user to agent calendar-agent via host client agent-host' });
  const e = await agent.exchange({ subjectToken: subject }).catch((x) => x);
  assert.ok(e instanceof GrantRevoked, `${e?.name}: ${e?.message}`);
  assert.equal(e.status, 400);
  for (const text of [e.message, String(e), JSON.stringify(e), inspect(e, { showHidden: true })]) assert.ok(!text.includes(subject));

  answer = json(400, { error: 'invalid_target', error_description: 'Resource not allowed for agent calendar-agent: x' });
  const t = await agent.exchange({ subjectToken: subject, resource: 'x' }).catch((x) => x);
  assert.equal(t.constructor, AgentAuthError);
  assert.equal(t.code, 'invalid_target');

  answer = new Response('<html>bad gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } });
  const g = await agent.exchange({ subjectToken: subject }).catch((x) => x);
  assert.ok(g instanceof UpstreamUnavailable, `${g?.name}: ${g?.message}`);
  assert.equal(g.status, 502);
});

test('a cached actor token the server no longer accepts is replaced once', async () => {
  const now = clock(Date.now());
  let refuse = 1;
  const fake = fakeRealm({
    token: tokenEndpoint(now, {
      onExchange: async () => (refuse-- > 0 ? json(400, { error: 'invalid_request', error_description: 'Invalid actor_token: not an active access token of this realm' }) : json(200, { access_token: await jwt({ sub: 'u', act: { client_id: 'calendar-agent' } }, { now: now() }), token_type: 'Bearer' })),
    }),
  });
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: fake.fetch, now });
  await agent.actorToken(); // cached now
  const t = await agent.exchange({ subjectToken: 'u' });
  assert.equal(t.act.client_id, 'calendar-agent');
  assert.deepEqual(fake.tokenRequests().map((r) => r.form.get('grant_type').split(':').pop()), ['client_credentials', 'token-exchange', 'client_credentials', 'token-exchange']);
});

test('an unreachable server is NetworkError network_error (not UpstreamUnavailable)', async () => {
  const fake = fakeRealm({});
  let down = false;
  const fetchImpl = async (url, init) => {
    if (down) throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    return fake.fetch(url, init);
  };
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: fetchImpl });
  down = true;
  const e = await agent.actorToken().catch((x) => x);
  assert.ok(e instanceof NetworkError && !(e instanceof UpstreamUnavailable), `${e?.name}`);
  assert.equal(e.code, 'network_error');
  assert.equal(e.status, undefined);
});

test('host side of requested_actor: authorization URL with PKCE S256; redeemCode sends the actor token and checks iss and state', async () => {
  const now = clock(Date.now());
  const fake = fakeRealm({
    token: async (req) => {
      if (req.form.get('grant_type') === 'client_credentials') return tokenEndpoint(now)(req);
      return json(200, { access_token: await jwt({ sub: 'user-1', azp: 'agent-host', act: { client_id: 'calendar-agent' } }, { now: now() }), token_type: 'Bearer', expires_in: 300 });
    },
  });
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: fake.fetch, now });
  const req = await agent.authorizationUrl({ clientId: 'agent-host', redirectUri: 'http://127.0.0.1:9/cb', scope: 'openid profile', resource: `${ISSUER}/agent-auth/connectors/demo-calendar` });
  const u = new URL(req.url);
  const q = u.searchParams;
  assert.equal(`${u.origin}${u.pathname}`, `${ISSUER}/protocol/openid-connect/auth`);
  assert.deepEqual([q.get('client_id'), q.get('response_type'), q.get('requested_actor'), q.get('scope'), q.get('state'), q.get('code_challenge_method')], ['agent-host', 'code', 'calendar-agent', 'openid profile', req.state, 'S256']);
  assert.equal(q.get('code_challenge'), await calculatePKCECodeChallenge(req.codeVerifier));
  assert.equal(q.get('resource'), `${ISSUER}/agent-auth/connectors/demo-calendar`);
  assert.ok(req.codeVerifier.length >= 43);

  const callback = `http://127.0.0.1:9/cb?code=the-code&state=${req.state}&iss=${encodeURIComponent(ISSUER)}`;
  const t = await agent.redeemCode({ callbackUrl: callback, state: req.state, codeVerifier: req.codeVerifier, redirectUri: 'http://127.0.0.1:9/cb', clientId: 'agent-host', clientSecret: 'agent-host-secret' });
  assert.equal(t.act.client_id, 'calendar-agent');
  const r = fake.tokenRequests().at(-1);
  assert.equal(r.form.get('grant_type'), 'authorization_code');
  assert.equal(r.form.get('code'), 'the-code');
  assert.equal(r.form.get('code_verifier'), req.codeVerifier);
  assert.equal(r.form.get('actor_token'), await agent.actorToken());
  assert.equal(r.form.get('actor_token_type'), 'urn:ietf:params:oauth:token-type:access_token');
  assert.deepEqual(basic(r.headers.get('authorization')), ['agent-host', 'agent-host-secret']);

  const codeRequests = () => fake.tokenRequests().filter((x) => x.form.get('grant_type') === 'authorization_code').length;
  const before = codeRequests();
  const wrongState = await agent.redeemCode({ callbackUrl: callback, state: 'other', codeVerifier: req.codeVerifier, redirectUri: 'x', clientId: 'agent-host', clientSecret: 's' }).catch((x) => x);
  assert.ok(wrongState instanceof AgentAuthError && wrongState.code === 'invalid_response', `${wrongState?.name} ${wrongState?.code}`);
  const wrongIss = await agent.redeemCode({ callbackUrl: `http://127.0.0.1:9/cb?code=c&state=${req.state}&iss=https%3A%2F%2Fevil`, state: req.state, codeVerifier: 'v', redirectUri: 'x', clientId: 'agent-host', clientSecret: 's' }).catch((x) => x);
  assert.ok(wrongIss instanceof AgentAuthError);
  const denied = await agent.redeemCode({ callbackUrl: `http://127.0.0.1:9/cb?error=access_denied&state=${req.state}&iss=${encodeURIComponent(ISSUER)}`, state: req.state, codeVerifier: 'v', redirectUri: 'x', clientId: 'agent-host', clientSecret: 's' }).catch((x) => x);
  assert.equal(denied.name, 'AccessDenied');
  assert.equal(codeRequests(), before, 'no token request for a refused redirect');
});

test('AgentAuth.host: a plain login (no requested_actor) redeemed without actor_token', async () => {
  const now = clock(Date.now());
  const fake = fakeRealm({ token: async () => json(200, { access_token: await jwt({ sub: 'user-1', azp: 'agent-host' }, { now: now() }), token_type: 'Bearer' }) });
  const host = await AgentAuth.host({ issuer: ISSUER, clientId: 'agent-host', clientSecret: 'agent-host-secret', fetch: fake.fetch, now });
  const req = await host.authorizationUrl({ redirectUri: 'http://127.0.0.1:9/cb' });
  assert.equal(new URL(req.url).searchParams.get('requested_actor'), null);
  assert.equal(new URL(req.url).searchParams.get('scope'), 'openid');
  const t = await host.redeemCode({ code: 'c', codeVerifier: req.codeVerifier, redirectUri: 'http://127.0.0.1:9/cb' });
  assert.equal(t.sub, 'user-1');
  const r = fake.tokenRequests().at(-1);
  assert.equal(r.form.get('actor_token'), null);
  assert.equal(r.form.get('code'), 'c');
  // an actor token handed over by the agent's process
  await host.redeemCode({ code: 'c2', codeVerifier: req.codeVerifier, redirectUri: 'http://127.0.0.1:9/cb', actor: { token: 'signed-actor-jwt', type: 'urn:ietf:params:oauth:token-type:jwt' } });
  const r2 = fake.tokenRequests().at(-1);
  assert.deepEqual([r2.form.get('actor_token'), r2.form.get('actor_token_type'), r2.form.get('code')], ['signed-actor-jwt', 'urn:ietf:params:oauth:token-type:jwt', 'c2']);
});
