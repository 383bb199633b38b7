// Unit tests of the framework adapters (keycloak-agent-auth/langgraph, keycloak-agent-auth/ai-sdk) with the real
// frameworks (LangGraph's StateGraph, ToolNode and MemorySaver; the AI SDK's generateText with its MockLanguageModelV3)
// and the SDK's real Connector over the unit tests' in-memory realm (test/unit/fake.js): no network. The end-to-end
// program (e2e.js here) runs the same stories against Keycloak.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { END, MemorySaver, MessagesAnnotation, START, StateGraph, Command, INTERRUPT } from '@langchain/langgraph';
import { ToolNode, toolsCondition } from '@langchain/langgraph/prebuilt';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool as lcTool } from '@langchain/core/tools';
import { generateText, stepCountIs } from 'ai';
import { AgentAuth, ConnectionRequired, GrantRevoked, isConnectionRequired } from '../../dist/index.js';
import { RESUME_CONNECTED, RESUME_DECLINED, callWithConnection, connectionInterrupts, resumeConnected, resumeDeclined } from '../../dist/adapters/langgraph.js';
import { ConnectionGate, agentAuthErrors, toolErrorJSON } from '../../dist/adapters/ai-sdk.js';
import { ISSUER, fakeRealm, json, jwt } from '../unit/fake.js';
import { calendarModel, scriptedAgentNode } from './models.js';

const RESOURCE = `${ISSUER}/agent-auth/connectors/demo-calendar`;
const LINK = `${RESOURCE}/connect?client_id=calendar-agent`;
const NEEDED = { error: 'connection_required', error_description: 'The user has no active account linked on connector demo-calendar', connect_uri: LINK };

/**
 * The in-memory realm with a user who has no account on demo-calendar until `connect()` (or until `connectAfterPolls`
 * status polls); counts proxy calls and status polls.
 */
async function world({ connected = false, connectAfterPolls, revoked = false } = {}) {
  const s = { connected, proxyCalls: 0, polls: 0 };
  const fake = fakeRealm({
    token: async (req) => {
      const f = req.form;
      if (f.get('grant_type') === 'client_credentials') return json(200, { access_token: await jwt({ sub: 'sa' }, { lifetime: 3600 }), token_type: 'Bearer' });
      return json(200, { access_token: await jwt({ sub: 'user-1', aud: f.get('resource'), act: { client_id: 'calendar-agent' } }), token_type: 'Bearer', expires_in: 300 });
    },
    proxy: async () => {
      s.proxyCalls++;
      if (revoked) return json(401, { error: 'invalid_token', error_description: 'The delegation is no longer valid: grant g-1 was revoked' });
      if (!s.connected) return json(403, NEEDED);
      return json(200, { preferred_username: 'alice-work' }, { 'x-connection-id': 'c-1' });
    },
    connection: async () => {
      s.polls++;
      if (connectAfterPolls !== undefined && s.polls >= connectAfterPolls) s.connected = true;
      if (!s.connected) return json(403, NEEDED);
      return json(200, { connector: 'demo-calendar', connection_id: 'c-1', account: 'alice-work', status: 'ACTIVE', scopes: [], delivery_mode: 'proxy' });
    },
  });
  const agent = await AgentAuth.discover({ issuer: ISSUER, clientId: 'calendar-agent', clientSecret: 's', fetch: fake.fetch });
  const calendar = agent.connector('demo-calendar', { subjectToken: 'user-token' });
  return { s, agent, calendar, connect: () => (s.connected = true) };
}

const userinfo = async (c) => (await c.fetch('userinfo')).json();

// ---------------------------------------------------------------- LangGraph

function toolGraph(calendar, options = { timeoutMs: 5000, intervalMs: 50 }) {
  const readCalendar = lcTool(async () => JSON.stringify(await callWithConnection(calendar, () => userinfo(calendar), options)), {
    name: 'read_calendar',
    description: 'Read the calendar.',
    schema: z.object({}),
  });
  return new StateGraph(MessagesAnnotation)
    .addNode('agent', scriptedAgentNode('read_calendar'))
    .addNode('tools', new ToolNode([readCalendar]))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', toolsCondition, ['tools', END])
    .addEdge('tools', 'agent')
    .compile({ checkpointer: new MemorySaver() });
}

