// End-to-end: the framework adapters (the built dist/: keycloak-agent-auth/langgraph and keycloak-agent-auth/ai-sdk)
// with the real frameworks against a real Keycloak with the Agent Auth extension, acting as calendar-agent, each for a
// fresh user of its own (the demo's users are never touched):
//
//   setup      two fresh users in agents-demo and two in upstream-saas
//   langgraph  the user's delegated token for demo-calendar (requested_actor code flow, login and consent in
//              Chromium); a LangGraph graph (StateGraph, ToolNode, MemorySaver) whose tool reads userinfo through the
//              proxy with callWithConnection: the run stops with an interrupt carrying ConnectionRequired.toJSON() and
//              the connect link; the graph is resumed (Command({resume: {connected: true}})) before the user has
//              connected: the node waits (connection status polls) while the user connects the fresh upstream account
//              in Chromium, then retries: the tool's answer is that account's preferred_username
//   ai_sdk     the same for the second user with the Vercel AI SDK (generateText, MockLanguageModelV3 from ai/test):
//              the tool call ends as a tool-approval-request whose pending ConnectionRequired carries the link; the user
//              connects in Chromium while approveWhenConnected waits; generateText with the approval runs the tool:
//              the upstream account's preferred_username
//   cleanup    the users (their grants and connections go with them)
//
// stdout: one line `SDK-ADAPTERS-E2E-RESULT {json}`; progress on stderr; exit 1 on failure. Never prints a token.
// Environment as test/e2e/run.js: KEYCLOAK_URL, REALM, UPSTREAM_REALM, CHROMIUM, SCREENSHOT_DIR, ADMIN_USER,
// ADMIN_PASSWORD, E2E_STEP_TIMEOUT_MS.

