// End-to-end: the official MCP TypeScript SDK client with only a `clientMetadataUrl` (a client ID metadata document,
// draft-ietf-oauth-client-id-metadata-document), never registered, against examples/mcp-calendar and a Keycloak realm
// with CIMD on (DESIGN section 11).
//
//   a. connect -> 401 -> discovery (RFC 9728, RFC 8414): the realm says client_id_metadata_document_supported, so the SDK
//      uses the URL as its client_id (no dynamic registration), with PKCE S256 and `resource`
//   b. headless Chromium: alice logs in; Keycloak's consent screen names the document's host; Yes
//   c. the code is redeemed by the SDK (client_id = the URL, no secret); the token's azp is the URL, its aud the MCP server
//   d. the MCP server accepts the token: tools/list
//   one line `MCP-CIMD-E2E-RESULT {...}` on stdout; exit 1 on the first failed assertion. Never prints a token.
//
// Configuration (environment): KEYCLOAK_URL, REALM, MCP_URL, CLIENT_METADATA_URL, E2E_USERNAME, E2E_PASSWORD, CHROMIUM,
// SCREENSHOT_DIR.

import { createServer } from 'node:http';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { chromium } from 'playwright-core';
import { AssertionFailed, assert, assertEq, claims, withTimeout } from './support.js';

const withTimeoutOf = (promise, what) => withTimeout(promise, what, cfg.timeoutMs);

const env = process.env;
const cfg = {
  keycloakUrl: (env.KEYCLOAK_URL || 'http://localhost:8080').replace(/\/+$/, ''),
  realm: env.REALM || 'cimd-mcp',
  mcpUrl: env.MCP_URL || 'http://localhost:3000/mcp',
  clientMetadataUrl: env.CLIENT_METADATA_URL,
  username: env.E2E_USERNAME || 'alice',
  password: env.E2E_PASSWORD || 'alice',
  chromium: env.CHROMIUM || '/usr/bin/chromium',
  screenshots: path.resolve(env.SCREENSHOT_DIR || 'screenshots'),
  timeoutMs: Number.parseInt(env.E2E_STEP_TIMEOUT_MS || '30000', 10),
};
cfg.issuer = `${cfg.keycloakUrl}/realms/${cfg.realm}`;
const TOKEN_SHAPE = /eyJ[A-Za-z0-9_-]{8,}\.eyJ/;

const t0 = Date.now();
const summary = { ok: false, steps: {} };
let currentStep = 'setup';

async function step(name, fn) {
  currentStep = name;
  const start = Date.now();
  process.stderr.write(`[mcp-cimd-e2e] -- ${name}\n`);
  const result = await fn();
  summary.steps[name] = Date.now() - start;
  return result;
}

// the redirect target: a loopback listener (RFC 8252 7.3) on an ephemeral port; the document lists it without a port
function startCallbackServer() {
  const waiters = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>MCP client (client ID metadata document)</title><p>Authorization response received. You may close this window.</p>');
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

/** An MCP client that has nothing but the URL of its metadata document: no client information stored, no secret. */
class MetadataUrlOAuthProvider {
  constructor(redirectUri) {
    this._redirectUri = redirectUri;
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this._discovery = undefined;
    this.lastState = undefined;
    this.authorizationUrl = undefined;
    this.savedClientInformation = [];
  }
  get redirectUrl() {
    return this._redirectUri;
  }
  get clientMetadataUrl() {
    return cfg.clientMetadataUrl;
  }
  get clientMetadata() {
    return {
      client_name: 'Agent Auth MCP CIMD E2E',
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
    this.savedClientInformation.push(Object.keys(info).sort());
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

/** fetch that records what the SDK asks for: method, URL without query, status, token-request parameters (no values of secrets). */
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
        has_code_verifier: p.has('code_verifier'),
        has_client_secret: p.has('client_secret'),
      };
      entry.basicAuth = new Headers(init?.headers ?? {}).has('authorization');
    }
    const res = await fetch(input, init);
    entry.status = res.status;
    if (/\/\.well-known\/oauth-authorization-server/.test(url.pathname) && res.ok) {
      const meta = await res.clone().json();
      entry.cimd = meta.client_id_metadata_document_supported ?? null;
      entry.registrationEndpoint = Boolean(meta.registration_endpoint);
    }
    trail.push(entry);
    return res;
  };
}

