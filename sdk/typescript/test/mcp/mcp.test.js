// Unit tests of keycloak-agent-auth/mcp (no Keycloak needed): `node --test test/mcp/*.test.js` after `npm run build`.
//
// The verifier against locally signed tokens; then a real MCP server (the official SDK's express app, Streamable
// HTTP, stateful sessions) behind McpAgentAuth's bearer middleware, and the SDK's client against it: the caller's
// claims and token reach the agent, ConnectionRequired becomes URL elicitation (-32042) or a tool error with the link,
// other SDK errors become tool errors with their toJSON(), and no token ever reaches the client. The agent is a
// recording double: the exchange and the proxy themselves are tested against the real server by the SDK's e2e suite.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, exportJWK, createLocalJWKSet } from 'jose';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, ElicitationCompleteNotificationSchema, ErrorCode, McpError, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { McpAgentAuth, createTokenVerifier, trustedConnectUri, toolError } from '../../dist/mcp.js';
import { AccessDenied, ConnectionRequired, GrantRevoked, UpstreamUnavailable } from '../../dist/errors.js';
import { TokenSet } from '../../dist/tokens.js';

const issuer = 'http://localhost:8080/realms/agents-demo';
const connector = 'demo-calendar';
const connectorUri = `${issuer}/agent-auth/connectors/${connector}`;
const connectUri = `${connectorUri}/connect?client_id=calendar-agent`;
const TOKEN_SHAPE = /eyJ[A-Za-z0-9_-]{8,}\.eyJ/;

const realmKey = await generateKeyPair('RS256');
const otherKey = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(realmKey.publicKey)), kid: 'realm', alg: 'RS256', use: 'sig' };
const keySet = createLocalJWKSet({ keys: [jwk] });

async function token(claims = {}, { key = realmKey.privateKey, kid = 'realm', resource } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const body = { typ: 'Bearer', azp: 'mcp-client', scope: 'openid profile', sub: 'user-1', ...claims };
  if (resource !== undefined && body.aud === undefined) body.aud = resource;
  return new SignJWT(body)
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(claims.iss ?? issuer)
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 300)
    .sign(key);
}

// ---------------------------------------------------------------------------------------------------------------
// the verifier

const resource = 'http://localhost:3000/mcp';

async function rejected(v, t, pattern) {
  await assert.rejects(v.verifyAccessToken(t), (e) => e instanceof InvalidTokenError && pattern.test(e.message) && !e.message.includes(t));
}

test('verifier: a realm token whose aud contains the resource is accepted', async () => {
  const v = createTokenVerifier({ issuer, resource, keySet });
  const t = await token({ aud: [resource, 'account'], may_act: { client_id: 'calendar-agent' } });
  const info = await v.verifyAccessToken(t);
  assert.equal(info.token, t);
  assert.equal(info.clientId, 'mcp-client');
  assert.deepEqual(info.scopes, ['openid', 'profile']);
  assert.equal(info.resource.href, resource);
  assert.equal(info.extra.claims.sub, 'user-1');
  assert.equal(info.extra.claims.may_act.client_id, 'calendar-agent');
  assert.equal(typeof info.expiresAt, 'number');
  // aud as a single string too
  assert.equal((await v.verifyAccessToken(await token({ aud: resource }))).resource.href, resource);
});

test('verifier: the client id, another resource, a trailing slash or no aud are not this server', async () => {
  const v = createTokenVerifier({ issuer, resource, keySet });
  await rejected(v, await token({ aud: 'calendar-agent' }), /audience does not contain http:\/\/localhost:3000\/mcp/);
  await rejected(v, await token({ aud: 'http://localhost:3001/mcp' }), /audience/);
  await rejected(v, await token({ aud: `${resource}/` }), /audience/);
  await rejected(v, await token({}), /audience/);
});

test('verifier: acceptedAudiences (lenient) accepts the client id, without claiming the resource', async () => {
  const v = createTokenVerifier({ issuer, resource, keySet, acceptedAudiences: ['calendar-agent'] });
  const info = await v.verifyAccessToken(await token({ aud: ['calendar-agent', 'account'] }));
  assert.equal(info.resource, undefined);
  await rejected(v, await token({ aud: 'account' }), /audience/);
});

