// End-to-end: the official MCP TypeScript SDK client, starting from nothing, against examples/mcp-calendar and
// Keycloak with the Agent Auth extension.
//
//   a. connect -> 401 -> the SDK discovers (RFC 9728, then RFC 8414 / OIDC), does PKCE and sends `resource`
//   b. headless Chromium: login as alice, the agent consent screen (scope delegation:client:calendar-agent), Allow
//   c. the SDK's token is for the MCP server only (aud) and names the agent in may_act; the tool exchanges it
//   d. a token for another resource, and one without resource, get 401 from the MCP server
//   e. a bad resource is invalid_target at the authorization endpoint (redirect with state and iss) and at the
//      token endpoint (HTTP 400)
//   f. the tool upstream_profile (the brokered proxy): alice has no connected account, so a client that declared URL
//      elicitation gets it (MCP error -32042 with the connect link), and one that did not gets a tool error
//      (the SDK's ConnectionRequired JSON) carrying the link
//   g. alice opens that link in the same browser: the connect page, the upstream's login (alice-work), the result page
//   h. the eliciting client is told the elicitation is complete; upstream_profile again: alice's upstream account,
//      read through the proxy
//   i. once the grant is revoked, the tools report the SDK's GrantRevoked (Keycloak refused the exchange) as a tool error
//   one line `MCP-E2E-RESULT {...}` on stdout; exit 1 on the first failed assertion.
//
// Never prints a token (nor a code or verifier). Configuration: see the README next to this file.

import { createServer } from 'node:http';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { ElicitationCompleteNotificationSchema, ErrorCode, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import * as oidc from 'openid-client';
import { chromium } from 'playwright-core';
import { AssertionFailed, assert, assertEq, claims, withTimeout } from './support.js';

const withTimeoutOf = (promise, what) => withTimeout(promise, what, cfg.timeoutMs);

const here = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const cfg = {
  keycloakUrl: (env.KEYCLOAK_URL || 'http://localhost:8080').replace(/\/+$/, ''),
  realm: env.REALM || 'agents-demo',
  mcpUrl: env.MCP_URL || 'http://localhost:3000/mcp',
  agent: env.AGENT || 'calendar-agent',
  agentName: env.AGENT_NAME || 'Calendar Agent',
  clientId: env.MCP_CLIENT_ID || 'mcp-client',
  username: env.E2E_USERNAME || 'alice',
  password: env.E2E_PASSWORD || 'alice',
  adminUser: env.ADMIN_USER || 'admin',
  adminPassword: env.ADMIN_PASSWORD || 'admin',
  otherResource: env.OTHER_RESOURCE || 'http://localhost:3001/mcp',
  otherResourceClient: env.OTHER_RESOURCE_CLIENT || 'other-resource-server',
  unknownResource: env.UNKNOWN_RESOURCE || 'http://localhost:9999/unknown',
  connector: env.CONNECTOR || 'demo-calendar',
  upstreamRealm: env.UPSTREAM_REALM || 'upstream-saas',
  upstreamUser: env.UPSTREAM_USERNAME || 'alice-work',
  upstreamPassword: env.UPSTREAM_PASSWORD || env.UPSTREAM_USERNAME || 'alice-work',
  chromium: env.CHROMIUM || '/usr/bin/chromium',
  screenshots: path.resolve(env.SCREENSHOT_DIR || path.join(here, '..', '..', '..', 'target', 'screenshots')),
  timeoutMs: Number.parseInt(env.E2E_STEP_TIMEOUT_MS || '30000', 10),
};
cfg.issuer = `${cfg.keycloakUrl}/realms/${cfg.realm}`;
const delegationScope = `delegation:client:${cfg.agent}`;
cfg.connectorUri = `${cfg.issuer}/agent-auth/connectors/${cfg.connector}`;
const TOOL = 'delegated_identity';
const UPSTREAM_TOOL = 'upstream_profile';
const TOKEN_SHAPE = /eyJ[A-Za-z0-9_-]{8,}\.eyJ/;

// ---------------------------------------------------------------------------------------------------------------
// reporting

const t0 = Date.now();
const summary = { ok: false, steps: {} };
let currentStep = 'setup';

async function step(name, fn) {
  currentStep = name;
  const start = Date.now();
  log(`-- ${name}`);
  const result = await fn();
  summary.steps[name] = Date.now() - start;
  return result;
}

function log(line) {
  // stderr: progress for humans; stdout carries only the result line
  process.stderr.write(`[mcp-e2e] ${line}\n`);
}

/** Claims of a JWT, for assertions only (the MCP server and Keycloak verified it). */
function audList(aud) {
  if (aud === undefined || aud === null) return [];
  return Array.isArray(aud) ? aud : [aud];
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP helpers (Keycloak admin API, raw requests)

async function json(res) {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return { raw: text.slice(0, 200) };
  }
}

async function adminToken() {
  const res = await fetch(`${cfg.keycloakUrl}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'admin-cli',
      username: cfg.adminUser,
      password: cfg.adminPassword,
    }),
  });
  const body = await json(res);
  assert(res.ok && body.access_token, `admin token (master realm, admin-cli): HTTP ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`);
  return body.access_token;
}

async function admin(method, p, token, body) {
  const res = await fetch(`${cfg.keycloakUrl}/admin/realms/${cfg.realm}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await json(res), location: res.headers.get('location') };
}

/** Revokes the test user's active grants to cfg.agent through cfg.clientId; returns how many. */
async function revokeEarlierGrants(token) {
  const users = await admin('GET', `/users?username=${encodeURIComponent(cfg.username)}&exact=true`, token);
  assert(users.status === 200 && users.body.length === 1, `admin: find user ${cfg.username}: HTTP ${users.status}`);
  const userId = users.body[0].id;
  const grants = await admin('GET', `/agent-auth/users/${userId}/delegations`, token);
  assert(grants.status === 200, `admin: list ${cfg.username}'s delegation grants: HTTP ${grants.status}`);
  let n = 0;
  for (const g of grants.body.filter((g) => g.agent === cfg.agent && g.host === cfg.clientId && g.active !== false)) {
    const del = await admin('DELETE', `/agent-auth/users/${userId}/delegations/${g.id}`, token);
    assert(del.status === 204, `admin: revoke grant ${g.id}: HTTP ${del.status}`);
    n++;
  }
  return n;
}

/** Deletes the test user's connections on cfg.connector (RFC 7009 upstream, then the row); returns how many. */
async function removeConnections(token) {
  const users = await admin('GET', `/users?username=${encodeURIComponent(cfg.username)}&exact=true`, token);
  assert(users.status === 200 && users.body.length === 1, `admin: find user ${cfg.username}: HTTP ${users.status}`);
  const userId = users.body[0].id;
  const list = await admin('GET', `/agent-auth/users/${userId}/connections`, token);
  assert(list.status === 200, `admin: list ${cfg.username}'s connections: HTTP ${list.status}`);
  let n = 0;
  for (const c of list.body.filter((c) => c.connector === cfg.connector)) {
    const del = await admin('DELETE', `/agent-auth/users/${userId}/connections/${c.id}`, token);
    assert(del.status === 204, `admin: delete connection ${c.id}: HTTP ${del.status}`);
    n++;
  }
  return n;
}

/** The test user's connections on cfg.connector (admin API): id, account, status. */
async function connections(token, userId) {
  const list = await admin('GET', `/agent-auth/users/${encodeURIComponent(userId)}/connections`, token);
  assert(list.status === 200, `admin: list ${cfg.username}'s connections: HTTP ${list.status}`);
  return list.body.filter((c) => c.connector === cfg.connector).map((c) => ({ id: c.id, account: c.account, status: c.status }));
}

/** callTool, then the text content; asserts no token-shaped string in it. */
async function callToolText(client, name, args = {}) {
  const result = await client.callTool({ name, arguments: args });
  const text = result.content?.find((c) => c.type === 'text')?.text ?? '';
  assert(!TOKEN_SHAPE.test(text), `the ${name} output contains a token`);
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    assert(false, `${name}: the text content is not JSON: ${text.slice(0, 200)}`);
  }
  return { isError: result.isError === true, body, text };
}

