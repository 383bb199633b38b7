// End-to-end: keycloak-agent-auth/mcp (the built dist/) in a real MCP server (official MCP SDK, Streamable HTTP,
// stateful sessions) acting as calendar-agent against a real Keycloak with the Agent Auth extension, for a fresh user:
//
//   setup   a fresh user in agents-demo and one in upstream-saas
//   a       the MCP client's token: mcp-client's code flow (PKCE S256, resource = calendar-agent's MCP resource URI,
//           scope delegation:client:calendar-agent), login and the agent consent screen in Chromium (oauth4webapi)
//   b       a tool exchanges the caller's token: act = calendar-agent, sub = the user; tokens for another resource 401
//   c       connection_required for a client without the elicitation.url capability: a tool error carrying the link
//   d       the same for a client that declared it: by default URL elicitation (MCP error -32042) with the same link
//   e       the option elicitation: 'request' (a second tool): the server sends elicitation/create (URL mode); the
//           client accepts and the user opens its URL in Chromium and connects the fresh upstream account; the same
//           tools/call returns the upstream account through the proxy; and the default's background wait (polling
//           the connection status) sends notifications/elicitation/complete for d's elicitation; that client retries
//           and gets the upstream account
//   cleanup the users (their grant and connection go with them)
//
// The MCP server listens on a random loopback port; its resource URI is calendar-agent's registered one
// (http://localhost:3000/mcp, only compared with the token's aud), so nothing else on the shared server changes.
// stdout: one line `SDK-MCP-E2E-RESULT {json}`; progress on stderr; exit 1 on the first failed assertion. Never
// prints a token. Environment: KEYCLOAK_URL (http://localhost:8080), REALM (agents-demo), UPSTREAM_REALM
// (upstream-saas), MCP_RESOURCE (http://localhost:3000/mcp), CHROMIUM (/usr/bin/chromium), SCREENSHOT_DIR
// (target/screenshots of this package), ADMIN_USER/ADMIN_PASSWORD (admin/admin), E2E_STEP_TIMEOUT_MS (30000).

import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, ElicitationCompleteNotificationSchema, ErrorCode, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { AgentAuth } from '../../dist/index.js';
import { McpAgentAuth } from '../../dist/mcp.js';
import {
  AssertionFailed,
  RUN,
  assert,
  assertEq,
  assertNoToken,
  cfg,
  configure,
  connectInBrowser,
  createUser,
  launchBrowser,
  login,
  runMain,
  shot,
  startCallbackServer,
  step,
  summary,
  withTimeout,
} from '../e2e/support.js';

configure({ tag: 'sdk-mcp-e2e', resultName: 'SDK-MCP-E2E-RESULT' });
cfg.resource = process.env.MCP_RESOURCE || 'http://localhost:3000/mcp';
cfg.mcpClient = 'mcp-client';
cfg.connectLink = `${cfg.connectorUri}/connect?client_id=${cfg.agent}`;

// ---------------------------------------------------------------------------------------------------------------
// the MCP server under test: calendar-agent with keycloak-agent-auth/mcp, stateful Streamable HTTP

