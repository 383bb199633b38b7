// A connector handle: calls through the brokered proxy with a connector-resource token (cached until shortly before it
// expires), the connection-status endpoint, waiting for the user to connect, and the vault exchange.

import { inspect } from 'node:util';
import type { AgentAuth } from './agent.js';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, peekClaims, toAgentAuthError } from './protocol.js';
import { AgentAuthError, ConnectionRequired, errorFromResponse, isConnectionRequired, networkError } from './errors.js';
import { TokenSet } from './tokens.js';

/** The header naming the chosen account (sent by the agent, and on every answer the proxy forwarded from the upstream). */
export const CONNECTION_HEADER = 'x-connection-id';

const ALIAS = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export interface ConnectorOptions {
  /**
   * The user's access token (exchanged for a connector-resource token), or a function returning a current one. A
   * token that is already this agent's delegated token for the connector's resource is used as it is.
   */
  subjectToken: string | (() => string | Promise<string>);
  /** The user's account to use (one of several on the connector); default: the one picked on the consent screen, else the most recent. */
  connectionId?: string;
}

/** What the connection-status endpoint says: the account a proxied call would use now. */
export interface ConnectionInfo {
  connector: string;
  connectionId: string;
  /** The account's label at the upstream (e.g. its preferred_username). */
  account: string;
  /** `ACTIVE` (others are never answered: they are connection_required). */
  status: string;
  scopes: string[];
  /** `proxy` or `proxy_exchange` (the latter allows upstreamToken()). */
  deliveryMode: string;
}

