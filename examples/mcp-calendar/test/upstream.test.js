// Unit tests of the brokered-proxy tool's logic (no Keycloak needed): `node --test` (npm test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DelegationError } from '../lib/delegation.js';
import {
  accountName,
  connectorResource,
  createUpstream,
  exchangeRefusal,
  interpretProxyAnswer,
  profileOf,
  proxyUrl,
  trustedConnectUri,
} from '../lib/upstream.js';

const issuer = 'http://localhost:8080/realms/agents-demo';
const connector = 'demo-calendar';
const connectorUri = `${issuer}/agent-auth/connectors/${connector}`;
const connectUri = `${connectorUri}/connect?client_id=calendar-agent`;
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

function answer(status, body, connectionId = null) {
  return interpretProxyAnswer({ status, body, connectionId, connector, connectorUri });
}

test('the connector resource URI and proxy URL', () => {
  assert.equal(connectorResource(issuer, connector), connectorUri);
  assert.equal(connectorResource(`${issuer}/`, connector), connectorUri);
  assert.throws(() => connectorResource(issuer, '../admin'));
  assert.throws(() => connectorResource(issuer, 'Demo'));
  assert.throws(() => connectorResource(issuer, undefined));
  assert.equal(proxyUrl(connectorUri, 'userinfo'), `${connectorUri}/proxy/userinfo`);
  assert.equal(proxyUrl(connectorUri, '//userinfo'), `${connectorUri}/proxy/userinfo`);
});

test('account name: preferred_username, login, email, then sub', () => {
  assert.equal(accountName({ preferred_username: 'alice-work', email: 'a@x', sub: 's' }), 'alice-work');
  assert.equal(accountName({ login: 'octocat', email: 'a@x', sub: 1 }), 'octocat');
  assert.equal(accountName({ preferred_username: ' ', email: 'a@x' }), 'a@x');
  assert.equal(accountName({ sub: 42 }), '42');
  assert.equal(accountName({}), null);
  assert.equal(accountName(undefined), null);
});

test('profile: only the allow-listed claims', () => {
  assert.deepEqual(profileOf({ sub: 's', preferred_username: 'p', email: 'e', address: { street: 'x' }, access_token: 't', name: null }), {
    sub: 's',
    preferred_username: 'p',
    email: 'e',
  });
});

test('an upstream answer (X-Connection-Id) is the account', () => {
  const r = answer(200, { sub: 'u1', preferred_username: 'alice-work', email: 'alice@work.example', groups: ['x'] }, 'c-1');
  assert.deepEqual(r, {
    ok: true,
    report: { connector, connection_id: 'c-1', account: 'alice-work', profile: { sub: 'u1', preferred_username: 'alice-work', email: 'alice@work.example' } },
  });
});

test('an upstream error is reported as the upstream\'s, not as the proxy\'s', () => {
  const r = answer(401, { error: 'invalid_token', error_description: 'Token verification failed' }, 'c-1');
  assert.equal(r.ok, false);
  assert.equal(r.error.step, 'upstream');
  assert.equal(r.error.status, 401);
  assert.equal(r.error.error, 'invalid_token');
  assert.equal(r.error.connection_id, 'c-1');
  assert.match(r.error.message, /refused the connected account/);
  const e500 = answer(500, undefined, 'c-1');
  assert.equal(e500.error.error, 'upstream_error');
  assert.match(e500.error.message, /HTTP 500/);
  // a success without any name is not an account
  assert.equal(answer(200, { foo: 1 }, 'c-1').error.error, 'invalid_response');
});

test('connection_required: the connect link, in the message too', () => {
  const r = answer(403, { error: 'connection_required', error_description: 'no account', connect_uri: connectUri });
  assert.equal(r.ok, false);
  assert.equal(r.error.step, 'proxy');
  assert.equal(r.error.status, 403);
  assert.equal(r.error.error, 'connection_required');
  assert.equal(r.error.connect_uri, connectUri);
  assert.equal(r.error.connector, connector);
  assert.ok(r.error.message.includes(connectUri), r.error.message);
});

test('connection_required with a link elsewhere: the link is not passed on', () => {
  for (const bad of [
    'https://evil.example/realms/agents-demo/agent-auth/connectors/demo-calendar/connect',
    `${issuer}/agent-auth/connectors/other/connect?client_id=calendar-agent`,
    `${connectorUri}/connect/../../other/connect`,
    `${connectorUri}/callback?x=1`,
    'javascript:alert(1)',
    'not a url',
    undefined,
  ]) {
    const r = answer(403, { error: 'connection_required', connect_uri: bad });
    assert.equal(r.error.error, 'connection_required');
    assert.equal(r.error.connect_uri, undefined, String(bad));
    assert.ok(!r.error.message.includes('evil'), r.error.message);
  }
  assert.equal(trustedConnectUri(connectUri, connectorUri), connectUri);
  assert.equal(trustedConnectUri(`http://user:pw@localhost:8080/realms/agents-demo/agent-auth/connectors/${connector}/connect`, connectorUri), null);
});

