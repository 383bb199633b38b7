// Errors as values (DESIGN section 10): every failure the SDK reports is an AgentAuthError whose `code` is the
// server's OAuth `error` (or one of the SDK's own codes for failures that never reached an answer), and which
// serialises to plain JSON with toJSON(), so that it crosses agent-framework boundaries unchanged.
//
// No token ever reaches an error: messages and descriptions are built from the server's `error` and
// `error_description` only, and anything shaped like a JWT in a description is masked as well.

/**
 * The JSON form of an AgentAuthError (what toJSON() returns and AgentAuthError.fromJSON() reads), the same in the
 * Python SDK (`to_dict()` / `from_dict()`): snake_case keys like the server's own JSON; every member of the class is
 * present, `null` when unknown (`connector`, `connect_uri` only on ConnectionRequired; `connector`,
 * `connection_id` only on ConnectionNotFound).
 */
export interface AgentAuthErrorJSON {
  type: string;
  code: string;
  status: number | null;
  description: string | null;
  message: string;
  connector?: string | null;
  connect_uri?: string | null;
  connection_id?: string | null;
}

const BRAND = Symbol.for('keycloak-agent-auth.error');
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(\.[A-Za-z0-9_-]*)?/g;

/**
 * Masks anything shaped like a JWT, collapses whitespace and bounds the length to `max` characters (descriptions
 * come from a server). Idempotent, as the Python SDK's `redact`.
 */
export function scrub(text: unknown, max = 500): string | undefined {
  if (text === undefined || text === null) return undefined;
  let s = String(text).replace(JWT_SHAPE, '[redacted]').replace(/\s+/g, ' ').trim();
  if (s.length > max) s = `${s.slice(0, max - 1)}…`;
  return s;
}

export interface AgentAuthErrorOptions {
  status?: number;
  description?: string;
  cause?: unknown;
}

/** The human text of an error, the same in both SDKs: `code (HTTP status): description (connect at uri)`. */
function messageOf(code: string, status: number | undefined, description: string | undefined, connectUri?: string): string {
  let m = status === undefined ? code : `${code} (HTTP ${status})`;
  if (description) m = `${m}: ${description}`;
  if (connectUri) m = `${m} (connect at ${connectUri})`;
  return m;
}

const nullable = <T>(v: T | undefined | null): T | null => (v === undefined || v === null || (v as unknown) === '' ? null : v);

/**
 * The base of every error the SDK throws. `code` is the server's `error` (e.g. `invalid_request`, `invalid_target`)
 * or an SDK code (`network_error`, `invalid_response`, `http_<status>` for an answer without an OAuth error,
 * `discovery_failed`, `invalid_configuration`); `status` the HTTP status when there was an answer; `description`
 * the server's `error_description`.
 */
export class AgentAuthError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  readonly description: string | undefined;

  constructor(code: string, options: AgentAuthErrorOptions = {}) {
    const description = scrub(options.description);
    const status = typeof options.status === 'number' ? options.status : undefined;
    super(messageOf(code, status, description), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.description = description;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Plain JSON (AgentAuthErrorJSON: type, code, status, description, message, ...). Never a token. */
  toJSON(): AgentAuthErrorJSON {
    return {
      type: this.name,
      code: this.code,
      status: nullable(this.status),
      description: nullable(this.description),
      message: this.message,
    };
  }

  /**
   * Rebuilds the error (the right subclass) from its JSON form, e.g. after it crossed a process boundary or came from
   * the Python SDK's `to_dict()`. An unknown `type` gives an AgentAuthError; `message` is derived again.
   */
  static fromJSON(json: AgentAuthErrorJSON | Record<string, unknown>): AgentAuthError {
    const j = (json ?? {}) as Record<string, unknown>;
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const code = str(j.code) ?? 'error';
    const opts = { status: typeof j.status === 'number' ? j.status : undefined, description: str(j.description) };
    switch (j.type) {
      case 'ConnectionRequired':
        return new ConnectionRequired(str(j.connector) ?? '', str(j.connect_uri) ?? '', { ...opts, code });
      case 'ConnectionNotFound':
        return new ConnectionNotFound(str(j.connector) ?? '', str(j.connection_id) ?? '', { ...opts, code });
      case 'GrantRevoked':
        return new GrantRevoked(code, opts);
      case 'AccessDenied':
        return new AccessDenied(code, opts);
      case 'InsufficientScope':
        return new InsufficientScope(code, opts);
      case 'UpstreamUnavailable':
        return new UpstreamUnavailable(code, opts);
      case 'NetworkError':
        return new NetworkError(code, opts);
      case 'ApprovalExpired':
        return new ApprovalExpired(code, opts);
      default:
        return new AgentAuthError(code, opts);
    }
  }
}

/**
 * The user has no usable account on the connector (none linked, or it must be linked again): send the user to
 * `connectUri` (absolute), then retry, or await `connector.waitForConnection()`. Code `connection_required`.
 */
export class ConnectionRequired extends AgentAuthError {
  readonly connector: string;
  readonly connectUri: string;

  constructor(connector: string, connectUri: string, options: AgentAuthErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'connection_required', options);
    this.connector = connector;
    this.connectUri = connectUri;
    this.message = messageOf(this.code, this.status, this.description, connectUri);
  }

  override toJSON(): AgentAuthErrorJSON {
    return { ...super.toJSON(), connector: nullable(this.connector), connect_uri: nullable(this.connectUri) };
  }
}