export interface WaitOptions {
  /** Give up after this long (then ConnectionRequired is thrown). */
  timeoutMs: number;
  /** Poll interval (default 2000 ms). */
  intervalMs?: number;
  /** Abort waiting (its reason is thrown). */
  signal?: AbortSignal;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The path below `{connector URI}/proxy/`, checked before anything is sent. A URL parser (fetch's, a proxy's) would
 * resolve dot segments (`..`, `%2e%2e`), backslashes and tab or newline characters into another path on the server,
 * so the connector's token would go to an endpoint other than the proxy: such a path is refused here, as the proxy
 * refuses the raw forms it receives. A path from an LLM or a tool argument cannot leave the proxy.
 */
export function proxyPath(path: string): string {
  const p = String(path ?? '').replace(/^\/+/, '');
  const pathOnly = p.split(/[?#]/, 1)[0] ?? '';
  // eslint-disable-next-line no-control-regex
  const bad = /[\\\u0000-\u001f\u007f]/.test(pathOnly)
    || pathOnly.split('/').some((seg) => /^(\.|%2e){1,2}$/i.test(seg));
  if (bad) {
    throw new AgentAuthError('invalid_request', {
      description: 'The proxy path must not contain dot segments, backslashes or control characters',
    });
  }
  return p;
}

function replayable(body: unknown): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof URLSearchParams || body instanceof ArrayBuffer || ArrayBuffer.isView(body) || body instanceof Blob || body instanceof FormData;
}

export class Connector {
  readonly alias: string;
  /** The connector's resource URI: `{issuer}/agent-auth/connectors/{alias}` (the `resource` of its tokens). */
  readonly resource: string;
  readonly connectionId: string | undefined;
  readonly #agent: AgentAuth;
  readonly #subject: ConnectorOptions['subjectToken'];
  #token: TokenSet | undefined;
  #inFlight: Promise<TokenSet> | undefined;
  #connectUri: string | undefined;

  constructor(agent: AgentAuth, alias: string, o: ConnectorOptions) {
    if (!ALIAS.test(alias ?? '')) throw new AgentAuthError('invalid_request', { description: `not a connector alias: ${JSON.stringify(String(alias).slice(0, 70))}` });
    if (!o || (typeof o.subjectToken !== 'string' && typeof o.subjectToken !== 'function') || o.subjectToken === '') {
      throw new AgentAuthError('invalid_request', { description: 'subjectToken is required' });
    }
    this.#agent = agent;
    this.alias = alias;
    this.resource = `${agent.issuer}/agent-auth/connectors/${alias}`;
    this.#subject = o.subjectToken;
    this.connectionId = o.connectionId || undefined;
  }

  /** The same connector for the same user, another account (shares nothing but the subject token). */
  withConnection(connectionId: string | undefined): Connector {
    return new Connector(this.#agent, this.alias, { subjectToken: this.#subject, connectionId });
  }

  /**
   * Where the user connects an account: the link of the last `connection_required` answer, else
   * `{issuer}/agent-auth/connectors/{alias}/connect?client_id=<agent>`.
   */
  get connectUri(): string {
    if (this.#connectUri) return this.#connectUri;
    const u = new URL(`${this.resource}/connect`);
    u.searchParams.set('client_id', this.#agent.clientId);
    return u.href;
  }

  /** A connect link is shown to a user: it must lead to this connector's connect page at this realm. */
  #trusted(uri: unknown): string | undefined {
    if (typeof uri !== 'string') return undefined;
    try {
      const u = new URL(uri);
      const c = new URL(this.resource);
      if (u.origin === c.origin && u.pathname === `${c.pathname}/connect` && !u.username && !u.password && !u.hash) return u.href;
    } catch {
      // not a URL
    }
    return undefined;
  }

  /** Maps a refusal (proxy, status endpoint or vault exchange); remembers the connect link of connection_required. */
  #refusal(status: number | undefined, body: unknown): AgentAuthError {
    const b = (body && typeof body === 'object' ? { ...(body as object) } : {}) as Record<string, unknown>;
    if (b.error === 'connection_required') b.connect_uri = this.#trusted(b.connect_uri) ?? this.connectUri;
    const e = errorFromResponse(status, b, { connector: this.alias, connectUri: this.connectUri, connectionId: this.connectionId });
    if (isConnectionRequired(e) && e.connectUri) this.#connectUri = e.connectUri;
    return e;
  }

  async #subjectToken(): Promise<string> {
    const t = typeof this.#subject === 'function' ? await this.#subject() : this.#subject;
    if (typeof t !== 'string' || t === '') throw new AgentAuthError('invalid_request', { description: 'subjectToken gave no token' });
    return t;
  }

  /**
   * The connector-resource token (a delegated token whose `aud` is the connector's URI), cached until
   * `renewBeforeSeconds` before it expires.
   */
  async token(): Promise<TokenSet> {
    const now = this.#agent.realm.now();
    if (this.#token && !this.#token.expired(this.#agent.renewBeforeSeconds, now)) return this.#token;
    if (!this.#inFlight) {
      this.#inFlight = this.#fetchToken()
        .then((t) => (this.#token = t))
        .finally(() => {
          this.#inFlight = undefined;
        });
    }
    return this.#inFlight;
  }

  async #fetchToken(): Promise<TokenSet> {
    const subject = await this.#subjectToken();
    const claims = peekClaims(subject);
    const act = claims?.act as { client_id?: unknown } | undefined;
    const aud = claims?.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (act?.client_id === this.#agent.clientId && aud.includes(this.resource)) {
      // already this agent's token for the connector (e.g. from the requested_actor flow with resource)
      return new TokenSet({ access_token: subject, token_type: 'Bearer' }, { now: this.#agent.realm.now() });
    }
    return this.#agent.exchange({ subjectToken: subject, resource: this.resource });
  }

  /** Drops the cached connector token (the next call exchanges again). */
  reset(): void {
    this.#token = undefined;
  }

  #headers(token: string, given?: HeadersInit): Headers {
    const h = new Headers(given);
    h.set('authorization', `Bearer ${token}`);
    if (this.connectionId) h.set(CONNECTION_HEADER, this.connectionId);
    if (!h.has('accept')) h.set('accept', 'application/json');
    return h;
  }

  #signal(given?: AbortSignal | null): AbortSignal {
    const t = AbortSignal.timeout(this.#agent.realm.timeoutMs);
    if (!given) return t;
    if (typeof AbortSignal.any === 'function') return AbortSignal.any([given, t]);
    const both = new AbortController(); // Node 20.0-20.2: no AbortSignal.any
    for (const s of [given, t]) {
      if (s.aborted) both.abort(s.reason);
      else s.addEventListener('abort', () => both.abort(s.reason), { once: true });
    }
    return both.signal;
  }

  async #send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#agent.realm.fetch(url, { ...init, redirect: 'manual' });
    } catch (e) {
      if ((e as { name?: string })?.name === 'AbortError') throw (init.signal as AbortSignal | undefined)?.reason ?? e;
      throw networkError(e);
    }
  }

  async #readError(res: Response): Promise<unknown> {
    const text = await res.text().catch(() => '');
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      return {};
    }
  }

  /**
   * A call through the brokered proxy: `{connector URI}/proxy/{path}` with the connector token and `X-Connection-Id`.
   * Returns the upstream's answer as a Response (whatever its status: it is the upstream API's). Throws the proxy's
   * own refusals: ConnectionRequired (connectUri), ConnectionNotFound (an unknown `connectionId`), GrantRevoked,
   * AccessDenied, InsufficientScope, UpstreamUnavailable (502/503/504), NetworkError (no answer from Keycloak),
   * AgentAuthError (`not_found`, `invalid_request`, ...).
   */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = `${this.resource}/proxy/${proxyPath(path)}`;
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      const res = await this.#send(url, { ...init, headers: this.#headers(token.accessToken, init.headers), signal: this.#signal(init.signal) });
      if (res.headers.has(CONNECTION_HEADER) || res.status < 400) return res; // the upstream's answer
      const e = this.#refusal(res.status, await this.#readError(res));
      // an expired or otherwise refused connector token (not a revoked grant): exchange again once
      if (attempt === 0 && e.code === 'invalid_token' && e.name === 'AgentAuthError' && replayable(init.body)) {
        this.reset();
        continue;
      }
      throw e;
    }
  }

  /**
   * The account a proxied call would use now, from `GET {connector URI}/connection` (no upstream call). Throws
   * ConnectionRequired when there is none, and the proxy's other refusals.
   */
  async connection(options: { signal?: AbortSignal } = {}): Promise<ConnectionInfo> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      const res = await this.#send(`${this.resource}/connection`, { method: 'GET', headers: this.#headers(token.accessToken), signal: this.#signal(options.signal) });
      if (res.status === 200) {
        let b: Record<string, unknown>;
        try {
          b = (await res.json()) as Record<string, unknown>;
        } catch {
          throw new AgentAuthError('invalid_response', { status: 200, description: 'the connection status is not JSON' });
        }
        return {
          connector: String(b.connector ?? this.alias),
          connectionId: String(b.connection_id ?? ''),
          account: String(b.account ?? ''),
          status: String(b.status ?? ''),
          scopes: Array.isArray(b.scopes) ? b.scopes.map(String) : [],
          deliveryMode: String(b.delivery_mode ?? ''),
        };
      }
      const e = this.#refusal(res.status, await this.#readError(res));
      if (attempt === 0 && e.code === 'invalid_token' && e.name === 'AgentAuthError') {
        this.reset();
        continue;
      }
      throw e;
    }
  }

  /**
   * Waits until the user has connected an account (polls connection(), never the upstream). Resolves with the
   * connection; throws the last ConnectionRequired when `timeoutMs` has passed, any other error at once, and the
   * signal's reason when aborted.
   */
  async waitForConnection(o: WaitOptions): Promise<ConnectionInfo> {
    const interval = Math.max(50, o.intervalMs ?? 2000);
    // real time (the polls sleep on real timers), not the injectable clock that token expiry uses
    const deadline = Date.now() + Math.max(0, o.timeoutMs);
    let last: ConnectionRequired | undefined;
    for (;;) {
      if (o.signal?.aborted) throw o.signal.reason;
      try {
        return await this.connection({ signal: o.signal });
      } catch (e) {
        if (!isConnectionRequired(e)) throw e;
        last = e;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw last;
      await sleep(Math.min(interval, left), o.signal);
    }
  }

  /**
   * The vault exchange (connectors with delivery mode `proxy_exchange`): a fresh upstream access token for the
   * chosen account. The TokenSet's `connectionId` names the account; its claims are empty for an opaque token.
   */
  async upstreamToken(): Promise<TokenSet> {
    const token = await this.token();
    const p = new URLSearchParams({
      subject_token: token.accessToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_issuer: this.alias,
    });
    if (this.connectionId) p.set('connection_id', this.connectionId);
    try {
      return await this.#agent.tokenRequest(TOKEN_EXCHANGE_GRANT, p, { connector: this.alias, connectUri: this.connectUri, connectionId: this.connectionId });
    } catch (e) {
      const err = toAgentAuthError(e);
      if (isConnectionRequired(err)) throw this.#refusal(err.status, { error: err.code, error_description: err.description, connect_uri: err.connectUri });
      throw err;
    }
  }

  toString(): string {
    return `Connector(${this.alias}${this.connectionId ? `, connection ${this.connectionId}` : ''})`;
  }

  toJSON(): { alias: string; resource: string; connectionId?: string; connectUri: string } {
    return { alias: this.alias, resource: this.resource, ...(this.connectionId ? { connectionId: this.connectionId } : {}), connectUri: this.connectUri };
  }

  [inspect.custom](): string {
    return `Connector ${inspect(this.toJSON())}`;
  }
}