/** Creates (or brings back to the expected shape) a resource-server client for cfg.otherResource. */
async function ensureOtherResourceServer(token) {
  const rep = {
    clientId: cfg.otherResourceClient,
    name: 'Other resource server (MCP E2E)',
    description: 'Another MCP server: tokens for it must not be accepted by calendar-agent.',
    enabled: true,
    protocol: 'openid-connect',
    publicClient: false,
    bearerOnly: false,
    standardFlowEnabled: false,
    directAccessGrantsEnabled: false,
    serviceAccountsEnabled: false,
    attributes: {
      'agent_auth.resource_uris': cfg.otherResource,
      'agent_auth.resource_clients': `${cfg.clientId} agent-host`,
    },
  };
  const found = await admin('GET', `/clients?clientId=${encodeURIComponent(cfg.otherResourceClient)}`, token);
  assert(found.status === 200, `admin: list clients: HTTP ${found.status}`);
  if (found.body.length === 0) {
    const created = await admin('POST', '/clients', token, rep);
    assert(created.status === 201, `admin: create ${cfg.otherResourceClient}: HTTP ${created.status} ${JSON.stringify(created.body)}`);
    return 'created';
  }
  const existing = found.body[0];
  const updated = await admin('PUT', `/clients/${existing.id}`, token, {
    ...existing,
    attributes: { ...(existing.attributes ?? {}), ...rep.attributes },
  });
  assert(updated.status === 204, `admin: update ${cfg.otherResourceClient}: HTTP ${updated.status} ${JSON.stringify(updated.body)}`);
  return 'updated';
}

// ---------------------------------------------------------------------------------------------------------------
// the redirect target: a loopback listener (RFC 8252 7.3); Keycloak matches http://127.0.0.1/* on any port

