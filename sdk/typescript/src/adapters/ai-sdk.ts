// keycloak-agent-auth/ai-sdk: ConnectionRequired as the Vercel AI SDK's human-in-the-loop value, a tool approval
// (`needsApproval`, `tool-approval-request` parts, `tool-approval-response` to resume), as the Python SDK's
// OpenAI Agents adapter does with that SDK's tool approval. And tools built from `(args, {connector}) => ...`.
//
// `ai` is an optional peer dependency: only this entry point imports it, the core never does.

import { peer } from './peer.js';

const { tool: aiTool } = await peer<typeof import('ai')>(() => import('ai'), 'keycloak-agent-auth/ai-sdk needs the Vercel AI SDK: npm i ai');
import type { ModelMessage, Tool, ToolExecutionOptions, ToolModelMessage, ToolApprovalResponse, FlexibleSchema } from 'ai';
import { isAgentAuthError, isConnectionRequired } from '../errors.js';
import type { AgentAuthError, AgentAuthErrorJSON, ConnectionRequired } from '../errors.js';
import type { WaitOptions } from '../connector.js';

/** What the gate needs of a connector handle: a Connector, or anything with the same two methods. */
export interface GatedConnector {
  /** The connection status (no upstream call); throws ConnectionRequired when the user has no account. */
  connection(): Promise<unknown>;
  waitForConnection(options: WaitOptions): Promise<unknown>;
}

/** A tool call as the gate sees it: `context` is the `experimental_context` given to generateText/streamText/agents. */
export interface ToolCallContext {
  toolCallId: string;
  messages: ModelMessage[];
  context: unknown;
}

export interface ConnectionGateOptions<C extends GatedConnector> {
  /**
   * The user's connector handle: one Connector (tools built per request for one user), or a function of the tool
   * call, e.g. `({context}) => agent.connector('demo-calendar', {subjectToken: context.userToken})`.
   */
  connector: C | ((call: ToolCallContext) => C | Promise<C>);
  /** How long approveWhenConnected() waits for the connection (default 300000). */
  timeoutMs?: number;
  /** Poll interval of that wait (default the connector's, 2000 ms). */
  intervalMs?: number;
  /**
   * Called when a call is held for approval because the user must connect (e.g. to write the link into a UI message
   * stream: `writer.write({type: 'data-connect', data: error.toJSON()})`, for useChat apps that resume in another
   * request).
   */
  onConnectionRequired?: (error: ConnectionRequired, call: ToolCallContext) => void | Promise<void>;
}

/** A tool call held back (as a tool approval request) until the user has connected an account. */
export interface PendingConnection {
  approvalId: string;
  toolCallId: string;
  toolName: string | undefined;
  input: unknown;
  error: ConnectionRequired;
}

export interface ConnectorToolOptions<INPUT, OUTPUT, C> {
  description?: string;
  title?: string;
  inputSchema: FlexibleSchema<INPUT>;
  /** The tool's body: the user's connector handle comes with the AI SDK's execution options. */
  execute: (args: INPUT, options: ToolExecutionOptions & { connector: C }) => Promise<OUTPUT> | OUTPUT;
  /** Any other `tool()` settings (outputSchema, toModelOutput, strict, providerOptions, ...). */
  [other: string]: unknown;
}

/** The text of a tool error: the error's JSON plus, for ConnectionRequired, instructions carrying the link. */
export function toolErrorJSON(error: AgentAuthError): AgentAuthErrorJSON & { instructions?: string } {
  const body: AgentAuthErrorJSON & { instructions?: string } = error.toJSON();
  if (isConnectionRequired(error) && error.connectUri) {
    body.instructions = `The user must connect their ${error.connector} account first: ask them to open ${error.connectUri}, then try again.`;
  }
  return body;
}

interface Held<C> {
  error: ConnectionRequired;
  connector: C;
}

type ContentLike = { type?: unknown; approvalId?: unknown; toolCallId?: unknown; toolName?: unknown; input?: unknown; toolCall?: unknown; approved?: unknown };

/** The content parts of a generateText result / agent result / step, a content array, or a message list. */
function partsOf(result: unknown): { requests: ContentLike[]; calls: Map<string, ContentLike>; answered: Set<string> } {
  const requests: ContentLike[] = [];
  const calls = new Map<string, ContentLike>();
  const answered = new Set<string>();
  const visit = (part: ContentLike) => {
    if (!part || typeof part !== 'object') return;
    if (part.type === 'tool-approval-request') requests.push(part);
    else if (part.type === 'tool-call' && typeof part.toolCallId === 'string') calls.set(part.toolCallId, part);
    else if (part.type === 'tool-approval-response' && typeof part.approvalId === 'string') answered.add(part.approvalId);
  };
  const items: unknown[] = Array.isArray(result)
    ? result
    : result && typeof result === 'object' && Array.isArray((result as { content?: unknown }).content)
      ? (result as { content: unknown[] }).content
      : [];
  for (const item of items) {
    const m = item as { role?: unknown; content?: unknown };
    if (m && typeof m === 'object' && typeof m.role === 'string') {
      if (Array.isArray(m.content)) for (const p of m.content) visit(p as ContentLike);
    } else {
      visit(item as ContentLike);
    }
  }
  return { requests, calls, answered };
}