test('verifier: signature, kid, issuer, expiry, sub and token type are checked', async () => {
  const v = createTokenVerifier({ issuer, resource, keySet });
  await rejected(v, await token({ aud: resource }, { key: otherKey.privateKey }), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  await rejected(v, await token({ aud: resource }, { kid: 'unknown' }), /ERR_JWKS_NO_MATCHING_KEY/);
  await rejected(v, await token({ aud: resource, iss: 'http://localhost:8080/realms/other' }), /iss/);
  await rejected(v, await token({ aud: resource, exp: Math.floor(Date.now() / 1000) - 60 }), /ERR_JWT_EXPIRED/);
  await rejected(v, await token({ aud: resource, sub: undefined }), /sub/);
  await rejected(v, await token({ aud: resource, typ: 'ID' }), /not an access token/);
  await rejected(v, await token({ aud: resource, typ: 'Refresh' }), /not an access token/);
  await rejected(v, 'not-a-jwt', /ERR_JWS_INVALID/);
});

test('verifier: needs a key set or a JWKS URI', () => {
  assert.throws(() => createTokenVerifier({ issuer, resource }), /jwksUri or keySet/);
});

// ---------------------------------------------------------------------------------------------------------------
// helpers

test('trustedConnectUri: only the connector\'s own connect endpoint on the realm', () => {
  assert.equal(trustedConnectUri({ connector, connectUri }, issuer), connectUri);
  assert.equal(trustedConnectUri({ connector, connectUri }, `${issuer}/`), connectUri);
  for (const bad of [
    'https://evil.example/realms/agents-demo/agent-auth/connectors/demo-calendar/connect',
    `${issuer}/agent-auth/connectors/other/connect?client_id=calendar-agent`,
    `${connectorUri}/connect/../../other/connect`,
    `${connectorUri}/callback?x=1`,
    `http://user:pw@localhost:8080/realms/agents-demo/agent-auth/connectors/${connector}/connect`,
    `${connectUri}#frag`,
    'javascript:alert(1)',
    'not a url',
    '',
  ]) {
    assert.equal(trustedConnectUri({ connector, connectUri: bad }, issuer), undefined, bad);
  }
});

test('toolError: JSON text, isError', () => {
  assert.deepEqual(toolError({ code: 'x' }), { isError: true, content: [{ type: 'text', text: '{\n  "code": "x"\n}' }] });
});

// ---------------------------------------------------------------------------------------------------------------
// McpAgentAuth behind a real MCP server

const DELEGATED = await token({ sub: 'user-1', aud: connectorUri, act: { sub: 'sa-1', client_id: 'calendar-agent', iss: issuer } });

/** A recording agent: what the tools asked for, and a programmable connector. */
function recordingAgent() {
  const agent = {
    issuer,
    clientId: 'calendar-agent',
    calls: [],
    behaviour: {}, // alias -> async (path, init, options) => Response, or throws
    waits: [], // resolvers of waitForConnection calls
    async exchange(options) {
      agent.calls.push({ kind: 'exchange', options });
      if (agent.behaviour.exchange) return agent.behaviour.exchange(options);
      return new TokenSet({ access_token: DELEGATED, token_type: 'Bearer', expires_in: 300, scope: 'openid profile' });
    },
    connector(alias, options) {
      agent.calls.push({ kind: 'connector', alias, options });
      return {
        alias,
        connectionId: options.connectionId,
        async fetch(path, init) {
          agent.calls.push({ kind: 'fetch', alias, path });
          return agent.behaviour[alias](path, init, options);
        },
        waitForConnection(o) {
          agent.calls.push({ kind: 'wait', alias, timeoutMs: o?.timeoutMs, signal: o?.signal instanceof AbortSignal });
          return new Promise((resolve) => agent.waits.push(resolve));
        },
      };
    },
  };
  return agent;
}

const agent = recordingAgent();
const toolErrors = [];
const auth = await McpAgentAuth.create({
  agent,
  resource,
  keySet,
  authorizationServerMetadata: {
    issuer,
    authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
    token_endpoint: `${issuer}/protocol/openid-connect/token`,
    jwks_uri: `${issuer}/protocol/openid-connect/certs`,
    response_types_supported: ['code'],
  },
  resourceName: 'Test MCP server',
  onToolError: (e) => toolErrors.push(e),
});
// the other mode: an in-band elicitation/create that waits and runs the tool again
const authRequest = await McpAgentAuth.create({
  agent,
  resource,
  keySet,
  authorizationServerMetadata: {
    issuer,
    authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
    token_endpoint: `${issuer}/protocol/openid-connect/token`,
    jwks_uri: `${issuer}/protocol/openid-connect/certs`,
    response_types_supported: ['code'],
  },
  elicitation: 'request',
  connectTimeoutMs: 90_000,
  progressIntervalMs: 20,
  onToolError: (e) => toolErrors.push(e),
});

function buildServer() {
  const server = new McpServer({ name: 'mcp-test', version: '0' });
  auth.registerTool(server, 'whoami', { description: 'claims and the delegated token' }, async (args, ctx) => {
    const delegated = await ctx.exchange();
    return { content: [{ type: 'text', text: JSON.stringify({ args: args ?? null, user: ctx.user, azp: ctx.caller.azp, delegated }) }] };
  });
  auth.registerTool(
    server,
    'profile',
    { inputSchema: { connection_id: z.string().optional() } },
    async ({ connection_id }, ctx) => {
      const res = await ctx.connector(connector, { connectionId: connection_id }).fetch('userinfo');
      return { content: [{ type: 'text', text: JSON.stringify({ status: res.status, body: await res.json() }) }] };
    },
  );
  authRequest.registerTool(server, 'profile_inband', {}, async (_args, ctx) => {
    const res = await ctx.connector(connector).fetch('userinfo');
    return { content: [{ type: 'text', text: JSON.stringify({ status: res.status, body: await res.json() }) }] };
  });
  auth.registerTool(server, 'broken', {}, async () => {
    throw new Error('plain failure');
  });
  return server;
}

let httpServer;
let baseUrl;
let mcpUrl;
const sessions = new Map();

before(async () => {
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  app.use(auth.metadataRouter());
  const bearer = auth.bearerAuth();
  app.post('/mcp', bearer, async (req, res) => {
    const sid = req.headers['mcp-session-id'];
    let transport = sid ? sessions.get(sid) : undefined;
    if (!transport) {
      const stateless = req.headers['x-test-stateless'] === '1';
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: stateless ? undefined : () => randomUUID(),
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      await buildServer().connect(transport);
    }
    await transport.handleRequest(req, res, req.body);
  });
  app.get('/mcp', bearer, async (req, res) => {
    const transport = sessions.get(req.headers['mcp-session-id']);
    if (!transport) return res.status(404).end();
    await transport.handleRequest(req, res);
  });
  await new Promise((resolve) => {
    httpServer = app.listen(0, '127.0.0.1', resolve);
  });
  baseUrl = `http://127.0.0.1:${httpServer.address().port}`;
  mcpUrl = new URL('/mcp', baseUrl);
});

after(async () => {
  for (const t of sessions.values()) await t.close().catch(() => {});
  httpServer.closeAllConnections?.();
  await new Promise((resolve) => httpServer.close(resolve));
});

const CALLER = await token({ aud: resource, may_act: { sub: 'sa-1', client_id: 'calendar-agent' } });

async function connect({ capabilities = {}, bearer = CALLER, stateless = false } = {}) {
  const client = new Client({ name: 'test-client', version: '0' }, { capabilities });
  const headers = { authorization: `Bearer ${bearer}` };
  if (stateless) headers['x-test-stateless'] = '1';
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers } }));
  return client;
}