import { mkdir } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { END, INTERRUPT, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { ToolNode, toolsCondition } from '@langchain/langgraph/prebuilt';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool as lcTool } from '@langchain/core/tools';
import { generateText } from 'ai';
import { AgentAuth, ConnectionRequired } from '../../dist/index.js';
import { callWithConnection, connectionInterrupts, resumeConnected } from '../../dist/adapters/langgraph.js';
import { ConnectionGate } from '../../dist/adapters/ai-sdk.js';
import {
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
import { calendarModel, scriptedAgentNode } from './models.js';

configure({ tag: 'sdk-adapters-e2e', resultName: 'SDK-ADAPTERS-E2E-RESULT' });
cfg.connectLink = `${cfg.connectorUri}/connect?client_id=${cfg.agent}`;

/** The user's delegated token for the connector: requested_actor code flow (resource = the connector), consent clicked. */
async function delegatedToken(agent, browser, callback, user, name) {
  await browser.context.clearCookies(); // a fresh browser session per user (here and at upstream-saas)
  const page = await browser.context.newPage();
  const req = await agent.authorizationUrl({ clientId: cfg.host, redirectUri: callback.redirectUri, scope: 'openid profile', resource: cfg.connectorUri });
  const came = callback.next();
  await page.goto(req.url);
  await login(page, user);
  await page.locator('#kc-agent-consent-form').waitFor();
  await shot(page, `${name}-consent`);
  await page.click('#kc-agent-allow');
  const back = await withTimeout(came, 'the redirect back after Allow');
  const tokens = await agent.redeemCode({ callbackUrl: back, state: req.state, codeVerifier: req.codeVerifier, redirectUri: callback.redirectUri, clientId: cfg.host, clientSecret: cfg.hostSecret });
  assertEq([tokens.sub, tokens.act?.client_id], [user.id, cfg.agent], `${name}: the delegated token's sub and act`);
  assertEq(tokens.aud, [cfg.connectorUri], `${name}: the delegated token's aud`);
  return { page, token: tokens.accessToken };
}

function checkConnectionRequired(json, what) {
  assertNoToken(json, what);
  assertEq([json.type, json.code, json.status, json.connector], ['ConnectionRequired', 'connection_required', 403, cfg.connector], what);
  assertEq(json.connect_uri, cfg.connectLink, `${what}: connect_uri`);
  assert(json.message.includes(cfg.connectLink), `${what}: the message does not carry the link`);
}

async function main() {
  await mkdir(cfg.screenshots, { recursive: true });
  const callback = await startCallbackServer();
  let browser;
  try {
    const users = await step('setup', async () => {
      const lg = await createUser(cfg.realm, `sdk-ts-lg-${RUN}`, 'Sdk', `LangGraph ${RUN}`);
      const lgUp = await createUser(cfg.upstreamRealm, `sdk-ts-lg-${RUN}-work`, 'Work', `LangGraph ${RUN}`);
      const ai = await createUser(cfg.realm, `sdk-ts-ai-${RUN}`, 'Sdk', `AiSdk ${RUN}`);
      const aiUp = await createUser(cfg.upstreamRealm, `sdk-ts-ai-${RUN}-work`, 'Work', `AiSdk ${RUN}`);
      summary.created = { users: [lg.username, ai.username], upstreamUsers: [lgUp.username, aiUp.username] };
      return { lg, lgUp, ai, aiUp };
    });
    const agent = await AgentAuth.discover({ issuer: cfg.issuer, clientId: cfg.agent, clientSecret: cfg.agentSecret });
    browser = await launchBrowser();

    // ---- LangGraph: interrupt with the link, resume, connect while the node waits, the tool's answer
    await step('langgraph', async () => {
      const { page, token } = await delegatedToken(agent, browser, callback, users.lg, 'langgraph');
      let polls = 0;
      const readCalendar = lcTool(
        async (_input, config) => {
          const calendar = agent.connector(cfg.connector, { subjectToken: config.configurable.userToken });
          const counted = { waitForConnection: (o) => calendar.waitForConnection({ ...o, signal: undefined }).finally(() => polls++) };
          const body = await callWithConnection(counted, async () => (await calendar.fetch('userinfo')).json(), { timeoutMs: cfg.timeoutMs * 4, intervalMs: 500 });
          return JSON.stringify({ preferred_username: body.preferred_username });
        },
        { name: 'read_calendar', description: 'Read the user\'s calendar account.', schema: z.object({}) },
      );
      const graph = new StateGraph(MessagesAnnotation)
        .addNode('agent', scriptedAgentNode('read_calendar'))
        .addNode('tools', new ToolNode([readCalendar]))
        .addEdge(START, 'agent')
        .addConditionalEdges('agent', toolsCondition, ['tools', END])
        .addEdge('tools', 'agent')
        .compile({ checkpointer: new MemorySaver() });
      const config = { configurable: { thread_id: randomUUID(), userToken: token } };
      const first = await graph.invoke({ messages: [new HumanMessage('What is my calendar account?')] }, config);
      const raw = first[INTERRUPT];
      assertEq(raw?.length, 1, 'langgraph: interrupts');
      checkConnectionRequired(raw[0].value, 'langgraph: the interrupt value');
      const errs = connectionInterrupts(await graph.getState(config));
      assert(errs.length === 1 && errs[0] instanceof ConnectionRequired, 'langgraph: connectionInterrupts(getState)');
      // resumed at once ("I'll connect now"): the node runs again, waits for the connection while the user connects
      const resumed = graph.invoke(resumeConnected(), config);
      resumed.catch(() => {});
      const message = await connectInBrowser(page, errs[0].connectUri, users.lgUp, 'langgraph');
      const done = await withTimeout(resumed, 'langgraph: the resumed run', cfg.timeoutMs * 4);
      assertEq(done[INTERRUPT], undefined, 'langgraph: no interrupt after the resume');
      const toolMsg = done.messages.filter((m) => m instanceof ToolMessage).at(-1);
      const out = JSON.parse(toolMsg.content);
      assertEq(out.preferred_username, users.lgUp.username, 'langgraph: the tool\'s answer (userinfo through the proxy)');
      assertEq(done.messages.at(-1).content, 'done', 'langgraph: the run ended');
      assertEq(polls, 1, 'langgraph: the resumed node waited for the connection');
      summary.langgraph = { interrupt: raw[0].value, connect: message, result: out };
      await page.close();
    });

    // ---- AI SDK: tool approval with the link, connect while approveWhenConnected waits, the approved call's answer
    await step('ai_sdk', async () => {
      const { page, token } = await delegatedToken(agent, browser, callback, users.ai, 'ai-sdk');
      const seen = [];
      const gate = new ConnectionGate({
        connector: ({ context }) => agent.connector(cfg.connector, { subjectToken: context.userToken }),
        timeoutMs: cfg.timeoutMs * 4,
        intervalMs: 500,
        onConnectionRequired: (e) => seen.push(e.toJSON()),
      });
      const tools = {
        read_calendar: gate.tool({
          description: 'Read the user\'s calendar account.',
          inputSchema: z.object({}),
          execute: async (_args, { connector }) => ({ preferred_username: (await (await connector.fetch('userinfo')).json()).preferred_username }),
        }),
      };
      const model = calendarModel('read_calendar');
      const context = { userToken: token };
      const messages = [{ role: 'user', content: 'What is my calendar account?' }];
      const first = await generateText({ model, tools, messages, experimental_context: context });
      const requests = first.content.filter((p) => p.type === 'tool-approval-request');
      assertEq(requests.length, 1, 'ai-sdk: tool approval requests');
      messages.push(...first.response.messages);
      const pending = gate.pending(messages);
      assertEq(pending.map((p) => [p.approvalId, p.toolName]), [[requests[0].approvalId, 'read_calendar']], 'ai-sdk: pending');
      checkConnectionRequired(pending[0].error.toJSON(), 'ai-sdk: the pending error');
      assertEq(seen.length, 1, 'ai-sdk: onConnectionRequired');
      const approving = gate.approveWhenConnected(messages);
      approving.catch(() => {});
      const message = await connectInBrowser(page, pending[0].error.connectUri, users.aiUp, 'ai-sdk');
      const approval = await withTimeout(approving, 'ai-sdk: approveWhenConnected', cfg.timeoutMs * 4);
      assertEq(approval.content.map((c) => [c.type, c.approvalId, c.approved]), [['tool-approval-response', requests[0].approvalId, true]], 'ai-sdk: the approval');
      messages.push(approval);
      const next = await generateText({ model, tools, messages, experimental_context: context });
      const result = next.response.messages[0].content.find((p) => p.type === 'tool-result');
      assertEq(result?.output, { type: 'json', value: { preferred_username: users.aiUp.username } }, 'ai-sdk: the approved call\'s result (userinfo through the proxy)');
      assertEq(next.text, `calendar: ${JSON.stringify({ preferred_username: users.aiUp.username })}`, 'ai-sdk: the model read the result');
      assertNoToken(JSON.stringify(next.response.messages), 'ai-sdk: the response messages');
      summary.aiSdk = { approvalRequest: { approvalId: requests[0].approvalId, toolName: pending[0].toolName }, error: pending[0].error.toJSON(), connect: message, result: result.output.value, text: next.text };
      await page.close();
    });
    summary.ok = true;
  } finally {
    if (browser) await browser.close();
    await callback.close();
  }
}

await runMain(main);