async function main() {
  assert(cfg.clientMetadataUrl, 'CLIENT_METADATA_URL is not set');
  await mkdir(cfg.screenshots, { recursive: true });
  const callback = await startCallbackServer();
  let context;
  let userDataDir;
  try {
    const provider = new MetadataUrlOAuthProvider(callback.redirectUri);
    const trail = [];
    const sdkFetch = recordingFetch(trail);

    // ---- a. connect -> 401 -> discovery -> the URL as client_id
    const authUrl = await step('a_connect_401_discovery', async () => {
      const client = new Client({ name: 'agent-auth-mcp-cimd-e2e', version: '0.1.0' });
      let err;
      try {
        await client.connect(new StreamableHTTPClientTransport(new URL(cfg.mcpUrl), { authProvider: provider, fetch: sdkFetch }));
      } catch (e) {
        err = e;
      }
      assert(err instanceof UnauthorizedError, `first connect: expected UnauthorizedError, got ${err ? `${err.name}: ${err.message}` : 'success'}`);
      await client.close().catch(() => {});
      const as = trail.find((e) => e.cimd !== undefined);
      assert(as, `the SDK did not read the RFC 8414 metadata: ${JSON.stringify(trail)}`);
      assertEq(as.cimd, true, 'client_id_metadata_document_supported in the authorization server metadata');
      assert(trail.every((e) => !/\/clients-registrations\/|\/register$/.test(e.url)), `the SDK tried dynamic client registration: ${JSON.stringify(trail)}`);
      const u = provider.authorizationUrl;
      assert(u, 'the SDK did not produce an authorization URL');
      const p = u.searchParams;
      assertEq(p.get('client_id'), cfg.clientMetadataUrl, 'authorization URL client_id (the metadata document URL)');
      assertEq(p.get('code_challenge_method'), 'S256', 'authorization URL code_challenge_method');
      assertEq(p.getAll('resource'), [cfg.mcpUrl], 'authorization URL resource');
      assertEq(p.get('redirect_uri'), callback.redirectUri, 'authorization URL redirect_uri');
      summary.discovery = trail.map((e) => `${e.method} ${e.url} ${e.status}`);
      summary.authorizationRequest = { client_id: p.get('client_id'), redirect_uri: p.get('redirect_uri'), scope: p.get('scope'),
        resource: p.getAll('resource'), code_challenge_method: p.get('code_challenge_method') };
      summary.clientInformationKeys = provider.savedClientInformation;
      return u;
    });

    // ---- b. the browser: login, Keycloak's consent screen, Yes
    let page;
    const code = await step('b_login_consent', async () => {
      userDataDir = await mkdtemp(path.join(tmpdir(), 'mcp-cimd-e2e-chromium-'));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: cfg.chromium,
        headless: true,
        viewport: { width: 1000, height: 800 },
        locale: 'en-US',
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync'],
      });
      context.setDefaultTimeout(cfg.timeoutMs);
      page = await context.newPage();
      const came = callback.next();
      await page.goto(authUrl.href);
      await page.locator('#username').waitFor();
      await page.fill('#username', cfg.username);
      await page.fill('#password', cfg.password);
      await page.click('#kc-login');
      await withTimeoutOf(page.locator('button[name="accept"]').waitFor(), "Keycloak's consent screen");
      const text = (await page.locator('body').innerText()).replace(/\s+/g, ' ');
      const host = new URL(cfg.clientMetadataUrl).hostname;
      assert(text.includes(host), `the consent screen does not name the document's host ${host}: ${text.slice(0, 300)}`);
      summary.consent = { text: text.slice(0, 600) };
      await page.screenshot({ path: path.join(cfg.screenshots, 'mcp-cimd-consent.png'), fullPage: true });
      await page.click('button[name="accept"]');
      const url = await withTimeoutOf(came, 'the redirect back to the loopback callback');
      const q = url.searchParams;
      assert(!q.get('error'), `authorization response: error=${q.get('error')} ${q.get('error_description') ?? ''}`);
      assertEq(q.get('state'), provider.lastState, 'authorization response state');
      assertEq(q.get('iss'), cfg.issuer, 'authorization response iss');
      assert(q.get('code'), 'authorization response has no code');
      return q.get('code');
    });

    // ---- c. the SDK redeems the code; d. the MCP server accepts the token
    await step('c_token_d_tools_list', async () => {
      const transport = new StreamableHTTPClientTransport(new URL(cfg.mcpUrl), { authProvider: provider, fetch: sdkFetch });
      await transport.finishAuth(code);
      const tokenCall = trail.find((e) => e.form?.grant_type === 'authorization_code');
      assert(tokenCall && tokenCall.status === 200, `token request: ${JSON.stringify(tokenCall)}`);
      assertEq(tokenCall.form.client_id, cfg.clientMetadataUrl, 'token request client_id');
      assertEq(tokenCall.form.has_client_secret, false, 'token request carries a client secret');
      assertEq(tokenCall.basicAuth, false, 'token request uses HTTP Basic client authentication');
      const tokens = provider.tokens();
      assert(tokens?.access_token, 'no access token');
      const c = claims(tokens.access_token);
      assertEq(c.azp, cfg.clientMetadataUrl, 'access token azp');
      const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
      assert(aud.includes(cfg.mcpUrl), `access token aud ${JSON.stringify(aud)} lacks ${cfg.mcpUrl}`);
      summary.token = { azp: c.azp, aud, iss: c.iss, scope: c.scope, refresh: Boolean(tokens.refresh_token) };
      summary.tokenRequest = tokenCall.form;
      const client = new Client({ name: 'agent-auth-mcp-cimd-e2e', version: '0.1.0' });
      await client.connect(transport);
      const tools = await client.listTools();
      await client.close();
      const names = tools.tools.map((t) => t.name);
      assert(names.length > 0, 'tools/list returned no tools');
      assert(!TOKEN_SHAPE.test(JSON.stringify(tools)), 'tools/list contains a token');
      summary.tools = names;
      await page.setContent(`<!doctype html><title>MCP tools</title><h1>tools/list from ${cfg.mcpUrl}</h1><p>client_id: <code>${cfg.clientMetadataUrl}</code></p><pre>${names.join('\n')}</pre>`);
      await page.screenshot({ path: path.join(cfg.screenshots, 'mcp-cimd-tools.png'), fullPage: true });
    });
    summary.ok = true;
  } finally {
    if (context) await context.close().catch(() => {});
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
    await callback.close();
  }
}

function printSummary() {
  const line = JSON.stringify(summary).replace(/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*)?/g, '[token]');
  process.stdout.write(`MCP-CIMD-E2E-RESULT ${line}\n`);
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
  summary.durationMs = Date.now() - t0;
  process.stderr.write(`[mcp-cimd-e2e] FAILED in ${currentStep}: ${summary.failure}\n`);
  if (!(e instanceof AssertionFailed) && e?.stack) process.stderr.write(`${e.stack.split('\n').slice(1, 6).join('\n')}\n`);
  printSummary();
  process.exit(1);
}
