// Shared by the end-to-end programs (run.js, quickstart.js): configuration from the environment, reporting (one
// result line, assertions), the admin REST API for fresh users, the loopback redirect, Chromium and its login and
// connect pages. Each program is its own process: the state here is per program.

import { createServer } from 'node:http';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
export const cfg = {
  keycloakUrl: (env.KEYCLOAK_URL || 'http://localhost:8080').replace(/\/+$/, ''),
  realm: env.REALM || 'agents-demo',
  upstreamRealm: env.UPSTREAM_REALM || 'upstream-saas',
  chromium: env.CHROMIUM || '/usr/bin/chromium',
  screenshots: path.resolve(env.SCREENSHOT_DIR || path.join(here, '..', '..', 'target', 'screenshots')),
  adminUser: env.ADMIN_USER || 'admin',
  adminPassword: env.ADMIN_PASSWORD || 'admin',
  timeoutMs: Number.parseInt(env.E2E_STEP_TIMEOUT_MS || '30000', 10),
  host: 'agent-host',
  hostSecret: 'agent-host-secret',
  agent: 'calendar-agent',
  agentSecret: 'calendar-agent-secret',
  agentName: 'Calendar Agent',
  downstream: 'research-agent',
  downstreamSecret: 'research-agent-secret',
  connector: 'demo-calendar',
};
cfg.issuer = `${cfg.keycloakUrl}/realms/${cfg.realm}`;
cfg.connectorUri = `${cfg.issuer}/agent-auth/connectors/${cfg.connector}`;
export const RUN = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
export const TOKEN_SHAPE = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/;

// ---------------------------------------------------------------------------------------------------------------
// reporting

const t0 = Date.now();
export const summary = { ok: false, run: RUN, steps: {}, assertions: 0 };
let currentStep = 'setup';
let tag = 'sdk-e2e';
let resultName = 'SDK-E2E-RESULT';

/** Names this program's log prefix and result line. */
export function configure(o) {
  tag = o.tag ?? tag;
  resultName = o.resultName ?? resultName;
}
export class AssertionFailed extends Error {}