test('langgraph: ConnectionRequired interrupts with its JSON; resume retries and the tool answers', async () => {
  const w = await world();
  const graph = toolGraph(w.calendar);
  const config = { configurable: { thread_id: randomUUID() } };
  const state = await graph.invoke({ messages: [new HumanMessage('calendar?')] }, config);
  const raw = state[INTERRUPT];
  assert.equal(raw.length, 1);
  const expected = new ConnectionRequired('demo-calendar', LINK, { status: 403, description: NEEDED.error_description }).toJSON();
  assert.deepEqual(raw[0].value, expected);
  assert.deepEqual(JSON.parse(JSON.stringify(raw[0].value)), expected); // plain JSON
  const errs = connectionInterrupts(state);
  assert.deepEqual(errs.map((e) => [e.constructor.name, e.connector, e.connectUri, e.code, e.status]), [['ConnectionRequired', 'demo-calendar', LINK, 'connection_required', 403]]);
  // the snapshot says the same
  assert.deepEqual(connectionInterrupts(await graph.getState(config)).map((e) => e.connectUri), [LINK]);
  assert.equal(w.s.proxyCalls, 1);

  w.connect();
  const done = await graph.invoke(resumeConnected(), config);
  assert.equal(done[INTERRUPT], undefined);
  const toolMsg = done.messages.filter((m) => m instanceof ToolMessage).at(-1);
  assert.deepEqual(JSON.parse(toolMsg.content), { preferred_username: 'alice-work' });
  assert.equal(done.messages.at(-1).content, 'done');
  assert.equal(w.s.proxyCalls, 2); // the node ran again on resume: the call succeeded at once
});

test('langgraph: resumed before the user connected, the node waits (status polls, no upstream call) and retries', async () => {
  const w = await world();
  const graph = toolGraph(w.calendar);
  const config = { configurable: { thread_id: randomUUID() } };
  await graph.invoke({ messages: [new HumanMessage('calendar?')] }, config);
  w.s.polls = 0;
  const pollsBefore = w.s.polls;
  const connectAt = 3;
  // the user finishes connecting while the node polls
  const timer = setInterval(() => {
    if (w.s.polls - pollsBefore >= connectAt) w.connect();
  }, 10);
  try {
    const state = await graph.invoke(new Command({ resume: { connected: true } }), config);
    assert.equal(state[INTERRUPT], undefined);
    assert.deepEqual(JSON.parse(state.messages.filter((m) => m instanceof ToolMessage).at(-1).content), { preferred_username: 'alice-work' });
  } finally {
    clearInterval(timer);
  }
  assert.ok(w.s.polls >= connectAt, `status polls: ${w.s.polls}`);
  assert.equal(w.s.proxyCalls, 3); // first run, rerun on resume, retry after the wait
});

function plainGraph(calendar, options) {
  return new StateGraph(MessagesAnnotation)
    .addNode('read', async () => ({ messages: [new HumanMessage(JSON.stringify(await callWithConnection(calendar, () => userinfo(calendar), options)))] }))
    .addEdge(START, 'read')
    .addEdge('read', END)
    .compile({ checkpointer: new MemorySaver() });
}

test('langgraph: resuming with {connected: false} throws the ConnectionRequired in the node, without waiting', async () => {
  for (const resume of [resumeDeclined(), new Command({ resume: RESUME_DECLINED }), new Command({ resume: false })]) {
    const w = await world();
    const graph = plainGraph(w.calendar, { timeoutMs: 5000, intervalMs: 50 });
    const config = { configurable: { thread_id: randomUUID() } };
    const first = await graph.invoke({ messages: [new HumanMessage('calendar?')] }, config);
    assert.equal(connectionInterrupts(first).length, 1);
    const polls = w.s.polls;
    await assert.rejects(graph.invoke(resume, config), (e) => isConnectionRequired(e) && e.connectUri === LINK);
    assert.equal(w.s.polls, polls, 'no wait after a decline');
  }
});

test('langgraph: a wait that times out throws the ConnectionRequired; other errors pass through untouched', async () => {
  const w = await world();
  const graph = plainGraph(w.calendar, { timeoutMs: 200, intervalMs: 50 });
  const config = { configurable: { thread_id: randomUUID() } };
  await graph.invoke({ messages: [new HumanMessage('calendar?')] }, config);
  await assert.rejects(graph.invoke(new Command({ resume: RESUME_CONNECTED }), config), (e) => isConnectionRequired(e));
  assert.ok(w.s.polls >= 2);

  const r = await world({ revoked: true });
  const g2 = plainGraph(r.calendar, { timeoutMs: 200 });
  await assert.rejects(g2.invoke({ messages: [new HumanMessage('x')] }, { configurable: { thread_id: randomUUID() } }), (e) => e instanceof GrantRevoked && e.code === 'invalid_token');
  // outside a graph a call that succeeds needs no interrupt
  const c = await world({ connected: true });
  assert.deepEqual(await callWithConnection(c.calendar, () => userinfo(c.calendar)), { preferred_username: 'alice-work' });
});

