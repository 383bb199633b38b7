// End-to-end: headless approval (CIBA, DESIGN section 12) with the TypeScript SDK (the built dist/) against a real
// Keycloak with the Agent Auth extension and the demo realm, for a fresh user:
//
//   setup   a fresh user in agents-demo; a temporary agent with its own key, CIBA on, its own CIBA host
//   a       calendar-agent: requestApproval (binding message, description, the connector's resource); the user signs
//           in on the self-service page in Chromium, opens the request (Review) and clicks Allow while
//           waitForApproval polls: a delegated token (act.client_id = calendar-agent, sub = the user, aud = the connector)
//   b       a second request, the user clicks Deny: waitForApproval rejects with AccessDenied (access_denied)
//   c       a third request nobody decides: timeoutMs gives AgentAuthError authorization_pending; with the realm's CIBA
//           lifetime at 10 s for a moment, a request that expires gives ApprovalExpired (expired_token)
//   d       the temporary agent (private key): its polls each carry a fresh actor+jwt (seen through a recording fetch);
//           approved in Chromium: a token with act.client_id = that agent
//   cleanup the user, the agent, the realm's CIBA lifetime (also after a failure)
//
// stdout: one line `SDK-CIBA-E2E-RESULT {json}`; progress on stderr. Exit 1 on the first failed assertion. Never prints
// a token or an auth_req_id. Environment as run.js: KEYCLOAK_URL, REALM, CHROMIUM, SCREENSHOT_DIR, ADMIN_USER,
// ADMIN_PASSWORD, E2E_STEP_TIMEOUT_MS.

import { mkdir } from 'node:fs/promises';
import { inspect } from 'node:util';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { AccessDenied, AgentAuth, AgentAuthError, ApprovalExpired, ApprovalRequest, isAccessDenied, isApprovalExpired } from '../../dist/index.js';
import {
  RUN,
  admin,
  assert,
  assertEq,
  assertNoToken,
  cfg,
  cleanups,
  configure,
  createUser,
  launchBrowser,
  log,
  login,
  runMain,
  shot,
  step,
  summary,
  withTimeout,
} from './support.js';

configure({ tag: 'sdk-ciba-e2e', resultName: 'SDK-CIBA-E2E-RESULT' });
const CIBA = 'urn:openid:params:grant-type:ciba';
// an approval waits for a browser: the page steps plus the poll interval (5 s) and a slow_down or two
const APPROVAL_MS = Math.max(cfg.timeoutMs, 60_000);

/** No auth_req_id (nor a token) in what the SDK lets a developer print. */
function assertNoAuthReqId(request, what) {
  const id = request.authReqId;
  assert(typeof id === 'string' && id.length > 20, `${what}: an auth_req_id`);
  for (const text of [String(request), JSON.stringify(request), inspect(request, { showHidden: true, depth: 6 })]) {
    assert(!text.includes(id.slice(0, 24)), `${what}: the auth_req_id in ${text.slice(0, 80)}`);
  }
  assertNoToken(request, what);
}

/** The self-service page, signed in as `user`: the pending request with `binding` opened, then Allow or Deny. */
async function decide(page, user, binding, decision, name) {
  await page.goto(`${cfg.issuer}/agent-auth/account/`);
  const where = await Promise.race([
    page.locator('#username').waitFor().then(() => 'login'),
    page.locator('#agent-account').waitFor().then(() => 'page'),
  ]);
  if (where === 'login') await login(page, user);
  await page.locator('#agent-account-approvals').waitFor();
  const row = page.locator('.agent-account-approval').filter({ hasText: binding });
  assertEq(await row.count(), 1, `the self-service page lists the request ${binding}`);
  await shot(page, `${name}-self-service`);
  await row.locator('.agent-account-approval-open').click();
  const form = await Promise.race([
    page.locator('#username').waitFor().then(() => 'login'),
    page.locator('#kc-agent-consent-form').waitFor().then(() => 'consent'),
  ]);
  if (form === 'login') await login(page, user);
  await page.locator('#kc-agent-consent-form').waitFor();
  const shown = (await page.locator('#agent-approval-binding').innerText()).replace(/\s+/g, ' ');
  assert(shown.includes(binding), `the approval page "${shown}" shows ${binding}`);
  await shot(page, `${name}-approval`);
  await page.click(decision === 'allow' ? '#kc-agent-allow' : '#kc-agent-deny');
  await page.locator('#agent-connect-result-message').waitFor();
  const message = (await page.locator('#agent-connect-result-message').innerText()).replace(/\s+/g, ' ').trim();
  await shot(page, `${name}-result`);
  return message;
}