export function assert(condition, message) {
  summary.assertions++;
  if (!condition) throw new AssertionFailed(message);
}
export function assertEq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  assert(a === e, `${what}: expected ${e}, got ${a}`);
}
export function log(line) {
  process.stderr.write(`[${tag}] ${line}\n`);
}
export async function step(name, fn) {
  currentStep = name;
  const start = Date.now();
  log(`-- ${name}`);
  const r = await fn();
  summary.steps[name] = Date.now() - start;
  return r;
}
/** Runs fn, expects it to throw; returns the error. */
export async function rejects(fn, what) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  assert(false, `${what}: expected an error, got success`);
}
/** No token in anything the SDK lets a developer print. */
export function assertNoToken(value, what) {
  for (const [how, text] of [
    ['JSON', JSON.stringify(value)],
    ['String', String(value)],
    ['inspect', inspect(value, { depth: 6, showHidden: true })],
  ]) {
    assert(!TOKEN_SHAPE.test(text ?? ''), `${what}: a token in its ${how} form`);
  }
}
export function withTimeout(promise, what, ms = cfg.timeoutMs) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new AssertionFailed(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

// ---------------------------------------------------------------------------------------------------------------
// admin REST API (setup and cleanup only)

export async function adminToken() {
  const res = await fetch(`${cfg.keycloakUrl}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: cfg.adminUser, password: cfg.adminPassword }),
  });
  const body = await res.json().catch(() => ({}));
  assert(res.ok && body.access_token, `admin token: HTTP ${res.status} ${body.error ?? ''}`);
  return body.access_token;
}
export async function admin(method, realm, p, body) {
  const res = await fetch(`${cfg.keycloakUrl}/admin/realms/${realm}${p}`, {
    method,
    headers: { authorization: `Bearer ${await adminToken()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = { raw: text.slice(0, 200) };
  }
  return { status: res.status, body: json, location: res.headers.get('location') };
}
export async function createUser(realm, username, first, last) {
  const password = `pw-${randomBytes(9).toString('hex')}`;
  const r = await admin('POST', realm, '/users', {
    username,
    enabled: true,
    email: `${username}@example.com`,
    emailVerified: true,
    firstName: first,
    lastName: last,
    requiredActions: [],
    credentials: [{ type: 'password', value: password, temporary: false }],
  });
  assertEq(r.status, 201, `admin: create user ${username} in ${realm}`);
  const id = r.location.split('/').pop();
  cleanups.push(async () => {
    const d = await admin('DELETE', realm, `/users/${id}`);
    if (d.status !== 204 && d.status !== 404) throw new Error(`delete user ${username}: HTTP ${d.status}`);
  });
  return { id, username, password };
}
export const cleanups = [];

// ---------------------------------------------------------------------------------------------------------------
// browser and the loopback redirect

export function startCallbackServer() {
  const waiters = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname !== '/callback') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>host app callback</title><h1>${url.searchParams.get('error') ? 'authorization failed' : 'authorization complete'}</h1>`);
    waiters.shift()?.(url);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        redirectUri: `http://127.0.0.1:${server.address().port}/callback`,
        next: () => new Promise((r) => waiters.push(r)),
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

export async function launchBrowser() {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'sdk-ts-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: cfg.chromium,
    headless: true,
    viewport: { width: 1100, height: 860 },
    locale: 'en-US',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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

export async function shot(page, name) {
  const file = path.join(cfg.screenshots, `sdk-ts-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  (summary.screenshots ??= []).push(file);
  return file;
}

export async function login(page, user) {
  // a fresh login form, or (prompt=login over an existing session) the re-authentication form naming the signed-in
  // user: "Restart login" first, to sign in as another user
  const form = await Promise.race([
    page.locator('#username').waitFor().then(() => 'login'),
    page.locator('#reset-login').waitFor().then(() => 'reauth'),
  ]);
  if (form === 'reauth') {
    await shot(page, 'reauthenticate');
    await page.click('#reset-login');
    await page.locator('#username').waitFor();
  }
  await page.fill('#username', user.username);
  await page.fill('#password', user.password);
  await page.click('#kc-login');
}

/** Opens a connect link and links the upstream account `up` (the connect page's Allow, then the upstream's login). */
export async function connectInBrowser(page, link, up, name) {
  await page.goto(link);
  await page.locator('#kc-agent-connect-form').waitFor();
  const request = (await page.locator('#agent-connect-request').innerText()).replace(/\s+/g, ' ').trim();
  assert(request.includes(cfg.agentName), `the connect page "${request}" does not name ${cfg.agentName}`);
  await shot(page, `${name}-connect`);
  await page.click('#kc-agent-connect-allow');
  await page.waitForURL((u) => u.href.includes(`/realms/${cfg.upstreamRealm}/`));
  await login(page, up);
  await page.locator('#agent-connect-result-message').waitFor();
  const message = (await page.locator('#agent-connect-result-message').innerText()).replace(/\s+/g, ' ').trim();
  const ok = await page.locator('#agent-connect-result').getAttribute('data-ok');
  await shot(page, `${name}-result`);
  assertEq(ok, 'true', `connect result (${message})`);
  assert(message.includes(up.username), `the result page "${message}" does not name ${up.username}`);
  return message;
}

async function cleanup() {
  const errors = [];
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (e) {
      errors.push(e.message);
    }
  }
  summary.cleanup = errors.length === 0 ? 'ok' : errors;
  return errors.length === 0;
}

function printSummary() {
  const line = JSON.stringify(summary).replace(/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*)?/g, '[token]');
  process.stdout.write(`${resultName} ${line}\n`);
}

/** Runs main, then the cleanups (also after a failure); prints the result line and exits (1 on any failure). */
export async function runMain(main) {
  let code = 0;
  try {
    await main();
  } catch (e) {
    code = 1;
    summary.ok = false;
    summary.failedStep = currentStep;
    summary.failure = e instanceof AssertionFailed ? e.message : `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
    log(`FAILED in ${currentStep}: ${summary.failure}`);
    if (!(e instanceof AssertionFailed) && e?.stack) log(e.stack.split('\n').slice(1, 6).join('\n'));
  }
  if (!(await cleanup())) {
    code = 1;
    summary.ok = false;
  }
  summary.durationMs = Date.now() - t0;
  printSummary();
  process.exit(code);
}