test('langgraph: connectionInterrupts ignores other interrupts and other shapes', () => {
  const value = new ConnectionRequired('demo-calendar', LINK, { status: 403 }).toJSON();
  const items = [{ value: { question: 'ok?' }, id: 'a' }, { id: 'b', value }, 'x', null];
  assert.deepEqual(connectionInterrupts(items).map((e) => e.connectUri), [LINK]);
  assert.deepEqual(connectionInterrupts({ messages: [] }), []);
  assert.deepEqual(connectionInterrupts(undefined), []);
  assert.deepEqual(resumeConnected().resume, { connected: true });
});

// ---------------------------------------------------------------- Vercel AI SDK

function gated(calendar, extra = {}) {
  const seen = [];
  const gate = new ConnectionGate({ connector: calendar, timeoutMs: 5000, intervalMs: 50, onConnectionRequired: (e, call) => seen.push([e.connectUri, call.toolCallId]), ...extra });
  const tools = {
    read_calendar: gate.tool({
      description: 'Read the calendar.',
      inputSchema: z.object({}),
      execute: async (_args, { connector }) => userinfo(connector),
    }),
  };
  return { gate, tools, seen };
}

test('ai-sdk: ConnectionRequired is a tool approval request; approveWhenConnected resumes and the tool runs', async () => {
  const w = await world();
  const { gate, tools, seen } = gated(w.calendar);
  const model = calendarModel('read_calendar');
  const messages = [{ role: 'user', content: 'calendar?' }];
  const result = await generateText({ model, tools, messages });
  const requests = result.content.filter((p) => p.type === 'tool-approval-request');
  assert.equal(requests.length, 1);
  const pending = gate.pending(result);
  assert.equal(pending.length, 1);
  assert.deepEqual([pending[0].approvalId, pending[0].toolCallId, pending[0].toolName], [requests[0].approvalId, requests[0].toolCall.toolCallId, 'read_calendar']);
  assert.deepEqual(pending[0].error.toJSON(), new ConnectionRequired('demo-calendar', LINK, { status: 403, description: NEEDED.error_description }).toJSON());
  assert.deepEqual(seen, [[LINK, pending[0].toolCallId]]);
  assert.equal(w.s.proxyCalls, 0, 'the tool did not run');
  // the message list says the same
  messages.push(...result.response.messages);
  assert.deepEqual(gate.pending(messages).map((p) => p.approvalId), [pending[0].approvalId]);

  w.connect();
  const approval = await gate.approveWhenConnected(messages);
  assert.deepEqual(approval, { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: pending[0].approvalId, approved: true }] });
  messages.push(approval);
  assert.deepEqual(gate.pending(messages), []);
  const next = await generateText({ model, tools, messages });
  // the approved call runs before the model is called again: its result is in the response's first (tool) message
  const toolResults = next.response.messages[0].content.filter((p) => p.type === 'tool-result');
  assert.deepEqual(toolResults.map((p) => [p.toolName, p.output]), [['read_calendar', { type: 'json', value: { preferred_username: 'alice-work' } }]]);
  assert.equal(next.text, 'calendar: {"preferred_username":"alice-work"}');
  assert.equal(w.s.proxyCalls, 1);
});

test('ai-sdk: a connected user is not interrupted; the connector comes from the call context', async () => {
  const w = await world({ connected: true });
  const contexts = [];
  const { tools } = gated(null, {
    connector: ({ context }) => {
      contexts.push(context.user);
      return w.calendar;
    },
  });
  const result = await generateText({ model: calendarModel('read_calendar'), tools, prompt: 'calendar?', stopWhen: stepCountIs(3), experimental_context: { user: 'u-1' } });
  assert.equal(result.content.filter((p) => p.type === 'tool-approval-request').length, 0);
  assert.equal(result.text, 'calendar: {"preferred_username":"alice-work"}');
  assert.deepEqual(contexts, ['u-1', 'u-1']); // needsApproval, execute
});