/** True when the messages hold a tool approval request for this tool call (the gate held it in an earlier turn). */
function heldBefore(messages: unknown, toolCallId: string): boolean {
  if (!Array.isArray(messages)) return false;
  return partsOf(messages).requests.some((r) => r.toolCallId === toolCallId || (r.toolCall as ContentLike | undefined)?.toolCallId === toolCallId);
}

/**
 * Tools that pause the run, as an AI SDK tool approval, while the user has no connected account.
 *
 * `needsApproval` asks the connection status endpoint (no upstream call) and answers true only when the user must
 * connect first, remembering the ConnectionRequired (its `connectUri`) for that tool call. generateText/streamText
 * (or a ToolLoopAgent) then end with a `tool-approval-request` part instead of running the tool; `pending(result)`
 * lists those calls with their errors; once the user has opened the link, `approveWhenConnected(result)` waits for the
 * connection and gives the `tool` message with the `tool-approval-response`s: append it to the messages and call the
 * model again, which runs the approved calls. Users who are connected are never interrupted.
 *
 * The gate remembers the held calls in memory: call pending()/approveWhenConnected() in the process that ran the
 * model (an app that resumes in another request, e.g. with useChat's `addToolApprovalResponse`, gets the link from
 * `onConnectionRequired` and approves once the user connected; an early approval is harmless: the tool's own call
 * throws the ConnectionRequired again, which reaches the model as a tool error carrying the link).
 */
export class ConnectionGate<C extends GatedConnector = GatedConnector> {
  readonly timeoutMs: number;
  readonly intervalMs: number | undefined;
  readonly #source: ConnectionGateOptions<C>['connector'];
  readonly #onConnectionRequired: ConnectionGateOptions<C>['onConnectionRequired'];
  readonly #held = new Map<string, Held<C>>();

  constructor(options: ConnectionGateOptions<C>) {
    if (!options || !options.connector) throw new TypeError('ConnectionGate: connector is required');
    this.#source = options.connector;
    this.timeoutMs = options.timeoutMs ?? 300_000;
    this.intervalMs = options.intervalMs;
    this.#onConnectionRequired = options.onConnectionRequired;
  }

  /** The user's connector handle for this tool call. */
  async connector(call: ToolCallContext): Promise<C> {
    return typeof this.#source === 'function' ? await (this.#source as (c: ToolCallContext) => C | Promise<C>)(call) : this.#source;
  }

  /**
   * `needsApproval` for an AI SDK tool: true only while the user has no connected account on the connector. For a
   * call that was already held (its `tool-approval-request` is in the messages: the AI SDK asks again before it runs
   * an approved call, and denies it if the answer is now false) it stays true without asking the server.
   */
  readonly needsApproval = async (_input: unknown, options: { toolCallId: string; messages: ModelMessage[]; experimental_context?: unknown }): Promise<boolean> => {
    if (heldBefore(options.messages, options.toolCallId)) return true;
    const call: ToolCallContext = { toolCallId: options.toolCallId, messages: options.messages, context: options.experimental_context };
    const connector = await this.connector(call);
    try {
      await connector.connection();
    } catch (e) {
      if (!isConnectionRequired(e)) throw e;
      this.#held.set(options.toolCallId, { error: e, connector });
      await this.#onConnectionRequired?.(e, call);
      return true;
    }
    this.#held.delete(options.toolCallId);
    return false;
  };

  /**
   * An AI SDK tool (`tool()` from `ai`) whose `execute` gets the user's connector handle
   * (`(args, {connector, toolCallId, messages, abortSignal, experimental_context}) => ...`), with this gate's
   * `needsApproval`. An AgentAuthError it throws (GrantRevoked, a ConnectionRequired after an early approval, ...)
   * becomes the AI SDK's tool error: a `tool-error` part whose `error` is the AgentAuthError (`toJSON()` for the app),
   * and the model reads its message, which carries the connect link.
   */
  tool<INPUT, OUTPUT>(options: ConnectorToolOptions<INPUT, OUTPUT, C>): Tool<INPUT, OUTPUT> {
    const { execute, ...rest } = options;
    if (typeof execute !== 'function') throw new TypeError('ConnectionGate.tool: execute is required');
    const settings = {
      ...rest,
      needsApproval: this.needsApproval,
      execute: async (args: INPUT, o: ToolExecutionOptions) => {
        const connector = await this.connector({ toolCallId: o.toolCallId, messages: o.messages, context: o.experimental_context });
        return execute(args, { ...o, connector });
      },
    };
    return aiTool(settings as unknown as Tool<INPUT, OUTPUT>) as Tool<INPUT, OUTPUT>;
  }