test('the proxy\'s own refusals get clear messages', () => {
  for (const [status, error, pattern] of [
    [401, 'invalid_token', /revoked/],
    [403, 'access_denied', /approve the agent again/],
    [403, 'insufficient_scope', /not a delegated token/],
    [404, 'connection_not_found', /no longer active/],
    [504, 'upstream_timeout', /in time/],
    [502, 'upstream_unreachable', /could not be reached/],
    [503, 'temporarily_unavailable', /vault/],
  ]) {
    const r = answer(status, { error, error_description: 'd' });
    assert.equal(r.ok, false);
    assert.deepEqual([r.error.step, r.error.status, r.error.error], ['proxy', status, error]);
    assert.match(r.error.message, pattern, error);
  }
  assert.equal(answer(500, undefined).error.error, 'server_error');
  assert.equal(answer(418, 'teapot').error.error, 'unexpected_response');
});

test('a refused exchange says why', () => {
  const grant = exchangeRefusal(new DelegationError('token_exchange', 400, 'invalid_target', 'Connector demo-calendar is not in the user\'s delegation grant'), connector);
  assert.match(grant.message, /grant does not include connector demo-calendar/);
  assert.equal(grant.error, 'invalid_target');
  const policy = exchangeRefusal(new DelegationError('token_exchange', 400, 'invalid_target', 'Connector demo-calendar is not allowed for agent x'), connector);
  assert.match(policy.message, /may not ask/);
  const revoked = exchangeRefusal(new DelegationError('token_exchange', 400, 'invalid_grant', 'No active delegation grant'), connector);
  assert.match(revoked.message, /no longer valid/);
});

test('upstreamProfile: exchange for the connector, one proxy call, and no token in what comes back', async () => {
  const calls = [];
  const delegatedTokenFor = async (caller, options) => {
    calls.push({ caller, options });
    return { accessToken: TOKEN, claims: {} };
  };
  const requests = [];
  const fetchImpl = async (url, init) => {
    requests.push({ url, init });
    return new Response(JSON.stringify({ sub: 'u1', preferred_username: 'alice-work', access_token: TOKEN }), {
      status: 200,
      headers: { 'content-type': 'application/json', 'X-Connection-Id': 'c-9' },
    });
  };
  const up = createUpstream({ issuer, connector, upstreamProfilePath: 'userinfo', upstreamTimeoutMs: 1000 }, delegatedTokenFor, { fetchImpl });
  assert.equal(up.connectorUri, connectorUri);
  const r = await up.upstreamProfile('caller-token', { connectionId: 'c-9' });
  assert.deepEqual(calls, [{ caller: 'caller-token', options: { resource: [connectorUri] } }]);
  assert.equal(requests.length, 1);
  assert.equal(requests[0].url, `${connectorUri}/proxy/userinfo`);
  assert.equal(requests[0].init.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(requests[0].init.headers['x-connection-id'], 'c-9');
  assert.equal(requests[0].init.redirect, 'manual');
  assert.equal(r.ok, true);
  assert.equal(r.report.account, 'alice-work');
  assert.equal(r.report.connection_id, 'c-9');
  assert.ok(!JSON.stringify(r).includes(TOKEN), 'no token in the result');
});

test('upstreamProfile: a refused exchange never reaches the proxy', async () => {
  let fetched = false;
  const up = createUpstream(
    { issuer, connector, upstreamProfilePath: 'userinfo', upstreamTimeoutMs: 1000 },
    async () => {
      throw new DelegationError('token_exchange', 400, 'invalid_target', 'Connector demo-calendar is not in the user\'s delegation grant');
    },
    { fetchImpl: async () => { fetched = true; } },
  );
  const r = await up.upstreamProfile('caller-token');
  assert.equal(fetched, false);
  assert.equal(r.ok, false);
  assert.equal(r.error.step, 'token_exchange');
});

test('upstreamProfile: an unreachable proxy is an error result, not a crash', async () => {
  const up = createUpstream(
    { issuer, connector, upstreamProfilePath: 'userinfo', upstreamTimeoutMs: 1000 },
    async () => ({ accessToken: TOKEN, claims: {} }),
    { fetchImpl: async () => { throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }); } },
  );
  const r = await up.upstreamProfile('caller-token');
  assert.equal(r.ok, false);
  assert.equal(r.error.error, 'unreachable');
  assert.match(r.error.message, /ECONNREFUSED/);
  assert.ok(!JSON.stringify(r).includes(TOKEN));
});