/**
 * The chosen connection (`connectionId`, the `X-Connection-Id` of the call) is not an active connection of the user
 * on the connector: pick another (or none, for the default). Code `connection_not_found` (HTTP 404).
 */
export class ConnectionNotFound extends AgentAuthError {
  readonly connector: string;
  readonly connectionId: string;

  constructor(connector: string, connectionId: string, options: AgentAuthErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'connection_not_found', options);
    this.connector = connector;
    this.connectionId = connectionId;
  }

  override toJSON(): AgentAuthErrorJSON {
    return { ...super.toJSON(), connector: nullable(this.connector), connection_id: nullable(this.connectionId) };
  }
}

/**
 * The user's delegation grant behind this call is missing, revoked or expired (or the agent no longer acts under it):
 * the user must approve the agent again. Retrying does not help. `code` is the server's (`invalid_request`,
 * `invalid_grant`, or `invalid_token` from the proxy).
 */
export class GrantRevoked extends AgentAuthError {}

/**
 * The agent's policy or the user's grant does not include what was asked for: the connector (proxy 403
 * `access_denied`; the exchange's `invalid_target` "Connector ... is not in the user's delegation grant" / "... is not
 * allowed for agent ..."), a refusal of this client (`unauthorized_client`: "Agent ... does not allow host client
 * ...", "Only the acting agent ..."), or the user denied the login or a headless approval request (`access_denied`).
 * The user approves again, with the connector on the consent screen, or an administrator changes the policy.
 */
export class AccessDenied extends AgentAuthError {}

/**
 * The token does not carry what is needed (`insufficient_scope`, e.g. a token without `act` at the proxy), or the
 * requested scope lies outside what the user granted and the agent's policy allows (`invalid_scope`).
 */
export class InsufficientScope extends AgentAuthError {}

/**
 * The upstream service (or the way to it) failed, or the server answered that it is unavailable: HTTP 502/503/504
 * (`upstream_timeout`, `upstream_unreachable`, `upstream_unavailable`, `temporarily_unavailable`, ...). Worth
 * retrying later.
 */
export class UpstreamUnavailable extends AgentAuthError {}

/**
 * No answer from Keycloak itself (connection refused, DNS, timeout): code `network_error`, no `status`. Worth
 * retrying later; never a sign that the grant is gone.
 */
export class NetworkError extends AgentAuthError {}

/**
 * The user did not decide on a headless approval request (CIBA, `agent.requestApproval`) before it expired: code
 * `expired_token`. Ask again with a new request; polling this one cannot succeed.
 */
export class ApprovalExpired extends AgentAuthError {}

function branded(e: unknown): e is AgentAuthError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** True for any error of this SDK (also across two copies of the package). */
export function isAgentAuthError(e: unknown): e is AgentAuthError {
  return e instanceof AgentAuthError || branded(e);
}
export function isConnectionRequired(e: unknown): e is ConnectionRequired {
  return e instanceof ConnectionRequired || (branded(e) && e.name === 'ConnectionRequired');
}
export function isGrantRevoked(e: unknown): e is GrantRevoked {
  return e instanceof GrantRevoked || (branded(e) && e.name === 'GrantRevoked');
}
export function isAccessDenied(e: unknown): e is AccessDenied {
  return e instanceof AccessDenied || (branded(e) && e.name === 'AccessDenied');
}
export function isInsufficientScope(e: unknown): e is InsufficientScope {
  return e instanceof InsufficientScope || (branded(e) && e.name === 'InsufficientScope');
}
export function isUpstreamUnavailable(e: unknown): e is UpstreamUnavailable {
  return e instanceof UpstreamUnavailable || (branded(e) && e.name === 'UpstreamUnavailable');
}
export function isConnectionNotFound(e: unknown): e is ConnectionNotFound {
  return e instanceof ConnectionNotFound || (branded(e) && e.name === 'ConnectionNotFound');
}
export function isNetworkError(e: unknown): e is NetworkError {
  return e instanceof NetworkError || (branded(e) && e.name === 'NetworkError');
}
export function isApprovalExpired(e: unknown): e is ApprovalExpired {
  return e instanceof ApprovalExpired || (branded(e) && e.name === 'ApprovalExpired');
}