function textOf(result) {
  const text = result.content?.find((c) => c.type === 'text')?.text ?? '';
  assert.ok(!TOKEN_SHAPE.test(text), `a token in the tool output: ${text}`);
  return text;
}

test('metadata: RFC 9728 at /.well-known/oauth-protected-resource/mcp, the realm as authorization server', async () => {
  const res = await fetch(`${baseUrl}/.well-known/oauth-protected-resource/mcp`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    resource,
    authorization_servers: [issuer],
    scopes_supported: ['openid', 'profile', 'delegation:client:calendar-agent'],
    resource_name: 'Test MCP server',
  });
  assert.equal(auth.resourceMetadataUrl, 'http://localhost:3000/.well-known/oauth-protected-resource/mcp');
});

test('bearer: no token, a token for another resource, a lenient-only token: 401 with resource_metadata', async () => {
  for (const bearer of [undefined, await token({ aud: 'http://localhost:3001/mcp' }), await token({ aud: 'calendar-agent' })]) {
    const res = await fetch(mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } }),
    });
    assert.equal(res.status, 401);
    const www = res.headers.get('www-authenticate');
    assert.match(www, /error="invalid_token"/);
    assert.ok(www.includes('resource_metadata="http://localhost:3000/.well-known/oauth-protected-resource/mcp"'), www);
    const body = await res.text();
    assert.ok(!TOKEN_SHAPE.test(body) && !TOKEN_SHAPE.test(www));
  }
});

