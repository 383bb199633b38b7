// Error mapping against the server's real messages (provider: DelegationRules, BrokeredAccess, ProxyResource,
// VaultExchangeProvider, DelegatedTokenPostProcessor), serialisation, and no token in any printed form.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import {
  AccessDenied,
  AgentAuthError,
  ConnectionNotFound,
  ConnectionRequired,
  GrantRevoked,
  InsufficientScope,
  NetworkError,
  UpstreamUnavailable,
  errorFromResponse,
  isAccessDenied,
  isAgentAuthError,
  isConnectionNotFound,
  isConnectionRequired,
  isGrantRevoked,
  isInsufficientScope,
  isNetworkError,
  isUpstreamUnavailable,
} from '../../dist/index.js';
import { networkError } from '../../dist/errors.js';
import { readFileSync } from 'node:fs';

// the cross-language fixture: the same file is read by the Python SDK's tests (tests/test_errors_json.py)
const FIXTURE = JSON.parse(readFileSync(new URL('../../../testdata/errors.json', import.meta.url), 'utf8'));

const CONNECT = 'http://localhost:8080/realms/agents-demo/agent-auth/connectors/demo-calendar/connect?client_id=calendar-agent';
const ctx = { connector: 'demo-calendar', connectUri: 'http://fallback/connect' };
const map = (status, error, error_description, extra = {}) => errorFromResponse(status, { error, error_description, ...extra }, ctx);

test('connection_required from the proxy (403) and the vault exchange (400) is ConnectionRequired with the absolute link', () => {
  for (const status of [403, 400]) {
    const e = map(status, 'connection_required', 'The user has no active account linked on connector demo-calendar', { connect_uri: CONNECT });
    assert.ok(e instanceof ConnectionRequired && e instanceof AgentAuthError && e instanceof Error);
    assert.equal(e.code, 'connection_required');
    assert.equal(e.status, status);
    assert.equal(e.connector, 'demo-calendar');
    assert.equal(e.connectUri, CONNECT);
    assert.ok(isConnectionRequired(e) && isAgentAuthError(e) && !isGrantRevoked(e));
  }
  // without connect_uri in the answer: the context's link
  assert.equal(map(403, 'connection_required', 'x').connectUri, 'http://fallback/connect');
});

test('a revoked, expired or missing grant is GrantRevoked (exchange, chain hop, refresh, proxy, status, vault exchange)', () => {
  const cases = [
    [400, 'invalid_request', 'No active delegation grant from the user to agent calendar-agent via host client agent-host'],
    [400, 'invalid_request', 'The delegation grant this token was issued under (agent calendar-agent via host client agent-host) is no longer active'],
    [400, 'invalid_request', 'The user has not consented to agent research-agent acting for agent calendar-agent via host client agent-host'],
    [400, 'invalid_grant', 'The delegation grant this token was issued under (agent calendar-agent via host client agent-host) is no longer active'],
    [401, 'invalid_token', 'The delegation is no longer valid: The delegation grant this token was issued under (agent calendar-agent via host client agent-host) is no longer active'],
    [400, 'invalid_request', 'The delegation is no longer valid: The delegation grant this token was issued under (agent calendar-agent via host client agent-host) is no longer active'],
    [400, 'invalid_grant', 'The delegation grant was revoked'],
  ];
  for (const [status, code, description] of cases) {
    const e = map(status, code, description);
    assert.ok(e instanceof GrantRevoked, `${code} "${description}" -> ${e.name}`);
    assert.equal(e.code, code);
    assert.equal(e.status, status);
    assert.equal(e.description, description);
    assert.ok(isGrantRevoked(e));
  }
});

test('other invalid_request / invalid_token / invalid_target answers stay plain AgentAuthError with the server code', () => {
  const cases = [
    [400, 'invalid_request', 'Invalid subject_token: not an active access token of this realm'],
    [400, 'invalid_request', 'Invalid actor_token: this jti was already used'],
    [400, 'invalid_request', 'The actor and the subject are the same'],
    [401, 'invalid_token', 'The token is not an active access token of this realm'],
    [400, 'invalid_target', 'Resource not allowed for agent calendar-agent: https://other'],
    [400, 'invalid_target', 'Unknown connector: nope'],
    [404, 'not_found', 'There is no connector nope'],
    [401, 'invalid_client', 'Invalid client or Invalid client credentials'],
  ];
  for (const [status, code, description] of cases) {
    const e = map(status, code, description);
    assert.equal(e.constructor, AgentAuthError, `${code} "${description}" -> ${e.name}`);
    assert.equal(e.name, 'AgentAuthError');
    assert.equal(e.code, code);
    assert.equal(e.status, status);
  }
});