  /**
   * The calls of `result` that wait for a connection, each with its ConnectionRequired (`error.connectUri` is the
   * link to show; `error.toJSON()` plain JSON). `result` is a generateText result (or agent.generate()'s, or a step),
   * its `content`, or the message list (`[...messages, ...result.response.messages]`: requests already answered are
   * left out).
   */
  pending(result: unknown): PendingConnection[] {
    const { requests, calls, answered } = partsOf(result);
    const out: PendingConnection[] = [];
    for (const r of requests) {
      const approvalId = typeof r.approvalId === 'string' ? r.approvalId : undefined;
      const toolCall = (r.toolCall ?? undefined) as ContentLike | undefined;
      const toolCallId = typeof r.toolCallId === 'string' ? r.toolCallId : typeof toolCall?.toolCallId === 'string' ? toolCall.toolCallId : undefined;
      if (!approvalId || !toolCallId || answered.has(approvalId)) continue;
      const held = this.#held.get(toolCallId);
      if (!held) continue;
      const call = toolCall ?? calls.get(toolCallId);
      out.push({ approvalId, toolCallId, toolName: typeof call?.toolName === 'string' ? call.toolName : undefined, input: call?.input, error: held.error });
    }
    return out;
  }

  /**
   * Waits until the user has connected (each pending call's connector, polling the connection status endpoint) and
   * returns the `tool` message approving those calls: `messages.push(...result.response.messages, message)`, then
   * call the model again. Throws the ConnectionRequired when the wait times out (the calls stay pending).
   */
  async approveWhenConnected(result: unknown, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ToolModelMessage> {
    const pending = this.pending(result);
    const waited = new Set<C>();
    for (const p of pending) {
      const held = this.#held.get(p.toolCallId);
      if (!held || waited.has(held.connector)) continue;
      await held.connector.waitForConnection({
        timeoutMs: options.timeoutMs ?? this.timeoutMs,
        ...(this.intervalMs === undefined ? {} : { intervalMs: this.intervalMs }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      waited.add(held.connector);
    }
    const content: ToolApprovalResponse[] = pending.map((p) => ({ type: 'tool-approval-response', approvalId: p.approvalId, approved: true }));
    for (const p of pending) this.#held.delete(p.toolCallId);
    return { role: 'tool', content };
  }

  /**
   * The `tool` message denying the pending calls (the user declined to connect); the model is told
   * `reason` (default: "The user did not connect a <connector> account.").
   */
  reject(result: unknown, reason?: string): ToolModelMessage {
    const pending = this.pending(result);
    const content: ToolApprovalResponse[] = pending.map((p) => ({
      type: 'tool-approval-response',
      approvalId: p.approvalId,
      approved: false,
      reason: reason ?? `The user did not connect a ${p.error.connector} account.`,
    }));
    for (const p of pending) this.#held.delete(p.toolCallId);
    return { role: 'tool', content };
  }

  toString(): string {
    return `ConnectionGate(pending=${JSON.stringify([...this.#held.keys()].sort())})`;
  }
}

/**
 * The AgentAuthErrors among a result's tool errors (`tool-error` parts: a tool's call failed with GrantRevoked, a
 * ConnectionRequired, ...), for the app to render (`error.toJSON()`).
 */
export function agentAuthErrors(result: unknown): Array<{ toolCallId: string; toolName: string | undefined; error: AgentAuthError }> {
  const items: unknown[] = Array.isArray(result)
    ? result
    : result && typeof result === 'object' && Array.isArray((result as { content?: unknown }).content)
      ? (result as { content: unknown[] }).content
      : [];
  const out: Array<{ toolCallId: string; toolName: string | undefined; error: AgentAuthError }> = [];
  for (const item of items) {
    const p = item as { type?: unknown; toolCallId?: unknown; toolName?: unknown; error?: unknown };
    if (p && p.type === 'tool-error' && isAgentAuthError(p.error)) {
      out.push({ toolCallId: String(p.toolCallId ?? ''), toolName: typeof p.toolName === 'string' ? p.toolName : undefined, error: p.error });
    }
  }
  return out;
}