async function main() {
  await mkdir(cfg.screenshots, { recursive: true });
  let browser;
  try {
    const { user, userId, keyAgentId, privateKey, kid } = await step('setup', async () => {
      const user = await createUser(cfg.realm, `sdk-ts-ciba-${RUN}`, 'Ciba', `Ts ${RUN}`);
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
      const kid = `sdk-ts-ciba-${RUN}`;
      const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
      const keyAgentId = `sdk-ts-ciba-agent-${RUN}`;
      // calendar-agent's policy (realm-exports/agents-demo.json), its own key, CIBA in poll mode, its own CIBA host
      const created = await admin('POST', cfg.realm, '/clients', {
        clientId: keyAgentId,
        name: `SDK TS CIBA Agent ${RUN}`,
        description: 'A temporary agent of the TypeScript SDK CIBA end-to-end test (signed actor tokens, private_key_jwt).',
        enabled: true,
        protocol: 'openid-connect',
        publicClient: false,
        clientAuthenticatorType: 'client-jwt',
        standardFlowEnabled: false,
        directAccessGrantsEnabled: false,
        serviceAccountsEnabled: true,
        attributes: {
          'standard.token.exchange.enabled': 'true',
          'use.jwks.string': 'true',
          'jwks.string': JSON.stringify({ keys: [jwk] }),
          'token.endpoint.auth.signing.alg': 'ES256',
          'oidc.ciba.grant.enabled': 'true',
          'ciba.backchannel.token.delivery.mode': 'poll',
          'agent_auth.agent': 'true',
          'agent_auth.allowed_scopes': 'openid profile email',
          'agent_auth.allowed_hosts': keyAgentId,
          'agent_auth.allowed_connectors': cfg.connector,
          'agent_auth.max_depth': '3',
          'agent_auth.grant_lifetime': '2592000',
          'agent_auth.refresh_allowed': 'false',
        },
      });
      assertEq(created.status, 201, `admin: create client ${keyAgentId}`);
      const uuid = created.location.split('/').pop();
      cleanups.push(async () => {
        const d = await admin('DELETE', cfg.realm, `/clients/${uuid}`);
        if (d.status !== 204 && d.status !== 404) throw new Error(`delete client ${keyAgentId}: HTTP ${d.status}`);
      });
      summary.created = { user: user.username, agent: keyAgentId };
      return { user, userId: user.id, keyAgentId, privateKey, kid };
    });

    const calendar = await AgentAuth.discover({ issuer: cfg.issuer, clientId: cfg.agent, clientSecret: cfg.agentSecret });
    browser = await launchBrowser();
    const page = await browser.context.newPage();

    // ---- a. approve on the self-service page while waitForApproval polls
    await step('a_approve', async () => {
      const binding = `TS-A-${RUN}`;
      const request = await calendar.requestApproval({
        loginHint: user.username,
        scope: 'openid profile',
        bindingMessage: binding,
        description: 'Read your meetings of tomorrow and draft a summary (SDK end-to-end test)',
        resource: cfg.connectorUri,
      });
      assert(request instanceof ApprovalRequest, 'requestApproval returns an ApprovalRequest');
      assertEq(request.interval, 5, 'the realm\'s poll interval');
      assert(request.expiresAt.getTime() > Date.now() + 60_000, `expiresAt ${request.expiresAt.toISOString()} is in the future`);
      assertNoAuthReqId(request, 'ApprovalRequest');
      const started = Date.now();
      const waiting = calendar.waitForApproval(request);
      waiting.catch(() => {}); // awaited below
      const message = await decide(page, user, binding, 'allow', 'ciba-allow');
      assert(/approved/i.test(message), `the result page says approved: "${message}"`);
      const ts = await withTimeout(waiting, 'waitForApproval after Allow', APPROVAL_MS);
      summary.approvalWaitMs = Date.now() - started;
      assertEq(ts.act?.client_id, cfg.agent, 'act.client_id of the approved token');
      assertEq(ts.actChain(), [cfg.agent], 'the act chain');
      assertEq(ts.sub, userId, 'sub of the approved token');
      assert(ts.aud.includes(cfg.connectorUri), `aud ${JSON.stringify(ts.aud)} includes the connector`);
      assert(ts.scope.includes('profile') && !ts.scope.includes('email'), `scope ${JSON.stringify(ts.scope)}: profile, no email`);
      assertNoToken(ts, 'the approved TokenSet');
      // redeemed once: waiting again is refused (invalid_grant), not a second token
      const again = await calendar.waitForApproval(request, { timeoutMs: 12_000 }).catch((e) => e);
      assert(again instanceof AgentAuthError && again.code === 'invalid_grant', `a second wait: ${again}`);
      summary.approved = { act: ts.act.client_id, aud: ts.aud, scope: ts.scope };
    });

    // ---- b. deny
    await step('b_deny', async () => {
      const binding = `TS-B-${RUN}`;
      const request = await calendar.requestApproval({ loginHint: user.username, scope: 'openid', bindingMessage: binding });
      const waiting = calendar.waitForApproval(request);
      waiting.catch(() => {});
      await decide(page, user, binding, 'deny', 'ciba-deny');
      const e = await withTimeout(waiting.then(() => undefined, (x) => x), 'waitForApproval after Deny', APPROVAL_MS);
      assert(e instanceof AccessDenied && isAccessDenied(e), `denied: ${e}`);
      assertEq([e.code, e.status], ['access_denied', 400], 'the denial');
      assertNoToken(e, 'AccessDenied');
      assert(!JSON.stringify(e).includes(request.authReqId.slice(0, 24)), 'no auth_req_id in the error');
      summary.denied = e.toJSON();
    });

    // ---- c. nobody decides: the caller's timeout, then the server's expiry
    await step('c_timeout_and_expiry', async () => {
      const pending = await calendar.requestApproval({ loginHint: user.username, scope: 'openid', bindingMessage: `TS-C-${RUN}` });
      const t0 = Date.now();
      const timedOut = await calendar.waitForApproval(pending, { timeoutMs: 7_000 }).catch((e) => e);
      assert(timedOut instanceof AgentAuthError && timedOut.code === 'authorization_pending', `timeout: ${timedOut}`);
      assert(Date.now() - t0 >= 6_900, `waited ${Date.now() - t0} ms`);

      const realm = await admin('GET', cfg.realm, '');
      // the CIBA policy is kept in realm attributes (a PUT merges the attributes it names)
      const before = realm.body.attributes?.cibaExpiresIn ?? '600';
      const restore = async () => {
        const r = await admin('PUT', cfg.realm, '', { attributes: { cibaExpiresIn: before } });
        if (r.status !== 204) throw new Error(`restore cibaExpiresIn: HTTP ${r.status}`);
      };
      cleanups.push(restore);
      const set = await admin('PUT', cfg.realm, '', { attributes: { cibaExpiresIn: '10' } });
      assertEq(set.status, 204, 'admin: cibaExpiresIn 10 s');
      let short;
      try {
        short = await calendar.requestApproval({ loginHint: user.username, scope: 'openid', bindingMessage: `TS-E-${RUN}` });
      } finally {
        await restore();
      }
      assert(short.expiresAt.getTime() - Date.now() <= 11_000, `a 10 s request: ${short.expiresAt.toISOString()}`);
      const expired = await withTimeout(calendar.waitForApproval(short).then(() => undefined, (x) => x), 'waitForApproval of an expiring request', APPROVAL_MS);
      assert(expired instanceof ApprovalExpired && isApprovalExpired(expired), `expired: ${expired}`);
      assertEq(expired.code, 'expired_token', 'the expiry');
      summary.expired = expired.toJSON();
    });

    // ---- d. a key-based agent: a fresh actor JWT per poll
    await step('d_private_key_agent', async () => {
      const polls = [];
      const recording = async (input, init) => {
        const body = init?.body;
        const form = body instanceof URLSearchParams ? body : typeof body === 'string' ? new URLSearchParams(body) : undefined;
        if (form?.get('grant_type') === CIBA) polls.push({ actor: form.get('actor_token'), type: form.get('actor_token_type') });
        return fetch(input, init);
      };
      const keyed = await AgentAuth.discover({ issuer: cfg.issuer, clientId: keyAgentId, privateKey, kid, alg: 'ES256', fetch: recording });
      const binding = `TS-D-${RUN}`;
      const request = await keyed.requestApproval({ loginHint: user.username, scope: 'openid profile', bindingMessage: binding });
      const waiting = keyed.waitForApproval(request);
      waiting.catch(() => {});
      // decide after two polls, so that the token comes on the third or later
      const until = Date.now() + APPROVAL_MS;
      while (polls.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
      assert(polls.length >= 2, `polls before the decision: ${polls.length}`);
      await decide(page, user, binding, 'allow', 'ciba-key-allow');
      const ts = await withTimeout(waiting, 'waitForApproval (key agent) after Allow', APPROVAL_MS);
      assertEq(ts.act?.client_id, keyAgentId, 'act.client_id of the key agent\'s token');
      assertEq(ts.sub, userId, 'sub of the key agent\'s token');
      assert(polls.length >= 3, `polls: ${polls.length}`);
      const jtis = new Set();
      for (const p of polls) {
        assertEq(p.type, 'urn:ietf:params:oauth:token-type:jwt', 'actor_token_type of a poll');
        assertEq(decodeProtectedHeader(p.actor).typ, 'actor+jwt', 'typ of a poll\'s actor token');
        jtis.add(decodeJwt(p.actor).jti);
      }
      assertEq(jtis.size, polls.length, 'one fresh actor JWT per poll');
      summary.keyAgent = { polls: polls.length, act: ts.act.client_id };
    });
    summary.ok = true;
    log('all steps passed');
  } finally {
    await browser?.close();
  }
}

await runMain(main);