test('access_denied, insufficient_scope and the upstream failures have their own classes', () => {
  const denied = map(403, 'access_denied', "Connector demo-calendar is not in the user's delegation grant");
  assert.ok(denied instanceof AccessDenied && isAccessDenied(denied));
  for (const d of ["Connector demo-calendar is not in the user's delegation grant", 'Connector demo-calendar is not allowed for agent research-agent']) {
    const x = map(400, 'invalid_target', d);
    assert.ok(x instanceof AccessDenied, `invalid_target "${d}" -> ${x.name}`);
    assert.equal(x.code, 'invalid_target');
  }
  for (const d of ['Only the acting agent (calendar-agent) may exchange this token for an upstream token', 'Agent calendar-agent does not allow host client other-host']) {
    const x = map(400, 'unauthorized_client', d);
    assert.ok(x instanceof AccessDenied, `unauthorized_client "${d}" -> ${x.name}`);
    assert.equal(x.code, 'unauthorized_client');
  }
  const scope = map(403, 'insufficient_scope', 'Only a delegated token (with act) reaches connected accounts');
  assert.ok(scope instanceof InsufficientScope && isInsufficientScope(scope));
  const invalidScope = map(400, 'invalid_scope', 'Scope not allowed for this delegation: phone');
  assert.ok(invalidScope instanceof InsufficientScope && invalidScope.code === 'invalid_scope');
  const notFound = errorFromResponse(404, { error: 'connection_not_found', error_description: 'No active connection abc of this user on connector demo-calendar' }, { ...ctx, connectionId: 'abc' });
  assert.ok(notFound instanceof ConnectionNotFound && isConnectionNotFound(notFound) && !isConnectionRequired(notFound));
  assert.deepEqual([notFound.code, notFound.status, notFound.connector, notFound.connectionId], ['connection_not_found', 404, 'demo-calendar', 'abc']);
  for (const [status, code] of [[502, 'upstream_unreachable'], [504, 'upstream_timeout'], [502, 'upstream_unavailable'], [502, 'upstream_response_too_large'], [502, 'upstream_refused'], [503, 'temporarily_unavailable'], [400, 'temporarily_unavailable']]) {
    const e = map(status, code, 'x');
    assert.ok(e instanceof UpstreamUnavailable && isUpstreamUnavailable(e), `${status} ${code}`);
    assert.equal(e.code, code);
  }
  const bare = errorFromResponse(503, undefined, {});
  assert.ok(bare instanceof UpstreamUnavailable);
  assert.equal(bare.code, 'http_503');
  const html = errorFromResponse(500, '<html>', {});
  assert.equal(html.code, 'http_500');
  assert.equal(html.constructor, AgentAuthError);
  assert.equal(errorFromResponse(418, {}, {}).code, 'http_418');
  assert.equal(errorFromResponse(200, {}, {}).code, 'invalid_response');
  assert.equal(errorFromResponse(undefined, {}, {}).code, 'invalid_response');
});

test('network failures are NetworkError (not UpstreamUnavailable, never GrantRevoked) without a status', () => {
  const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  const e = networkError(refused);
  assert.ok(e instanceof NetworkError && isNetworkError(e) && e instanceof AgentAuthError);
  assert.ok(!(e instanceof UpstreamUnavailable) && !isUpstreamUnavailable(e) && !isGrantRevoked(e));
  assert.equal(e.name, 'NetworkError');
  assert.equal(e.code, 'network_error');
  assert.equal(e.status, undefined);
  assert.match(e.description, /ECONNREFUSED/);
  const t = networkError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  assert.ok(t instanceof NetworkError);
  assert.equal(t.code, 'network_error');
  assert.match(t.description, /timeout/);
  assert.deepEqual(JSON.parse(JSON.stringify(t)), { type: 'NetworkError', code: 'network_error', status: null, description: t.description, message: `network_error: ${t.description}` });
});