test('ai-sdk: the wait times out with the error; reject tells the model; an early approval is a tool error with the link', async () => {
  const w = await world();
  const { gate, tools } = gated(w.calendar);
  const model = calendarModel('read_calendar');
  const messages = [{ role: 'user', content: 'calendar?' }];
  const first = await generateText({ model, tools, messages });
  messages.push(...first.response.messages);
  await assert.rejects(gate.approveWhenConnected(messages, { timeoutMs: 0 }), (e) => isConnectionRequired(e) && e.connectUri === LINK);
  assert.equal(gate.pending(messages).length, 1, 'still pending after a timeout');
  const denial = gate.reject(messages);
  assert.equal(denial.content[0].approved, false);
  assert.equal(denial.content[0].reason, 'The user did not connect a demo-calendar account.');
  const denied = await generateText({ model, tools, messages: [...messages, denial] });
  assert.equal(denied.text, 'calendar: denied: The user did not connect a demo-calendar account.');
  assert.equal(w.s.proxyCalls, 0);

  // approved by hand although the user has not connected: the tool's call fails with ConnectionRequired, a tool error
  const second = await generateText({ model, tools, prompt: 'calendar?' });
  const req = second.content.find((p) => p.type === 'tool-approval-request');
  const early = await generateText({ model, tools, messages: [{ role: 'user', content: 'calendar?' }, ...second.response.messages, { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: req.approvalId, approved: true }] }] });
  const out = early.response.messages[0].content.find((p) => p.type === 'tool-result').output;
  assert.equal(out.type, 'error-text');
  assert.equal(out.value, `connection_required (HTTP 403): ${NEEDED.error_description} (connect at ${LINK})`);
  assert.ok(early.text.includes(LINK), `the model read the link: ${early.text}`);
  assert.equal(w.s.proxyCalls, 1);
});

test('ai-sdk: toolErrorJSON is the error JSON plus instructions; other errors pass through as tool errors', async () => {
  const body = toolErrorJSON(new ConnectionRequired('demo-calendar', LINK, { status: 403, description: 'no account' }));
  assert.equal(body.type, 'ConnectionRequired');
  assert.equal(body.connect_uri, LINK);
  assert.ok(body.instructions.includes(LINK));
  assert.equal(body.message, `connection_required (HTTP 403): no account (connect at ${LINK})`);
  const g = toolErrorJSON(new GrantRevoked('invalid_token', { status: 401, description: 'revoked eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig' }));
  assert.equal(g.instructions, undefined);
  assert.ok(!JSON.stringify(g).includes('eyJ'));

  // a revoked grant: needsApproval (the status endpoint) is fine here, the proxy refuses; the model gets the error
  const w = await world({ connected: true, revoked: true });
  const { tools } = gated(w.calendar);
  const r = await generateText({ model: calendarModel('read_calendar'), tools, prompt: 'calendar?', stopWhen: stepCountIs(3) });
  const errs = agentAuthErrors(r.steps[0].content);
  assert.deepEqual(errs.map((e) => [e.error.name, e.error.code]), [['GrantRevoked', 'invalid_token']]);
  assert.ok(r.text.startsWith('calendar: invalid_token (HTTP 401)'), r.text);
  assert.throws(() => new ConnectionGate({}), TypeError);
});

// ---------------------------------------------------------------- packaging

test('the core and the MCP helper never import an adapter or its framework; the adapters are package exports', async () => {
  const { readFile } = await import('node:fs/promises');
  const path = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
  const seen = new Set();
  const bare = new Set();
  const walk = async (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = await readFile(file, 'utf8');
    for (const m of src.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) await walk(path.resolve(path.dirname(file), spec));
      else bare.add(spec);
    }
  };
  await walk(path.join(dist, 'index.js'));
  await walk(path.join(dist, 'mcp.js'));
  assert.ok(seen.size >= 6, `walked ${seen.size} files`);
  assert.ok(![...seen].some((f) => f.includes(`${path.sep}adapters${path.sep}`)), 'an adapter is imported by the core');
  assert.deepEqual([...bare].filter((s) => s === 'ai' || s.startsWith('ai/') || s.startsWith('@langchain/')), []);
  const pkg = JSON.parse(await readFile(path.join(dist, '..', 'package.json'), 'utf8'));
  assert.equal(pkg.exports['./langgraph'].import, './dist/adapters/langgraph.js');
  assert.equal(pkg.exports['./ai-sdk'].import, './dist/adapters/ai-sdk.js');
  for (const peer of ['@langchain/langgraph', '@langchain/core', 'ai']) {
    assert.equal(pkg.peerDependenciesMeta[peer]?.optional, true, `${peer} is an optional peer`);
    assert.equal(pkg.dependencies[peer], undefined, `${peer} is not a dependency`);
  }
  // the package's own name resolves to the adapters (as an app imports them)
  assert.equal(typeof (await import('keycloak-agent-auth/langgraph')).callWithConnection, 'function');
  assert.equal(typeof (await import('keycloak-agent-auth/ai-sdk')).ConnectionGate, 'function');
});