// ---------------------------------------------------------------------------------------------------------------
// mapping the server's answers

/**
 * Descriptions by which the server says that the grant behind a call is gone (its real messages: "No active
 * delegation grant from the user to agent ...", "The delegation grant this token was issued under (...) is no longer
 * active", "The user has not consented to agent ...", and the proxy's and vault exchange's "The delegation is no
 * longer valid: ...").
 */
const GRANT_GONE = [
  /no active delegation grant/i,
  /delegation grant .* is no longer active/i,
  /delegation grant this token was issued under/i,
  /the delegation is no longer valid/i,
  /has not consented to agent/i,
  /\bgrant\b.*\b(revoked|expired)\b/i,
];

/**
 * The exchange's refusals of a connector's resource that the proxy answers as access_denied: "Connector X is not in
 * the user's delegation grant", "Connector X is not allowed for agent Y".
 */
const CONNECTOR_REFUSED = [/^Connector \S+ is not in the user's delegation grant/, /^Connector \S+ is not allowed for agent /];

/** What an error answer was about: the connector (and its fallback connect link) and the chosen connection. */
export interface ErrorContext {
  connector?: string;
  connectUri?: string;
  connectionId?: string;
}

/** Codes of an unavailable upstream or server besides `upstream_*` (any status). */
const UNAVAILABLE_CODES = ['temporarily_unavailable'];

/**
 * Maps one error answer of the server ({error, error_description[, connect_uri]} with its HTTP status) to the
 * error class that says what to do. Pure: unit-tested against the server's real messages. The Python SDK's
 * `error_from_answer` applies the same rules in the same order:
 *
 * 1. `connection_required` → ConnectionRequired; `connection_not_found` → ConnectionNotFound;
 * 2. `invalid_request` / `invalid_grant` / `invalid_token` whose description says the grant is gone → GrantRevoked;
 * 3. `access_denied`, `unauthorized_client`, `invalid_target` refusing a connector → AccessDenied;
 * 4. `insufficient_scope`, `invalid_scope` → InsufficientScope;
 * 5. `upstream_*`, `temporarily_unavailable`, or HTTP 502/503/504 → UpstreamUnavailable;
 * 6. `expired_token` (a CIBA approval request the user did not decide on in time) → ApprovalExpired;
 * 7. anything else → AgentAuthError. Without an OAuth `error` the code is `http_<status>` (or `invalid_response`).
 */
export function errorFromResponse(status: number | undefined, body: unknown, context: ErrorContext = {}): AgentAuthError {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const code = typeof b.error === 'string' && b.error !== '' ? b.error : status !== undefined && status >= 400 ? `http_${status}` : 'invalid_response';
  const description = typeof b.error_description === 'string' ? b.error_description : undefined;
  const opts = { status, description };
  if (code === 'connection_required') {
    const uri = typeof b.connect_uri === 'string' && b.connect_uri !== '' ? b.connect_uri : context.connectUri ?? '';
    return new ConnectionRequired(context.connector ?? '', uri, opts);
  }
  if (code === 'connection_not_found') return new ConnectionNotFound(context.connector ?? '', context.connectionId ?? '', opts);
  if (['invalid_request', 'invalid_grant', 'invalid_token'].includes(code) && description && GRANT_GONE.some((r) => r.test(description))) {
    return new GrantRevoked(code, opts);
  }
  if (code === 'access_denied' || code === 'unauthorized_client') return new AccessDenied(code, opts);
  if (code === 'invalid_target' && description && CONNECTOR_REFUSED.some((r) => r.test(description))) {
    // the exchange for a connector's resource: the same refusal the proxy answers with 403 access_denied
    return new AccessDenied(code, opts);
  }
  if (code === 'insufficient_scope' || code === 'invalid_scope') return new InsufficientScope(code, opts);
  if (code.startsWith('upstream_') || UNAVAILABLE_CODES.includes(code) || status === 502 || status === 503 || status === 504) {
    return new UpstreamUnavailable(code, opts);
  }
  if (code === 'expired_token') return new ApprovalExpired(code, opts);
  return new AgentAuthError(code, opts);
}

/** A failure before any answer from Keycloak (fetch's TypeError, a timeout): NetworkError `network_error`. */
export function networkError(e: unknown): NetworkError {
  const err = e as { name?: string; cause?: { code?: string; name?: string } } | undefined;
  if (err?.name === 'TimeoutError') {
    return new NetworkError('network_error', { description: 'No answer from the server in time (timeout)' });
  }
  const detail = err?.cause?.code ?? err?.cause?.name ?? err?.name ?? 'error';
  return new NetworkError('network_error', { description: `No answer from the server (${scrub(detail, 80)})` });
}