test('toJSON is plain JSON; fromJSON rebuilds the class; nothing token-shaped survives', () => {
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
  const e = map(403, 'connection_required', `no account for ${token}`, { connect_uri: CONNECT });
  const j = JSON.parse(JSON.stringify(e));
  assert.deepEqual(Object.keys(j), ['type', 'code', 'status', 'description', 'message', 'connector', 'connect_uri']);
  assert.equal(j.type, 'ConnectionRequired');
  assert.equal(j.connect_uri, CONNECT);
  assert.equal(e.connectUri, CONNECT);
  assert.ok(e.message.includes(`(connect at ${CONNECT})`), e.message);
  for (const text of [JSON.stringify(e), String(e), e.message, e.description, inspect(e, { showHidden: true, depth: 5 }), e.stack]) {
    assert.ok(!text.includes(token) && !text.includes('eyJzdWIi'), `token in: ${text.slice(0, 120)}`);
  }
  assert.match(e.description, /\[redacted\]/);
  const back = AgentAuthError.fromJSON(j);
  assert.ok(back instanceof ConnectionRequired);
  assert.equal(back.connectUri, CONNECT);
  assert.equal(back.status, 403);
  assert.ok(AgentAuthError.fromJSON(JSON.parse(JSON.stringify(map(401, 'invalid_token', 'The delegation is no longer valid: x')))) instanceof GrantRevoked);
  assert.ok(AgentAuthError.fromJSON({ type: 'UpstreamUnavailable', code: 'upstream_timeout', message: 'm' }) instanceof UpstreamUnavailable);
  const nf = AgentAuthError.fromJSON({ type: 'ConnectionNotFound', code: 'connection_not_found', message: 'm', status: 404, connector: 'demo-calendar', connection_id: 'abc' });
  assert.ok(nf instanceof ConnectionNotFound);
  assert.deepEqual([nf.code, nf.status, nf.connector, nf.connectionId], ['connection_not_found', 404, 'demo-calendar', 'abc']);
  const plain = AgentAuthError.fromJSON({ type: 'SomethingNew', code: 'x', status: null, description: null });
  assert.equal(plain.constructor, AgentAuthError);
  assert.deepEqual(plain.toJSON(), { type: 'AgentAuthError', code: 'x', status: null, description: null, message: 'x' });
});

test('cross-language fixture (sdk/testdata/errors.json): fromJSON then toJSON gives every value back, key order included', () => {
  const types = new Set();
  for (const value of FIXTURE.errors) {
    const back = AgentAuthError.fromJSON(value);
    assert.equal(back.name, value.type);
    assert.ok(isAgentAuthError(back) && back instanceof Error);
    assert.equal(JSON.stringify(back), JSON.stringify(value));
    assert.equal(back.message, value.message);
    types.add(value.type);
  }
  // every exported class appears
  assert.deepEqual([...types].sort(), ['AccessDenied', 'AgentAuthError', 'ApprovalExpired', 'ConnectionNotFound', 'ConnectionRequired', 'GrantRevoked', 'InsufficientScope', 'NetworkError', 'UpstreamUnavailable']);
});

test('cross-language fixture (sdk/testdata/errors.json): the server\'s answers map to the same classes as in Python', () => {
  for (const c of FIXTURE.answers.cases) {
    const e = errorFromResponse(c.status, c.body, { connector: c.connector, connectionId: c.connection_id });
    assert.equal(e.name, c.type, `${c.status} ${JSON.stringify(c.body)}`);
    assert.equal(e.code, c.code ?? c.body.error);
    assert.equal(e.status, c.status);
    const j = e.toJSON();
    if (c.type === 'ConnectionRequired') assert.deepEqual([j.connector, j.connect_uri], [c.connector, c.body.connect_uri]);
    if (c.type === 'ConnectionNotFound') assert.deepEqual([j.connector, j.connection_id], [c.connector, c.connection_id]);
    assert.equal(JSON.stringify(AgentAuthError.fromJSON(JSON.parse(JSON.stringify(e)))), JSON.stringify(e));
  }
});

test('the is* helpers recognise errors by brand too (two copies of the package), and reject look-alikes', () => {
  const e = map(401, 'invalid_token', 'The delegation is no longer valid: gone');
  const foreign = Object.create(e); // stands for an instance of another copy's class: same brand and name
  assert.ok(isGrantRevoked(foreign) && isAgentAuthError(foreign));
  assert.ok(!isGrantRevoked({ name: 'GrantRevoked', code: 'invalid_token' }));
  assert.ok(!isAgentAuthError(new Error('x')) && !isAgentAuthError(null) && !isConnectionRequired(undefined));
});

test('descriptions are bounded', () => {
  const e = map(400, 'invalid_request', 'x'.repeat(5000));
  assert.equal(e.description.length, 500);
  // bounded once: scrubbing again (fromJSON) changes nothing
  assert.equal(AgentAuthError.fromJSON(e.toJSON()).description, e.description);
});
