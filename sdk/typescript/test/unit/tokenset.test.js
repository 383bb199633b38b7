// TokenSet: what it exposes (expiresAt, scope, aud, act), and that the tokens never show in its printed forms.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect, format } from 'node:util';
import { TokenSet } from '../../dist/index.js';
import { jwt } from './fake.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const ACT = { sub: 'sa-research', client_id: 'research-agent', iss: 'https://kc.test/realms/demo', act: { sub: 'sa-cal', client_id: 'calendar-agent', iss: 'https://kc.test/realms/demo' } };

test('claims of a delegated token: expiresAt from exp, scope and aud as arrays, act decoded', async () => {
  const access = await jwt({ sub: 'user-1', azp: 'research-agent', aud: 'plain-service', scope: 'openid profile', act: ACT }, { now: NOW, lifetime: 300 });
  const refresh = await jwt({ typ: 'Refresh' }, { now: NOW });
  const t = new TokenSet({ access_token: access, refresh_token: refresh, token_type: 'bearer', expires_in: 299, scope: 'openid profile', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' }, { now: NOW });
  assert.equal(t.accessToken, access);
  assert.equal(t.refreshToken, refresh);
  assert.ok(t.expiresAt instanceof Date);
  assert.equal(t.expiresAt.getTime(), NOW + 300_000);
  assert.deepEqual(t.scope, ['openid', 'profile']);
  assert.deepEqual(t.aud, ['plain-service']);
  assert.deepEqual(t.act, ACT);
  assert.deepEqual(t.actChain(), ['research-agent', 'calendar-agent']);
  assert.equal(t.sub, 'user-1');
  assert.equal(t.claims.azp, 'research-agent');
  assert.equal(t.expired(0, NOW), false);
  assert.equal(t.expired(0, NOW + 300_000), true);
  assert.equal(t.expired(30, NOW + 269_000), false);
  assert.equal(t.expired(30, NOW + 270_000), true);
});

test('scope from the token when the answer has none; aud list; no act', async () => {
  const access = await jwt({ sub: 'u', aud: ['a', 'b'], scope: 'openid email' }, { now: NOW });
  const t = new TokenSet({ access_token: access }, { now: NOW });
  assert.deepEqual(t.scope, ['openid', 'email']);
  assert.deepEqual(t.aud, ['a', 'b']);
  assert.equal(t.act, undefined);
  assert.deepEqual(t.actChain(), []);
  assert.equal(t.refreshToken, undefined);
});

test('an opaque (upstream) token: no claims, expiresAt from expires_in', () => {
  const t = new TokenSet({ access_token: 'opaque-upstream-token-value', expires_in: 60, connection_id: 'c-1' }, { now: NOW });
  assert.deepEqual({ ...t.claims }, {});
  assert.equal(t.expiresAt.getTime(), NOW + 60_000);
  assert.equal(t.connectionId, 'c-1');
  assert.deepEqual(t.scope, []);
  assert.deepEqual(t.aud, []);
  const printed = [JSON.stringify(t), String(t), inspect(t), format('%o', t)];
  for (const p of printed) assert.ok(!p.includes('opaque-upstream-token-value'), p);
});

test('no token in JSON, toString, util.inspect, console formatting or spread', async () => {
  const access = await jwt({ sub: 'user-1', act: ACT }, { now: NOW });
  const refresh = await jwt({ typ: 'Refresh', sub: 'user-1' }, { now: NOW });
  const t = new TokenSet({ access_token: access, refresh_token: refresh, expires_in: 300 }, { now: NOW });
  const forms = {
    json: JSON.stringify(t),
    nested: JSON.stringify({ tokens: [t] }),
    string: String(t),
    template: `${t}`,
    inspect: inspect(t, { showHidden: true, depth: 10 }),
    format: format('%o %O %s %j', t, t, t, t),
    spread: JSON.stringify({ ...t }) + inspect({ ...t }),
    keys: Object.keys(t).join(','),
  };
  for (const [how, text] of Object.entries(forms)) {
    assert.ok(!text.includes(access) && !text.includes(refresh), `${how} shows a token`);
    assert.ok(!/eyJ[A-Za-z0-9_-]{8,}\.eyJ/.test(text), `${how} shows something token-shaped`);
  }
  const j = JSON.parse(forms.json);
  assert.equal(j.accessToken, '[redacted]');
  assert.equal(j.refreshToken, '[redacted]');
  assert.equal(j.expiresAt, new Date(NOW + 300_000).toISOString());
  assert.deepEqual(j.act, ACT);
  assert.match(forms.inspect, /TokenSet/);
  assert.match(forms.string, /act=calendar-agent|act=research-agent</);
});

test('a response without an access_token is refused', () => {
  assert.throws(() => new TokenSet({}), TypeError);
  assert.throws(() => new TokenSet({ access_token: '' }), TypeError);
});