async function startMcpServer(agent) {
  const toolErrors = [];
  // the default (elicitation: 'error'), and the option 'request' for the tool upstream_profile_inband
  const auth = await McpAgentAuth.create({ agent, resource: cfg.resource, onToolError: (e) => toolErrors.push(e), connectTimeoutMs: 120_000 });
  const inband = await McpAgentAuth.create({ agent, resource: cfg.resource, onToolError: (e) => toolErrors.push(e), connectTimeoutMs: 120_000, elicitation: 'request', progressIntervalMs: 2000 });
  const build = () => {
    const server = new McpServer({ name: 'sdk-ts-mcp-e2e', version: '0' });
    inband.registerTool(server, 'upstream_profile_inband', { description: 'the connected account, through the proxy (in-band elicitation)' }, async (_args, ctx) => {
      const res = await ctx.connector(cfg.connector).fetch('userinfo');
      const body = await res.json();
      return { content: [{ type: 'text', text: JSON.stringify({ status: res.status, connectionId: res.headers.get('x-connection-id'), account: body.preferred_username }) }] };
    });
    auth.registerTool(server, 'whoami', { description: 'the delegated token\'s sub and act' }, async (_args, ctx) => {
      const t = await ctx.exchange();
      return { content: [{ type: 'text', text: JSON.stringify({ caller: ctx.user, sub: t.sub, act: t.act, actChain: t.actChain() }) }] };
    });
    auth.registerTool(server, 'upstream_profile', { description: 'the connected account, through the proxy' }, async (_args, ctx) => {
      const res = await ctx.connector(cfg.connector).fetch('userinfo');
      const body = await res.json();
      return { content: [{ type: 'text', text: JSON.stringify({ status: res.status, connectionId: res.headers.get('x-connection-id'), account: body.preferred_username }) }] };
    });
    return server;
  };
  const sessions = new Map();
  const app = createMcpExpressApp({ host: '127.0.0.1' });
  app.use(auth.metadataRouter());
  const bearer = auth.bearerAuth();
  app.post('/mcp', bearer, async (req, res) => {
    let transport = sessions.get(req.headers['mcp-session-id']);
    if (!transport) {
      transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => sessions.set(id, transport) });
      await build().connect(transport);
    }
    await transport.handleRequest(req, res, req.body);
  });
  app.get('/mcp', bearer, async (req, res) => {
    const transport = sessions.get(req.headers['mcp-session-id']);
    if (!transport) return void res.status(404).end();
    await transport.handleRequest(req, res);
  });
  const http = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: new URL(`http://127.0.0.1:${http.address().port}/mcp`),
    toolErrors,
    close: async () => {
      for (const t of sessions.values()) await t.close().catch(() => {});
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

async function mcpClient(url, token, capabilities = {}) {
  const client = new Client({ name: 'sdk-ts-mcp-e2e', version: '0' }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

function textOf(result, what) {
  const text = result.content?.find((c) => c.type === 'text')?.text ?? '';
  assertNoToken(text, what);
  return text;
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  await mkdir(cfg.screenshots, { recursive: true });
  const callback = await startCallbackServer();
  let browser;
  let mcp;
  const clients = [];
  try {
    const { user, up } = await step('setup', async () => {
      const user = await createUser(cfg.realm, `sdk-ts-mcp-${RUN}`, 'Sdk', `Mcp ${RUN}`);
      const up = await createUser(cfg.upstreamRealm, `sdk-ts-mcp-${RUN}-work`, 'Work', `Mcp ${RUN}`);
      summary.created = { user: user.username, upstreamUser: up.username };
      return { user, up };
    });

    // ---- a. the MCP client's token (what an MCP client's OAuth flow gets): code flow of mcp-client with the agent consent
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    const callerToken = await step('a_mcp_client_token', async () => {
      const issuer = new URL(cfg.issuer);
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', [oauth.allowInsecureRequests]: true }));
      const client = { client_id: cfg.mcpClient };
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const url = new URL(as.authorization_endpoint);
      for (const [k, v] of Object.entries({
        client_id: cfg.mcpClient,
        response_type: 'code',
        redirect_uri: callback.redirectUri,
        scope: `openid profile delegation:client:${cfg.agent}`,
        resource: cfg.resource,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      })) url.searchParams.set(k, v);
      const came = callback.next();
      await page.goto(url.href);
      await login(page, user);
      await page.locator('#kc-agent-consent-form').waitFor();
      const title = await page.locator('#agent-consent-title').innerText();
      assert(title.includes(cfg.agentName), `consent title "${title}" does not name ${cfg.agentName}`);
      await shot(page, 'mcp-consent');
      await page.click('#kc-agent-allow');
      const back = await withTimeout(came, 'the redirect back to the loopback callback after Allow');
      const params = oauth.validateAuthResponse(as, client, back, state);
      const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, callback.redirectUri, verifier, {
        additionalParameters: { resource: cfg.resource },
        [oauth.allowInsecureRequests]: true,
      });
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, res);
      const c = decodeJwt(tokens.access_token);
      assertEq(c.aud, cfg.resource, 'the MCP client\'s token aud (RFC 8707)');
      assertEq(c.sub, user.id, 'the MCP client\'s token sub');
      assertEq(c.may_act?.client_id, cfg.agent, 'the MCP client\'s token may_act.client_id');
      summary.callerToken = { aud: c.aud, azp: c.azp, may_act: c.may_act, scope: c.scope };
      return tokens.access_token;
    });

    const agent = await AgentAuth.discover({ issuer: cfg.issuer, clientId: cfg.agent, clientSecret: cfg.agentSecret });
    mcp = await startMcpServer(agent);

    // ---- b. a tool acts for the caller; a token for another resource is refused
    await step('b_tool_exchanges', async () => {
      const client = await mcpClient(mcp.url, callerToken);
      clients.push(client);
      const r = await client.callTool({ name: 'whoami', arguments: {} });
      const text = textOf(r, 'whoami');
      assert(!r.isError, `whoami: ${text}`);
      const out = JSON.parse(text);
      assertEq([out.caller, out.sub], [user.id, user.id], 'whoami: the caller and the delegated token\'s sub');
      assertEq(out.actChain, [cfg.agent], 'whoami: act chain');
      summary.whoami = out;
      // the agent's own client-credentials token is a realm token too, but not for this resource
      const own = await agent.actorToken();
      const res = await fetch(mcp.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${own}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } }),
      });
      assertEq(res.status, 401, 'a realm token for another audience');
      assert(/error="invalid_token"/.test(res.headers.get('www-authenticate') ?? ''), 'WWW-Authenticate invalid_token');
      summary.otherAudience = { status: res.status, www: res.headers.get('www-authenticate') };
    });

    // ---- c. no account connected, a client without URL elicitation: a tool error with the link
    await step('c_connection_required_tool_error', async () => {
      const client = await mcpClient(mcp.url, callerToken);
      clients.push(client);
      const r = await client.callTool({ name: 'upstream_profile', arguments: {} });
      const text = textOf(r, 'upstream_profile tool error');
      assertEq(r.isError, true, 'upstream_profile without a connected account: isError');
      const body = JSON.parse(text);
      assertEq([body.type, body.code, body.status, body.connector], ['ConnectionRequired', 'connection_required', 403, cfg.connector], 'the tool error');
      assertEq(body.connect_uri, cfg.connectLink, 'the tool error\'s connect_uri');
      assert(body.message.includes(cfg.connectLink), `the error message does not carry the link: ${body.message}`);
      assert(body.instructions.includes(cfg.connectLink), `the instructions do not carry the link: ${body.instructions}`);
      summary.toolError = body;
    });

    // ---- d. the same for a client that declared elicitation.url: URL elicitation (-32042)
    const completed = [];
    const elClient = await mcpClient(mcp.url, callerToken, { elicitation: { url: {} } });
    clients.push(elClient);
    elClient.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => completed.push(n.params.elicitationId));
    const elicitation = await step('d_url_elicitation', async () => {
      let err;
      try {
        const r = await elClient.callTool({ name: 'upstream_profile', arguments: {} });
        err = new AssertionFailed(`expected URL elicitation, got a result: ${JSON.stringify(r).slice(0, 300)}`);
      } catch (e) {
        err = e;
      }
      if (err instanceof AssertionFailed) throw err;
      assert(err instanceof UrlElicitationRequiredError, `expected UrlElicitationRequiredError, got ${err?.name}: ${err?.message}`);
      assertEq(err.code, ErrorCode.UrlElicitationRequired, 'the MCP error code');
      assertEq(err.code, -32042, 'the MCP error code (spec 2025-11-25)');
      assertEq(err.elicitations.length, 1, 'elicitations');
      const el = err.elicitations[0];
      assertEq([el.mode, el.url], ['url', cfg.connectLink], 'the elicitation\'s mode and url');
      assertNoToken(JSON.stringify(el) + err.message, 'the elicitation');
      summary.elicitation = { code: err.code, ...el };
      return el;
    });

    // ---- e. the option 'request': elicitation/create in-band; the user opens its URL and connects; the same call
    // returns the account. Then d's client hears that its elicitation is complete; its retry succeeds
    await step('e_connect_complete_retry', async () => {
      const inbandClient = await mcpClient(mcp.url, callerToken, { elicitation: { url: {} } });
      clients.push(inbandClient);
      const asked = [];
      let connecting;
      inbandClient.setRequestHandler(ElicitRequestSchema, async (req) => {
        asked.push(req.params);
        // accept = the user agreed to open the link; the browser does so meanwhile
        connecting = connectInBrowser(page, req.params.url, up, 'mcp');
        connecting.catch(() => {});
        return { action: 'accept' };
      });
      const progress = [];
      const inbandResult = await inbandClient.callTool({ name: 'upstream_profile_inband', arguments: {} }, undefined, {
        timeout: cfg.timeoutMs * 4,
        resetTimeoutOnProgress: true,
        onprogress: (p) => progress.push(p.progress),
      });
      await connecting;
      assertEq(asked.length, 1, 'elicitation/create requests');
      assertEq([asked[0].mode, asked[0].url], ['url', cfg.connectLink], 'the elicitation/create mode and url');
      assertNoToken(JSON.stringify(asked[0]), 'the elicitation/create request');
      const inbandText = textOf(inbandResult, 'upstream_profile_inband');
      assert(!inbandResult.isError, `upstream_profile_inband (in-band elicitation): ${inbandText}`);
      const inbandOut = JSON.parse(inbandText);
      assertEq([inbandOut.status, inbandOut.account], [200, up.username], 'upstream_profile_inband: the same call returns the account');
      summary.inbandElicitation = { mode: asked[0].mode, url: asked[0].url, elicitationId: asked[0].elicitationId, progressNotifications: progress.length, result: inbandOut };
      const deadline = Date.now() + cfg.timeoutMs;
      while (completed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assertEq(completed, [elicitation.elicitationId], 'notifications/elicitation/complete (the default mode\'s background wait)');
      const r = await elClient.callTool({ name: 'upstream_profile', arguments: {} });
      const text = textOf(r, 'upstream_profile after connecting');
      assert(!r.isError, `upstream_profile after connecting: ${text}`);
      const out = JSON.parse(text);
      assertEq([out.status, out.account], [200, up.username], 'upstream_profile after connecting');
      assert(typeof out.connectionId === 'string' && out.connectionId.length > 0, 'the proxy named the connection');
      summary.connected = out;
      summary.completedElicitation = completed[0];
    });

    assertEq(
      mcp.toolErrors.map((e) => [e.tool, e.user, e.via, e.error.code]),
      [
        ['upstream_profile', user.id, 'tool_error', 'connection_required'],
        ['upstream_profile', user.id, 'elicitation', 'connection_required'],
        ['upstream_profile_inband', user.id, 'elicitation', 'connection_required'],
      ],
      'the helper\'s onToolError events',
    );
    assertNoToken(JSON.stringify(mcp.toolErrors), 'onToolError events');
    summary.ok = true;
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    if (mcp) await mcp.close().catch(() => {});
    if (browser) await browser.close();
    await callback.close();
  }
}

await runMain(main);