test('a tool acts for the caller: the caller\'s token is the subject token, the claims are the verified ones', async () => {
  agent.calls.length = 0;
  const client = await connect();
  const r = await client.callTool({ name: 'whoami', arguments: {} });
  const text = textOf(r);
  assert.equal(r.isError, undefined, text);
  const out = JSON.parse(text);
  assert.equal(out.user, 'user-1');
  assert.equal(out.azp, 'mcp-client');
  assert.equal(out.args, null, 'a tool without inputSchema gets no arguments');
  assert.equal(out.delegated.accessToken, '[redacted]');
  assert.equal(out.delegated.act.client_id, 'calendar-agent');
  assert.deepEqual(agent.calls, [{ kind: 'exchange', options: { subjectToken: CALLER } }]);
  await client.close();
});

test('connector calls carry the caller\'s token and the chosen connection', async () => {
  agent.calls.length = 0;
  agent.behaviour[connector] = async () => Response.json({ preferred_username: 'alice-work' }, { headers: { 'x-connection-id': 'c-1' } });
  const client = await connect();
  const r = await client.callTool({ name: 'profile', arguments: { connection_id: 'c-1' } });
  assert.deepEqual(JSON.parse(textOf(r)), { status: 200, body: { preferred_username: 'alice-work' } });
  assert.deepEqual(agent.calls, [
    { kind: 'connector', alias: connector, options: { connectionId: 'c-1', subjectToken: CALLER } },
    { kind: 'fetch', alias: connector, path: 'userinfo' },
  ]);
  await client.close();
});

test('ConnectionRequired without the elicitation.url capability: a tool error carrying the link', async () => {
  toolErrors.length = 0;
  agent.behaviour[connector] = async () => {
    throw new ConnectionRequired(connector, connectUri, { status: 403, description: 'The user has no active account linked on connector demo-calendar' });
  };
  for (const capabilities of [{}, { elicitation: { form: {} } }]) {
    const client = await connect({ capabilities });
    const r = await client.callTool({ name: 'profile', arguments: {} });
    assert.equal(r.isError, true);
    const body = JSON.parse(textOf(r));
    assert.equal(body.type, 'ConnectionRequired');
    assert.equal(body.code, 'connection_required');
    assert.equal(body.status, 403);
    assert.equal(body.connector, connector);
    assert.equal(body.connect_uri, connectUri);
    assert.equal(body.connectUri, undefined);
    assert.equal(body.message, `connection_required (HTTP 403): The user has no active account linked on connector demo-calendar (connect at ${connectUri})`);
    assert.ok(body.instructions.includes(connectUri), body.instructions);
    await client.close();
  }
  assert.deepEqual(toolErrors.map((e) => [e.tool, e.user, e.via, e.error.code]), [
    ['profile', 'user-1', 'tool_error', 'connection_required'],
    ['profile', 'user-1', 'tool_error', 'connection_required'],
  ]);
});

test('ConnectionRequired with elicitation.url: URL elicitation (-32042), then notifications/elicitation/complete once connected', async () => {
  toolErrors.length = 0;
  agent.calls.length = 0;
  agent.waits.length = 0;
  agent.behaviour[connector] = async () => {
    throw new ConnectionRequired(connector, connectUri, { status: 403 });
  };
  const client = await connect({ capabilities: { elicitation: { url: {} } } });
  const completed = [];
  client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => completed.push(n.params.elicitationId));
  const elicit = async () => {
    try {
      await client.callTool({ name: 'profile', arguments: {} });
    } catch (e) {
      return e;
    }
    assert.fail('expected an error');
  };
  const err = await elicit();
  assert.ok(err instanceof UrlElicitationRequiredError, `expected UrlElicitationRequiredError, got ${err}`);
  assert.equal(err.code, ErrorCode.UrlElicitationRequired);
  assert.equal(err.code, -32042);
  assert.equal(err.elicitations.length, 1);
  const [el] = err.elicitations;
  assert.equal(el.mode, 'url');
  assert.equal(el.url, connectUri);
  assert.match(el.elicitationId, /^[0-9a-f-]{36}$/);
  assert.match(el.message, /demo-calendar/);
  assert.ok(err.message.includes(connectUri), err.message);
  assert.deepEqual(toolErrors.map((e) => [e.via, e.error.code, e.elicitationId]), [['elicitation', 'connection_required', el.elicitationId]]);
  toolErrors.length = 0;
  // the helper waits for the connection (connection status, no upstream call) and then tells the client
  assert.deepEqual(agent.calls.at(-1), { kind: 'wait', alias: connector, timeoutMs: 600_000, signal: true });
  assert.equal(agent.waits.length, 1);
  // the model calls again before the user connected: another elicitation, the same wait
  const again = await elicit();
  assert.ok(again instanceof UrlElicitationRequiredError);
  const id2 = again.elicitations[0].elicitationId;
  assert.notEqual(id2, el.elicitationId);
  assert.equal(agent.waits.length, 1, 'one wait per session and connector');
  agent.waits[0]({ connectionId: 'c-1', status: 'ACTIVE' });
  const deadline = Date.now() + 5000;
  while (completed.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(completed, [el.elicitationId, id2]);
  // the client retries: now the call goes through
  agent.behaviour[connector] = async () => Response.json({ preferred_username: 'alice-work' });
  const r = await client.callTool({ name: 'profile', arguments: {} });
  assert.equal(JSON.parse(textOf(r)).body.preferred_username, 'alice-work');
  await client.close();
});

