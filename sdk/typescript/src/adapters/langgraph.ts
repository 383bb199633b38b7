// keycloak-agent-auth/langgraph: ConnectionRequired as a LangGraph interrupt; resume waits for the connection and
// retries. The same behaviour and names (camelCase) as the Python SDK's keycloak_agent_auth.adapters.langgraph.
//
// @langchain/langgraph is an optional peer dependency: only this entry point imports it, the core never does.

import type { Command as CommandType } from '@langchain/langgraph';
import { peer } from './peer.js';

const { Command, INTERRUPT, interrupt } = await peer<typeof import('@langchain/langgraph')>(() => import('@langchain/langgraph'), 'keycloak-agent-auth/langgraph needs LangGraph: npm i @langchain/langgraph @langchain/core');
type Command = CommandType;
import { AgentAuthError, ConnectionRequired, isConnectionRequired } from '../errors.js';
import type { AgentAuthErrorJSON } from '../errors.js';
import type { WaitOptions } from '../connector.js';

/** What the resume waits on: a Connector (its `waitForConnection`), or anything with the same method. */
export interface ConnectionWaiter {
  waitForConnection(options: WaitOptions): Promise<unknown>;
}

export interface CallWithConnectionOptions {
  /** How long the resumed node waits for the connection before it throws the ConnectionRequired (default 300000). */
  timeoutMs?: number;
  /** Poll interval of the wait (default the connector's, 2000 ms). */
  intervalMs?: number;
  /** Aborts the wait (its reason is thrown). */
  signal?: AbortSignal;
}

/** The resume value that says the user has opened the connect link: `new Command({resume: RESUME_CONNECTED})`. */
export const RESUME_CONNECTED: Readonly<{ connected: true }> = Object.freeze({ connected: true });

/** The resume value that says the user declined: the node throws the ConnectionRequired. */
export const RESUME_DECLINED: Readonly<{ connected: false }> = Object.freeze({ connected: false });

/** `false`, `null`/`undefined`, `{connected: false}`, `{cancelled: true}` or `{declined: true}`: the user declined. */
function declined(answer: unknown): boolean {
  if (answer === false || answer === null || answer === undefined) return true;
  if (typeof answer === 'object') {
    const a = answer as Record<string, unknown>;
    return a.connected === false || Boolean(a.cancelled) || Boolean(a.declined);
  }
  return false;
}

/** Interrupts the graph with the error's JSON; returns when the graph is resumed with a "connected" answer. */
function ask(err: ConnectionRequired): void {
  // interrupt() throws LangGraph's GraphInterrupt the first time (never catch it here); on resume it returns the
  // Command's resume value
  const answer: unknown = interrupt(err.toJSON());
  if (declined(answer)) throw err;
}

/**
 * `fn()`; on ConnectionRequired: `interrupt(error.toJSON())`, and once the graph is resumed
 * (`new Command({resume: RESUME_CONNECTED})`) wait for the connection (`connector.waitForConnection`, polling the
 * connection status endpoint, no upstream call) and call `fn()` again. Resumed with `{connected: false}` (or
 * `false`): the ConnectionRequired is thrown in the node. Any other error is thrown as it is.
 *
 * Call it inside a LangGraph node or a tool run by one (the graph needs a checkpointer, as every interrupt does).
 * LangGraph runs the node again from its start on resume, so `fn` runs again there first; only if it still needs
 * the connection does the helper wait (up to `timeoutMs`) and retry once more.
 */
export async function callWithConnection<T>(connector: ConnectionWaiter, fn: () => Promise<T> | T, options: CallWithConnectionOptions = {}): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isConnectionRequired(e)) throw e;
    ask(e);
  }
  await connector.waitForConnection({
    timeoutMs: options.timeoutMs ?? 300_000,
    ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return await fn();
}

function interruptsOf(result: unknown): unknown[] {
  if (result === null || result === undefined) return [];
  if (Array.isArray(result)) return result;
  if (typeof result === 'object') {
    const r = result as Record<string | symbol, unknown>;
    if (Array.isArray(r[INTERRUPT])) return r[INTERRUPT] as unknown[];
    // a StateSnapshot (graph.getState(config)): its tasks' interrupts
    if (Array.isArray(r.tasks)) return (r.tasks as Array<{ interrupts?: unknown[] }>).flatMap((t) => t?.interrupts ?? []);
    if (Array.isArray(r.interrupts)) return r.interrupts as unknown[];
    if (typeof (r as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') return [...(result as Iterable<unknown>)];
  }
  return [];
}

/**
 * The ConnectionRequired values a run stopped on: `result` is what `graph.invoke` returned (its `__interrupt__`
 * list), a StateSnapshot (`await graph.getState(config)`, its tasks' interrupts) or a list of Interrupts (or their
 * values). Other interrupts are ignored.
 */
export function connectionInterrupts(result: unknown): ConnectionRequired[] {
  const out: ConnectionRequired[] = [];
  for (const item of interruptsOf(result)) {
    const value = item && typeof item === 'object' && 'value' in item ? (item as { value: unknown }).value : item;
    if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'ConnectionRequired') {
      const err = AgentAuthError.fromJSON(value as AgentAuthErrorJSON);
      if (isConnectionRequired(err)) out.push(err);
    }
  }
  return out;
}

/** `new Command({resume: RESUME_CONNECTED})`: resume after the user opened the connect link. */
export function resumeConnected(): Command {
  return new Command({ resume: { ...RESUME_CONNECTED } });
}

/** `new Command({resume: RESUME_DECLINED})`: resume when the user declined (the node throws the ConnectionRequired). */
export function resumeDeclined(): Command {
  return new Command({ resume: { ...RESUME_DECLINED } });
}