function startCallbackServer() {
  const waiters = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    const error = url.searchParams.get('error');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>MCP client: authorization ${error ? 'failed' : 'complete'}</title>
<style>body{font-family:sans-serif;margin:3em;color:#222}h1{font-size:1.4em}code{background:#eee;padding:2px 4px}</style></head>
<body><h1>MCP client (${cfg.clientId}): authorization ${error ? 'failed' : 'complete'}</h1>
<p>${error ? `Error <code>${escapeHtml(error)}</code>` : 'An authorization code came back to the loopback redirect URI.'}
 Issuer: <code>${escapeHtml(url.searchParams.get('iss') ?? '(none)')}</code></p>
<p>The MCP client now redeems the code with its PKCE verifier and <code>resource=${escapeHtml(cfg.mcpUrl)}</code>.
You may close this window.</p></body></html>`);
    const w = waiters.shift();
    if (w) w(url);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        redirectUri: `http://127.0.0.1:${port}/callback`,
        next: () => new Promise((r) => waiters.push(r)),
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

function upstreamResultPage(report) {
  return `<!doctype html><html><head><title>MCP tool result</title>
<style>body{font-family:sans-serif;margin:2.5em;color:#222}h1{font-size:1.4em}
pre{background:#f4f4f4;padding:1em;border:1px solid #ddd;font-size:13px}</style></head><body>
<h1>MCP client &rarr; ${escapeHtml(cfg.mcpUrl)}: tools/call ${escapeHtml(UPSTREAM_TOOL)}</h1>
<p>${escapeHtml(cfg.username)}'s account at <code>${escapeHtml(report.connector)}</code>, read by ${escapeHtml(cfg.agent)}
through the brokered proxy: <strong>${escapeHtml(report.account)}</strong></p>
<pre>${escapeHtml(JSON.stringify(report, null, 2))}</pre></body></html>`;
}

function resultPage(tools, report) {
  const act = report.delegated?.act ?? {};
  return `<!doctype html><html><head><title>MCP tool result</title>
<style>body{font-family:sans-serif;margin:2.5em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}
pre{background:#f4f4f4;padding:1em;border:1px solid #ddd;font-size:13px}td{padding:2px 12px 2px 0}</style></head><body>
<h1>MCP client &rarr; ${escapeHtml(cfg.mcpUrl)}: tools/call ${escapeHtml(TOOL)}</h1>
<table><tr><td>tools/list</td><td><code>${escapeHtml(tools.join(', '))}</code></td></tr>
<tr><td>user (sub)</td><td><code>${escapeHtml(report.delegated?.sub)}</code> (${escapeHtml(cfg.username)})</td></tr>
<tr><td>acting agent (act.client_id)</td><td><code>${escapeHtml(act.client_id)}</code></td></tr>
<tr><td>caller token may_act</td><td><code>${escapeHtml(JSON.stringify(report.caller?.may_act ?? null))}</code></td></tr></table>
<h2>Tool output (JSON text)</h2><pre>${escapeHtml(JSON.stringify(report, null, 2))}</pre></body></html>`;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---------------------------------------------------------------------------------------------------------------
// the MCP client's OAuth side: a pre-registered public client (no DCR), everything in memory

class InMemoryOAuthProvider {
  constructor(redirectUri) {
    this._redirectUri = redirectUri;
    this._client = { client_id: cfg.clientId };
    this._tokens = undefined;
    this._verifier = undefined;
    this._discovery = undefined;
    this.lastState = undefined;
    this.authorizationUrl = undefined;
  }
  get redirectUrl() {
    return this._redirectUri;
  }
  get clientMetadata() {
    return {
      client_name: 'Agent Auth MCP E2E',
      redirect_uris: [this._redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() {
    this.lastState = randomBytes(16).toString('base64url');
    return this.lastState;
  }
  clientInformation() {
    return this._client;
  }
  saveClientInformation(info) {
    this._client = info;
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this._tokens = tokens;
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = new URL(url);
  }
  saveCodeVerifier(v) {
    this._verifier = v;
  }
  codeVerifier() {
    if (!this._verifier) throw new Error('no PKCE code verifier saved');
    return this._verifier;
  }
  saveDiscoveryState(state) {
    this._discovery = state;
  }
  discoveryState() {
    return this._discovery;
  }
}

/** fetch that records what the SDK asks for: method, URL without query, status, and token-request parameter names. */
function recordingFetch(trail) {
  return async (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const entry = { method, url: `${url.origin}${url.pathname}` };
    if (init?.body instanceof URLSearchParams) {
      const p = init.body;
      entry.form = {
        grant_type: p.get('grant_type'),
        client_id: p.get('client_id'),
        resource: p.getAll('resource'),
        scope: p.get('scope'),
        has_code: p.has('code'),
        has_code_verifier: p.has('code_verifier'),
        has_client_secret: p.has('client_secret'),
      };
    }
    const res = await fetch(input, init);
    entry.status = res.status;
    trail.push(entry);
    return res;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// browser

async function launchBrowser() {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'mcp-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: cfg.chromium,
    headless: true,
    viewport: { width: 1100, height: 860 },
    locale: 'en-US',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.setDefaultTimeout(cfg.timeoutMs);
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

async function shot(page, name) {
  const file = path.join(cfg.screenshots, `mcp-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  summary.screenshots = [...(summary.screenshots ?? []), file];
  log(`screenshot ${file}`);
  return file;
}

/** Navigates to an authorization URL in an already signed-in browser and returns the callback URL. */
async function browserCodeFlow(page, callback, authUrl, what) {
  const came = callback.next();
  await page.goto(authUrl.href);
  const url = await withTimeoutOf(came, `${what}: redirect back to the loopback callback`);
  return url;
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  await mkdir(cfg.screenshots, { recursive: true });
  const callback = await startCallbackServer();
  let browser;
  try {
    // ---- preflight
    const as = await step('preflight', async () => {
      const prmUrl = new URL(`/.well-known/oauth-protected-resource${new URL(cfg.mcpUrl).pathname}`, cfg.mcpUrl);
      const prmRes = await fetch(prmUrl).catch((e) => assert(false, `MCP server not reachable at ${prmUrl}: ${e.cause?.code ?? e.message}`));
      assert(prmRes.ok, `${prmUrl}: HTTP ${prmRes.status}`);
      const prm = await prmRes.json();
      assertEq(prm.resource, cfg.mcpUrl, 'protected resource metadata: resource');
      assertEq(prm.authorization_servers, [cfg.issuer], 'protected resource metadata: authorization_servers');
      assert(prm.scopes_supported?.includes(delegationScope), `protected resource metadata: scopes_supported ${JSON.stringify(prm.scopes_supported)} lacks ${delegationScope}`);
      summary.protectedResourceMetadata = prm;
      // start from nothing: no earlier grant from the user to the agent through this client (it would skip the
      // consent screen, as Keycloak's remembered consent does)
      const adm = await adminToken();
      summary.revokedEarlierGrants = await revokeEarlierGrants(adm);
      // and no connected account on the connector, so upstream_profile first answers connection_required
      summary.removedConnections = await removeConnections(adm);
      const config = await oidc.discovery(new URL(cfg.issuer), cfg.clientId, undefined, oidc.None(), {
        execute: [oidc.allowInsecureRequests],
      });
      return config;
    });
    const asMeta = as.serverMetadata();

    // ---- a. connect -> 401 -> discovery, PKCE, resource
    const provider = new InMemoryOAuthProvider(callback.redirectUri);
    const trail = [];
    const sdkFetch = recordingFetch(trail);
    const transport1 = new StreamableHTTPClientTransport(new URL(cfg.mcpUrl), { authProvider: provider, fetch: sdkFetch });
    const client1 = new Client({ name: 'agent-auth-mcp-e2e', version: '0.1.0' });
    const authUrl = await step('a_connect_401_discovery', async () => {
      let err;
      try {
        await client1.connect(transport1);
      } catch (e) {
        err = e;
      }
      assert(err instanceof UnauthorizedError, `first connect: expected UnauthorizedError (401 then a redirect to log in), got ${err ? `${err.name}: ${err.message}` : 'success'}`);
      await client1.close().catch(() => {});
      const first = trail[0];
      assert(first && first.method === 'POST' && first.url === cfg.mcpUrl && first.status === 401, `first request: expected POST ${cfg.mcpUrl} -> 401, got ${JSON.stringify(first)}`);
      const prmIndex = trail.findIndex((e) => e.url.includes('/.well-known/oauth-protected-resource') && e.status === 200);
      const asIndex = trail.findIndex((e) => /\/\.well-known\/(oauth-authorization-server|openid-configuration)/.test(e.url) && e.status === 200);
      assert(prmIndex > 0, `the SDK did not read the protected resource metadata (RFC 9728): ${JSON.stringify(trail)}`);
      assert(asIndex > prmIndex, `the SDK did not read the authorization server metadata (RFC 8414/OIDC) after RFC 9728: ${JSON.stringify(trail)}`);
      assert(trail.every((e) => !/\/register$/.test(e.url)), 'the SDK tried dynamic client registration');
      summary.discovery = trail.map((e) => `${e.method} ${e.url} ${e.status}`);
      const u = provider.authorizationUrl;
      assert(u, 'the SDK did not produce an authorization URL');
      const p = u.searchParams;
      assertEq(`${u.origin}${u.pathname}`, asMeta.authorization_endpoint, 'authorization URL endpoint');
      assertEq(p.get('client_id'), cfg.clientId, 'authorization URL client_id');
      assertEq(p.get('response_type'), 'code', 'authorization URL response_type');
      assertEq(p.getAll('resource'), [cfg.mcpUrl], 'authorization URL resource');
      assertEq(p.get('code_challenge_method'), 'S256', 'authorization URL code_challenge_method');
      assert(/^[A-Za-z0-9_-]{43}$/.test(p.get('code_challenge') ?? ''), 'authorization URL code_challenge is not an S256 challenge');
      assertEq(p.get('redirect_uri'), callback.redirectUri, 'authorization URL redirect_uri');
      assertEq(p.get('state'), provider.lastState, 'authorization URL state');
      const scope = (p.get('scope') ?? '').split(' ');
      assert(scope.includes(delegationScope), `authorization URL scope "${p.get('scope')}" lacks ${delegationScope}`);
      summary.authorizationRequest = {
        endpoint: `${u.origin}${u.pathname}`,
        resource: p.get('resource'),
        code_challenge_method: p.get('code_challenge_method'),
        scope: p.get('scope'),
        redirect_uri: p.get('redirect_uri'),
      };
      return u;
    });

    // ---- b. browser: login, agent consent, Allow
    let page;
    const code = await step('b_login_consent_allow', async () => {
      browser = await launchBrowser();
      page = await browser.context.newPage();
      const came = callback.next();
      await page.goto(authUrl.href);
      await page.locator('#username').waitFor();
      await shot(page, 'login');
      await page.fill('#username', cfg.username);
      await page.fill('#password', cfg.password);
      await page.click('#kc-login');
      const consentOrBack = await withTimeoutOf(
        Promise.race([
          page.locator('#kc-agent-consent-form').waitFor().then(() => 'consent'),
          came.then(() => 'callback'),
          page.locator('#input-error, .kc-feedback-text, .pf-m-danger, #kc-error-message').first().waitFor().then(() => 'error'),
        ]),
        'the agent consent screen after login',
      );
      if (consentOrBack === 'callback') {
        await page.waitForLoadState('load');
        await shot(page, 'unexpected');
        assert(false, 'after login: the browser went straight back to the client, no agent consent screen was shown');
      }
      if (consentOrBack !== 'consent') {
        const text = (await page.locator('body').innerText().catch(() => '')).replace(/\s+/g, ' ').slice(0, 300);
        await shot(page, 'unexpected');
        assert(false, `after login: expected the agent consent screen (#kc-agent-consent-form), got ${consentOrBack}: ${text}`);
      }
      const title = await page.locator('#agent-consent-title').innerText();
      assert(title.includes(cfg.agentName), `consent title "${title}" does not name ${cfg.agentName}`);
      summary.consent = { title: title.replace(/\s+/g, ' ').trim() };
      await shot(page, 'consent');
      await page.click('#kc-agent-allow');
      return finishBrowser(await withTimeoutOf(came, 'the redirect back to the loopback callback after Allow'));
    });
    async function finishBrowser(url) {
      await page.waitForLoadState('load');
      await shot(page, 'callback');
      const q = url.searchParams;
      assert(!q.get('error'), `authorization response: error=${q.get('error')} ${q.get('error_description') ?? ''}`);
      assertEq(q.get('state'), provider.lastState, 'authorization response state');
      assertEq(q.get('iss'), cfg.issuer, 'authorization response iss (RFC 9207)');
      assert(q.get('code'), 'authorization response has no code');
      return q.get('code');
    }

    // ---- finishAuth, connect again
    const client2 = new Client({ name: 'agent-auth-mcp-e2e', version: '0.1.0' });
    await step('b_finish_auth_connect', async () => {
      const before = trail.length;
      await transport1.finishAuth(code);
      const tokenReq = trail.slice(before).find((e) => e.url === asMeta.token_endpoint);
      assert(tokenReq, 'finishAuth did not call the token endpoint');
      assertEq(tokenReq.status, 200, 'token endpoint status for the code');
      assertEq(tokenReq.form?.grant_type, 'authorization_code', 'token request grant_type');
      assertEq(tokenReq.form?.resource, [cfg.mcpUrl], 'token request resource');
      assert(tokenReq.form?.has_code_verifier, 'token request has no code_verifier');
      assert(!tokenReq.form?.has_client_secret, 'a public client sent a client_secret');
      summary.tokenRequest = tokenReq.form;
      const transport2 = new StreamableHTTPClientTransport(new URL(cfg.mcpUrl), { authProvider: provider, fetch: sdkFetch });
      await client2.connect(transport2);
    });

    // ---- c. the token, the tool
    const sdkTokens = provider.tokens();
    const caller = claims(sdkTokens.access_token);
    await step('c_token_and_tool', async () => {
      assertEq(audList(caller.aud), [cfg.mcpUrl], 'SDK access token aud');
      assertEq(caller.azp, cfg.clientId, 'SDK access token azp');
      assertEq(caller.iss, cfg.issuer, 'SDK access token iss');
      assert(caller.may_act && typeof caller.may_act === 'object', `SDK access token has no may_act (scope ${caller.scope})`);
      assertEq(caller.may_act.client_id, cfg.agent, 'SDK access token may_act.client_id');
      assert(!caller.act, 'SDK access token carries act');
      // the consent screen recorded a durable, revocable grant (user, agent, the MCP client)
      const adm = await adminToken();
      const grants = await admin('GET', `/agent-auth/users/${encodeURIComponent(caller.sub)}/delegations`, adm);
      assertEq(grants.status, 200, 'admin: list the user\'s delegation grants');
      const grant = grants.body.find((g) => g.agent === cfg.agent && g.host === cfg.clientId && g.active !== false);
      assert(grant, `no active grant from ${cfg.username} to ${cfg.agent} via ${cfg.clientId}: ${JSON.stringify(grants.body.map((g) => [g.agent, g.host, g.origin, g.active]))}`);
      assertEq(grant.origin, 'consent_scope', 'grant origin');
      // the agent's policy lists the connector, and the consent screen recorded it in the grant
      assert((grant.connectors ?? []).includes(cfg.connector), `the grant's connectors ${JSON.stringify(grant.connectors)} lack ${cfg.connector}`);
      summary.grant = { agent: grant.agent, host: grant.host, origin: grant.origin, scopes: grant.scopes, connectors: grant.connectors, expiresAt: grant.expiresAt ?? null };
      summary.token = { aud: caller.aud, azp: caller.azp, may_act: caller.may_act, scope: caller.scope, has_refresh_token: Boolean(sdkTokens.refresh_token) };

      const tools = await client2.listTools();
      const names = tools.tools.map((t) => t.name);
      assert(names.includes(TOOL), `listTools: ${JSON.stringify(names)} lacks ${TOOL}`);
      assert(names.includes(UPSTREAM_TOOL), `listTools: ${JSON.stringify(names)} lacks ${UPSTREAM_TOOL}`);
      const result = await client2.callTool({ name: TOOL, arguments: {} });
      const text = result.content?.find((c) => c.type === 'text')?.text ?? '';
      assert(!result.isError, `callTool ${TOOL} failed: ${text}`);
      assert(!/eyJ[A-Za-z0-9_-]{8,}\.eyJ/.test(text), 'the tool output contains a token');
      const report = JSON.parse(text);
      assertEq(report.delegated?.act?.client_id, cfg.agent, 'delegated token act.client_id');
      assertEq(report.delegated?.sub, caller.sub, 'delegated token sub (the caller)');
      assertEq(report.caller?.sub, caller.sub, 'tool report caller.sub');
      assertEq(report.caller?.may_act?.client_id, cfg.agent, 'tool report caller.may_act.client_id');
      assert(!report.delegated?.may_act, 'delegated token carries may_act');
      summary.tools = names;
      summary.tool = { name: TOOL, delegated: report.delegated, caller: report.caller, sub_matches: report.delegated.sub === caller.sub };
      await client2.close();
      // what the MCP client got back, rendered for the result screenshot (claims only, never a token)
      await page.setContent(resultPage(names, report));
      await shot(page, 'result');
    });

    // ---- d. tokens for another resource, or for no resource, are refused by the MCP server
    await step('d_other_resource_rejected', async () => {
      const adm = await adminToken();
      summary.otherResourceClient = await ensureOtherResourceServer(adm);
      const out = {};
      for (const [name, resource] of [['otherResource', cfg.otherResource], ['noResource', undefined]]) {
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const params = {
          redirect_uri: callback.redirectUri,
          scope: 'openid',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
        };
        if (resource) params.resource = resource;
        // same browser: alice's SSO session answers at once, no login or consent screen
        const back = await browserCodeFlow(page, callback, oidc.buildAuthorizationUrl(as, params), `${name} code flow`);
        assert(!back.searchParams.get('error'), `${name}: authorization error ${back.searchParams.get('error')} ${back.searchParams.get('error_description') ?? ''}`);
        const tokens = await oidc.authorizationCodeGrant(as, back, { pkceCodeVerifier: verifier, expectedState: state }, resource ? { resource } : undefined);
        const c = claims(tokens.access_token);
        if (resource) assertEq(audList(c.aud), [resource], `${name} token aud`);
        else assert(!audList(c.aud).includes(cfg.mcpUrl), `${name} token aud ${JSON.stringify(c.aud)} contains ${cfg.mcpUrl}`);
        const res = await fetch(cfg.mcpUrl, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${tokens.access_token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'initialize',
            params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'e2e-raw', version: '0' } },
          }),
        });
        const www = res.headers.get('www-authenticate') ?? '';
        const body = await json(res);
        assertEq(res.status, 401, `MCP server status for a ${name} token (aud ${JSON.stringify(c.aud)})`);
        assert(/error="invalid_token"/.test(www), `${name}: WWW-Authenticate lacks error="invalid_token": ${www}`);
        assert(www.includes('resource_metadata="'), `${name}: WWW-Authenticate lacks resource_metadata: ${www}`);
        assertEq(body.error, 'invalid_token', `${name}: response body error`);
        out[name] = { aud: c.aud ?? null, status: res.status, error: body.error, error_description: body.error_description };
      }
      summary.rejected = out;
    });

    // ---- e. invalid_target: authorization endpoint (redirect, not followed) and token endpoint (HTTP 400)
    await step('e_invalid_target', async () => {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(as, {
        redirect_uri: callback.redirectUri,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        resource: cfg.unknownResource,
      });
      const res = await fetch(url, { redirect: 'manual' });
      assert(res.status === 302 || res.status === 303, `authorization endpoint with resource=${cfg.unknownResource}: expected a redirect, got HTTP ${res.status}`);
      const location = new URL(res.headers.get('location'));
      assertEq(`${location.origin}${location.pathname}`, callback.redirectUri, 'invalid_target redirect target');
      const q = location.searchParams;
      assertEq(q.get('error'), 'invalid_target', 'authorization endpoint error');
      assertEq(q.get('state'), state, 'invalid_target redirect state');
      assertEq(q.get('iss'), cfg.issuer, 'invalid_target redirect iss');
      assert(!q.get('code'), 'invalid_target redirect carries a code');
      // the certified client library reads it as a well-formed error response (state and iss checked)
      let libErr;
      try {
        await oidc.authorizationCodeGrant(as, location, { pkceCodeVerifier: verifier, expectedState: state });
      } catch (e) {
        libErr = e;
      }
      assert(libErr instanceof oidc.AuthorizationResponseError, `openid-client: expected AuthorizationResponseError, got ${libErr ? `${libErr.name}: ${libErr.message}` : 'success'}`);
      assertEq(libErr.error, 'invalid_target', 'openid-client AuthorizationResponseError.error');

      // token endpoint: refresh the SDK's grant (authorised for the MCP server only) asking for another resource
      assert(sdkTokens.refresh_token, 'the SDK got no refresh token');
      let tokErr;
      try {
        await oidc.refreshTokenGrant(as, sdkTokens.refresh_token, { resource: cfg.otherResource });
      } catch (e) {
        tokErr = e;
      }
      assert(tokErr instanceof oidc.ResponseBodyError, `refresh with resource=${cfg.otherResource}: expected an OAuth error, got ${tokErr ? `${tokErr.name}: ${tokErr.message}` : 'success'}`);
      assertEq(tokErr.status, 400, 'refresh with a resource the grant did not authorise: HTTP status');
      assertEq(tokErr.error, 'invalid_target', 'refresh with a resource the grant did not authorise: error');
      summary.invalidTarget = {
        authorize: { resource: cfg.unknownResource, status: res.status, error: q.get('error'), error_description: q.get('error_description'), state_ok: q.get('state') === state, iss: q.get('iss') },
        token: { grant_type: 'refresh_token', resource: cfg.otherResource, status: tokErr.status, error: tokErr.error, error_description: tokErr.error_description },
      };
    });

    // ---- f. the brokered proxy through the MCP server: no connected account yet -> URL elicitation for a client that
    // declared it, else a tool error carrying the link
    const client4 = new Client({ name: 'agent-auth-mcp-e2e', version: '0.1.0' });
    const clientEl = new Client({ name: 'agent-auth-mcp-e2e-elicitation', version: '0.1.0' }, { capabilities: { elicitation: { url: {} } } });
    const elicitationsCompleted = [];
    clientEl.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => elicitationsCompleted.push(n.params.elicitationId));
    const connectUri = await step('f_upstream_connection_required', async () => {
      await clientEl.connect(new StreamableHTTPClientTransport(new URL(cfg.mcpUrl), { authProvider: provider, fetch: sdkFetch }));
      let elErr;
      try {
        const r = await clientEl.callTool({ name: UPSTREAM_TOOL, arguments: {} });
        elErr = new AssertionFailed(`${UPSTREAM_TOOL} for a client with URL elicitation: expected error -32042, got a result ${JSON.stringify(r).slice(0, 300)}`);
      } catch (e) {
        elErr = e;
      }
      if (elErr instanceof AssertionFailed) throw elErr;
      assert(elErr instanceof UrlElicitationRequiredError, `${UPSTREAM_TOOL} with URL elicitation: expected UrlElicitationRequiredError, got ${elErr?.name}: ${elErr?.message}`);
      assertEq(elErr.code, ErrorCode.UrlElicitationRequired, 'URL elicitation error code');
      assertEq(elErr.elicitations.length, 1, 'number of URL elicitations');
      const el = elErr.elicitations[0];
      assertEq(el.mode, 'url', 'elicitation mode');
      assert(typeof el.elicitationId === 'string' && el.elicitationId.length > 0, 'elicitation has no elicitationId');
      assert(!TOKEN_SHAPE.test(JSON.stringify(el)) && !TOKEN_SHAPE.test(elErr.message), 'the URL elicitation contains a token');

      await client4.connect(new StreamableHTTPClientTransport(new URL(cfg.mcpUrl), { authProvider: provider, fetch: sdkFetch }));
      const r = await callToolText(client4, UPSTREAM_TOOL);
      assert(r.isError, `${UPSTREAM_TOOL} before any connected account: expected a tool error, got ${r.text.slice(0, 300)}`);
      assertEq([r.body.type, r.body.code], ['ConnectionRequired', 'connection_required'], `${UPSTREAM_TOOL} error`);
      assertEq(r.body.status, 403, `${UPSTREAM_TOOL} error: the proxy's HTTP status`);
      assertEq(r.body.connector, cfg.connector, `${UPSTREAM_TOOL} error connector`);
      const link = r.body.connect_uri;
      assert(typeof link === 'string' && link.startsWith(`${cfg.connectorUri}/connect?`), `connect_uri ${link} is not ${cfg.connectorUri}/connect?...`);
      assertEq(new URL(link).searchParams.get('client_id'), cfg.agent, 'connect_uri client_id');
      assert(typeof r.body.message === 'string' && r.body.message.includes(link), `the error's message does not carry the link: ${r.body.message}`);
      assert(r.body.instructions?.includes(link), `the instructions do not carry the link: ${r.body.instructions}`);
      assertEq(el.url, link, 'the URL elicitation\'s url (the same connect link)');
      assert(elErr.message.includes(link), `the -32042 error message does not carry the link: ${elErr.message}`);
      summary.connectionRequired = r.body;
      summary.urlElicitation = { code: elErr.code, mode: el.mode, url: el.url, message: el.message, elicitationId: el.elicitationId };
      return link;
    });

    // ---- g. the user opens the link (same browser, already signed in to the realm): the connect page, Continue,
    // the upstream's login, the result page naming the account
    await step('g_connect_in_browser', async () => {
      await page.goto(connectUri);
      const first = await withTimeoutOf(
        Promise.race([
          page.locator('#kc-agent-connect-form').waitFor().then(() => 'connect'),
          page.locator('#kc-login').waitFor().then(() => 'login'),
        ]),
        'the connect page',
      );
      if (first === 'login') {
        // the realm's SSO session did not answer (it should have: alice signed in at step b): sign in again
        await page.fill('#username', cfg.username);
        await page.fill('#password', cfg.password);
        await page.click('#kc-login');
        await page.locator('#kc-agent-connect-form').waitFor();
      }
      const request = (await page.locator('#agent-connect-request').innerText()).replace(/\s+/g, ' ').trim();
      assert(request.includes(cfg.agentName), `the connect page "${request}" does not name ${cfg.agentName}`);
      await shot(page, 'connect');
      await page.click('#kc-agent-connect-allow');
      await page.waitForURL((u) => u.href.includes(`/realms/${cfg.upstreamRealm}/`));
      await page.locator('#username').waitFor();
      await shot(page, 'upstream-login');
      await page.fill('#username', cfg.upstreamUser);
      await page.fill('#password', cfg.upstreamPassword);
      await page.click('#kc-login');
      await page.locator('#agent-connect-result-message').waitFor();
      const message = (await page.locator('#agent-connect-result-message').innerText()).replace(/\s+/g, ' ').trim();
      const ok = await page.locator('#agent-connect-result').getAttribute('data-ok');
      await shot(page, 'connect-result');
      assertEq(ok, 'true', `connect result (${message})`);
      assert(message.includes(cfg.upstreamUser), `the result page "${message}" does not name ${cfg.upstreamUser}`);
      const conns = await connections(await adminToken(), caller.sub);
      assertEq(conns.map((c) => [c.account, c.status]), [[cfg.upstreamUser, 'ACTIVE']], `${cfg.username}'s connections on ${cfg.connector}`);
      summary.connected = { message, connection: conns[0] };
    });

    // ---- h. the eliciting client hears that the elicitation is complete (the MCP server polled the connection status,
    // no upstream call) and retries; the tool again: alice's upstream account through the proxy (the upstream token never
    // left Keycloak)
    await step('h_upstream_profile', async () => {
      const until = Date.now() + cfg.timeoutMs;
      while (elicitationsCompleted.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      assertEq(elicitationsCompleted, [summary.urlElicitation.elicitationId], 'notifications/elicitation/complete for the URL elicitation');
      const retried = await callToolText(clientEl, UPSTREAM_TOOL);
      assert(!retried.isError, `${UPSTREAM_TOOL} retried after the elicitation completed: ${retried.text.slice(0, 300)}`);
      assertEq(retried.body.account, cfg.upstreamUser, `${UPSTREAM_TOOL} account (the eliciting client's retry)`);
      await clientEl.close();
      summary.elicitationCompleted = elicitationsCompleted[0];
      const r = await callToolText(client4, UPSTREAM_TOOL);
      assert(!r.isError, `${UPSTREAM_TOOL} after connecting: ${r.text.slice(0, 300)}`);
      assertEq(r.body.account, cfg.upstreamUser, `${UPSTREAM_TOOL} account`);
      assertEq(r.body.connector, cfg.connector, `${UPSTREAM_TOOL} connector`);
      assertEq(r.body.profile?.preferred_username, cfg.upstreamUser, `${UPSTREAM_TOOL} profile.preferred_username`);
      assertEq(r.body.connection_id, summary.connected.connection.id, `${UPSTREAM_TOOL} connection_id`);
      // the same account, asked for by its connection id; an unknown id is a clear tool error
      const chosen = await callToolText(client4, UPSTREAM_TOOL, { connection_id: r.body.connection_id });
      assert(!chosen.isError, `${UPSTREAM_TOOL} with connection_id: ${chosen.text.slice(0, 300)}`);
      assertEq(chosen.body.account, cfg.upstreamUser, `${UPSTREAM_TOOL} account (by connection_id)`);
      const unknown = await callToolText(client4, UPSTREAM_TOOL, { connection_id: 'no-such-connection' });
      assert(unknown.isError, `${UPSTREAM_TOOL} with an unknown connection_id: expected a tool error, got ${unknown.text.slice(0, 300)}`);
      assertEq([unknown.body.type, unknown.body.status, unknown.body.code], ['ConnectionNotFound', 404, 'connection_not_found'], `${UPSTREAM_TOOL} unknown connection_id`);
      assertEq([unknown.body.connector, unknown.body.connection_id], [cfg.connector, 'no-such-connection'], `${UPSTREAM_TOOL} unknown connection_id: connector and connection_id`);
      await client4.close();
      summary.upstreamProfile = r.body;
      summary.upstreamUnknownConnection = unknown.body;
      await page.setContent(upstreamResultPage(r.body));
      await shot(page, 'upstream-result');
    });

    // ---- i. after revocation: the caller's token is still a valid token for the MCP server, but Keycloak refuses the
    // exchange; the tools report the SDK's GrantRevoked (Keycloak's OAuth error and status) as a tool error
    await step('i_revoked_grant_tool_error', async () => {
      const revoked = await revokeEarlierGrants(await adminToken());
      assert(revoked >= 1, `expected to revoke the grant the consent screen recorded, revoked ${revoked}`);
      const client3 = new Client({ name: 'agent-auth-mcp-e2e', version: '0.1.0' });
      await client3.connect(new StreamableHTTPClientTransport(new URL(cfg.mcpUrl), { authProvider: provider, fetch: sdkFetch }));
      const result = await client3.callTool({ name: TOOL, arguments: {} });
      await client3.close();
      const text = result.content?.find((c) => c.type === 'text')?.text ?? '';
      assert(result.isError === true, `callTool after revocation: expected a tool error, got ${text.slice(0, 200)}`);
      assert(!/eyJ[A-Za-z0-9_-]{8,}\.eyJ/.test(text), 'the tool error contains a token');
      const err = JSON.parse(text);
      assertEq(err.type, 'GrantRevoked', 'tool error type');
      assertEq(err.status, 400, 'tool error: Keycloak HTTP status');
      assert(['invalid_request', 'invalid_grant'].includes(err.code), `tool error code: expected Keycloak's invalid_request or invalid_grant: ${text}`);
      assert(typeof err.description === 'string' && /grant|delegation/i.test(err.description), `tool error has no description naming the grant: ${text}`);
      summary.revokedGrantToolError = err;
      // the brokered proxy's tool too: no exchange, so no proxy call
      const client5 = new Client({ name: 'agent-auth-mcp-e2e', version: '0.1.0' });
      await client5.connect(new StreamableHTTPClientTransport(new URL(cfg.mcpUrl), { authProvider: provider, fetch: sdkFetch }));
      const up = await callToolText(client5, UPSTREAM_TOOL);
      await client5.close();
      assert(up.isError, `${UPSTREAM_TOOL} after revocation: expected a tool error, got ${up.text.slice(0, 200)}`);
      assertEq([up.body.type, up.body.status], ['GrantRevoked', 400], `${UPSTREAM_TOOL} after revocation`);
      summary.revokedGrantUpstreamToolError = up.body;
    });

    summary.ok = true;
  } finally {
    if (browser) await browser.close();
    await callback.close();
  }
}

/** The one result line; anything shaped like a JWT is masked (belt and braces: nothing above stores one). */
function printSummary() {
  const line = JSON.stringify(summary).replace(/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*)?/g, '[token]');
  process.stdout.write(`MCP-E2E-RESULT ${line}\n`);
}

try {
  await main();
  summary.durationMs = Date.now() - t0;
  printSummary();
  process.exit(0);
} catch (e) {
  summary.ok = false;
  summary.failedStep = currentStep;
  summary.failure = e instanceof AssertionFailed ? e.message : `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
  if (e instanceof oidc.ResponseBodyError) summary.failure += ` (HTTP ${e.status} ${e.error}: ${e.error_description ?? ''})`;
  summary.durationMs = Date.now() - t0;
  log(`FAILED in ${currentStep}: ${summary.failure}`);
  if (!(e instanceof AssertionFailed) && e?.stack) log(e.stack.split('\n').slice(1, 6).join('\n'));
  printSummary();
  process.exit(1);
}