test('a stateless server cannot know the capability: the tool error with the link', async () => {
  agent.behaviour[connector] = async () => {
    throw new ConnectionRequired(connector, connectUri, { status: 403 });
  };
  const client = await connect({ capabilities: { elicitation: { url: {} } }, stateless: true });
  const r = await client.callTool({ name: 'profile', arguments: {} });
  assert.equal(r.isError, true);
  assert.equal(JSON.parse(textOf(r)).connect_uri, connectUri);
  await client.close();
});

test("elicitation: 'request': an in-band elicitation/create, the wait, elicitation/complete and the tool's result in the same call", async () => {
  toolErrors.length = 0;
  agent.calls.length = 0;
  agent.waits.length = 0;
  agent.behaviour[connector] = async () => {
    throw new ConnectionRequired(connector, connectUri, { status: 403 });
  };
  const client = await connect({ capabilities: { elicitation: { url: {} } } });
  const completed = [];
  client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => completed.push(n.params.elicitationId));
  const asked = [];
  let action = 'accept';
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push(req.params);
    return { action };
  });
  const progress = [];
  const call = client.callTool({ name: 'profile_inband', arguments: {} }, undefined, { onprogress: (p) => progress.push(p), timeout: 30_000 });
  const deadline = Date.now() + 5000;
  while (agent.waits.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(asked.length, 1, 'one elicitation/create');
  assert.equal(asked[0].mode, 'url');
  assert.equal(asked[0].url, connectUri);
  assert.match(asked[0].elicitationId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(agent.calls.at(-1), { kind: 'wait', alias: connector, timeoutMs: 90_000, signal: true });
  // still waiting for the user: progress notifications keep the client's request alive
  while (progress.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(progress.length >= 1, 'progress while waiting');
  agent.behaviour[connector] = async () => Response.json({ preferred_username: 'alice-work' });
  agent.waits[0]({ connectionId: 'c-1', status: 'ACTIVE' });
  const r = await call;
  assert.ok(!r.isError, textOf(r));
  assert.equal(JSON.parse(textOf(r)).body.preferred_username, 'alice-work');
  while (completed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(completed, [asked[0].elicitationId]);
  assert.deepEqual(toolErrors.map((e) => [e.tool, e.via, e.error.code, e.elicitationId]), [['profile_inband', 'elicitation', 'connection_required', asked[0].elicitationId]]);
  // the user declines: a tool error with the link, no wait
  agent.behaviour[connector] = async () => {
    throw new ConnectionRequired(connector, connectUri, { status: 403 });
  };
  action = 'decline';
  const waits = agent.waits.length;
  const declined = await client.callTool({ name: 'profile_inband', arguments: {} });
  assert.equal(declined.isError, true);
  const body = JSON.parse(textOf(declined));
  assert.deepEqual([body.type, body.connect_uri], ['ConnectionRequired', connectUri]);
  assert.match(body.instructions, /did not connect \(decline\)/);
  assert.equal(agent.waits.length, waits);
  await client.close();
  // a client without URL elicitation: the tool error with the link, as by default
  const plain = await connect();
  const r2 = await plain.callTool({ name: 'profile_inband', arguments: {} });
  assert.equal(r2.isError, true);
  assert.equal(JSON.parse(textOf(r2)).connect_uri, connectUri);
  await plain.close();
});

test("the elicitation option is 'error' or 'request'", async () => {
  const metadata = { issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/certs`, response_types_supported: ['code'] };
  await assert.rejects(McpAgentAuth.create({ agent, resource, keySet, authorizationServerMetadata: metadata, elicitation: 'sometimes' }), /'error' or 'request'/);
});

test('a connect link that is not the realm\'s is never shown, in either form', async () => {
  agent.behaviour[connector] = async () => {
    throw new ConnectionRequired(connector, 'https://evil.example/connect', { status: 403 });
  };
  for (const capabilities of [{}, { elicitation: { url: {} } }]) {
    const client = await connect({ capabilities });
    const r = await client.callTool({ name: 'profile', arguments: {} });
    const text = textOf(r);
    assert.equal(r.isError, true);
    assert.ok(!text.includes('evil'), text);
    assert.equal(JSON.parse(text).code, 'connection_required');
    await client.close();
  }
});

test('other SDK errors: tool errors carrying their toJSON(), never a token', async () => {
  const cases = [
    new GrantRevoked('invalid_request', { status: 400, description: `No active delegation grant from the user to agent calendar-agent ${DELEGATED}` }),
    new AccessDenied('access_denied', { status: 403, description: 'Connector demo-calendar is not in the grant' }),
    new UpstreamUnavailable('upstream_timeout', { status: 504 }),
  ];
  const client = await connect({ capabilities: { elicitation: { url: {} } } });
  for (const e of cases) {
    agent.behaviour.exchange = async () => {
      throw e;
    };
    const r = await client.callTool({ name: 'whoami', arguments: {} });
    assert.equal(r.isError, true);
    const body = JSON.parse(textOf(r));
    assert.deepEqual(body, JSON.parse(JSON.stringify(e.toJSON())));
  }
  delete agent.behaviour.exchange;
  // not an SDK error: the MCP SDK's own tool error with the message
  const r = await client.callTool({ name: 'broken', arguments: {} });
  assert.equal(r.isError, true);
  assert.equal(textOf(r), 'plain failure');
  await client.close();
});

test('no verified caller (a server without bearerAuth): a tool error invalid_token', async () => {
  const server = new McpServer({ name: 'bare', version: '0' });
  let called = false;
  auth.registerTool(server, 'whoami', {}, async () => {
    called = true;
    return { content: [] };
  });
  const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  const client = new Client({ name: 'c', version: '0' });
  await client.connect(a);
  const r = await client.callTool({ name: 'whoami', arguments: {} });
  assert.equal(called, false);
  assert.equal(r.isError, true);
  assert.equal(JSON.parse(textOf(r)).code, 'invalid_token');
  await client.close();
});

test('toolErrorFor rethrows what is not an SDK error', () => {
  const server = new McpServer({ name: 'x', version: '0' });
  const e = new McpError(ErrorCode.InvalidParams, 'bad');
  assert.throws(() => auth.toolErrorFor(server, e), (x) => x === e);
});

test('bearerAuth: strict requires AuthInfo.resource = this server; with acceptedAudiences (lenient) the client id is enough', async () => {
  const metadata = { issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/certs`, response_types_supported: ['code'] };
  const lenient = await McpAgentAuth.create({ agent, resource, keySet, authorizationServerMetadata: metadata, acceptedAudiences: ['calendar-agent'] });
  const call = async (mw, bearer) => {
    const req = { headers: { authorization: `Bearer ${bearer}` } };
    const out = { status: 200, next: false };
    const res = {
      set: () => res,
      status: (s) => {
        out.status = s;
        return res;
      },
      json: (b) => {
        out.body = b;
        return res;
      },
    };
    await mw(req, res, () => {
      out.next = true;
    });
    return { ...out, auth: req.auth };
  };
  const clientIdToken = await token({ aud: ['calendar-agent'] });
  const strictRes = await call(auth.bearerAuth(), clientIdToken);
  assert.deepEqual([strictRes.status, strictRes.next, strictRes.body.error], [401, false, 'invalid_token']);
  const lenientRes = await call(lenient.bearerAuth(), clientIdToken);
  assert.deepEqual([lenientRes.status, lenientRes.next], [200, true]);
  assert.equal(lenientRes.auth.resource, undefined);
  assert.equal(lenientRes.auth.extra.claims.sub, 'user-1');
  // a token for the resource passes both
  const forResource = await token({ aud: resource });
  assert.equal((await call(auth.bearerAuth(), forResource)).next, true);
  assert.equal((await call(lenient.bearerAuth(), forResource)).next, true);
  // the default scopes name the agent's delegation scope
  assert.deepEqual(lenient.scopesSupported, ['openid', 'profile', 'delegation:client:calendar-agent']);
});
