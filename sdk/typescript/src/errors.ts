// Errors as values (DESIGN section 10): every failure the SDK reports is an AgentAuthError whose `code` is the
// server's OAuth `error` (or one of the SDK's own codes for failures that never reached an answer), and which
// serialises to plain JSON with toJSON(), so that it crosses agent-framework boundaries unchanged.
//
// No token ever reaches an error: messages and descriptions are built from the server's `error` and
// `error_description` only, and anything shaped like a JWT in a description is masked as well.

/** The JSON form of an AgentAuthError (what toJSON() returns and AgentAuthError.fromJSON() reads). */
export interface AgentAuthErrorJSON {
  name: string;
  code: string;
  message: string;
  status?: number;
  description?: string;
  connector?: string;
  connectUri?: string;
}

const BRAND = Symbol.for('keycloak-agent-auth.error');
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(\.[A-Za-z0-9_-]*)?/g;

/** Masks anything shaped like a JWT and bounds the length (descriptions come from a server). */
export function scrub(text: unknown, max = 500): string | undefined {
  if (text === undefined || text === null) return undefined;
  let s = String(text).replace(JWT_SHAPE, '[redacted]').replace(/\s+/g, ' ').trim();
  if (s.length > max) s = `${s.slice(0, max)}…`;
  return s;
}

export interface AgentAuthErrorOptions {
  status?: number;
  description?: string;
  cause?: unknown;
}

/**
 * The base of every error the SDK throws. `code` is the server's `error` (e.g. `invalid_request`,
 * `connection_not_found`, `invalid_target`) or an SDK code (`network_error`, `timeout`, `invalid_response`,
 * `discovery_failed`, `invalid_configuration`); `status` the HTTP status when there was an answer; `description`
 * the server's `error_description`.
 */
export class AgentAuthError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  readonly description: string | undefined;

  constructor(code: string, options: AgentAuthErrorOptions = {}) {
    const description = scrub(options.description);
    super(description ? `${code}: ${description}` : code, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status;
    this.description = description;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Plain JSON: name, code, message, status, description (and connector, connectUri where set). Never a token. */
  toJSON(): AgentAuthErrorJSON {
    const out: AgentAuthErrorJSON = { name: this.name, code: this.code, message: this.message };
    if (this.status !== undefined) out.status = this.status;
    if (this.description !== undefined) out.description = this.description;
    return out;
  }

  /** Rebuilds the error (the right subclass) from its toJSON() form, e.g. after it crossed a process boundary. */
  static fromJSON(json: AgentAuthErrorJSON): AgentAuthError {
    const opts = { status: json.status, description: json.description };
    switch (json.name) {
      case 'ConnectionRequired':
        return new ConnectionRequired(json.connector ?? '', json.connectUri ?? '', { ...opts, code: json.code });
      case 'GrantRevoked':
        return new GrantRevoked(json.code, opts);
      case 'AccessDenied':
        return new AccessDenied(json.code, opts);
      case 'InsufficientScope':
        return new InsufficientScope(json.code, opts);
      case 'UpstreamUnavailable':
        return new UpstreamUnavailable(json.code, opts);
      default:
        return new AgentAuthError(json.code, opts);
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
  }

  override toJSON(): AgentAuthErrorJSON {
    return { ...super.toJSON(), connector: this.connector, connectUri: this.connectUri };
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
 * allowed for agent ..."), or the user denied the login (`access_denied`). The user approves again, with the connector
 * on the consent screen, or an administrator changes the policy.
 */
export class AccessDenied extends AgentAuthError {}

/** The token is not one that may be used here (e.g. a token without `act` at the proxy). `insufficient_scope`. */
export class InsufficientScope extends AgentAuthError {}

/**
 * The upstream service (or the way to it) failed: HTTP 502/503/504 from the proxy or the vault exchange
 * (`upstream_timeout`, `upstream_unreachable`, `upstream_unavailable`, `temporarily_unavailable`, ...), or the
 * server could not be reached at all (`network_error`, `timeout`, no `status`). Worth retrying later.
 */
export class UpstreamUnavailable extends AgentAuthError {}

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

/** What an error answer was about: the connector (for connection_required) and its fallback connect link. */
export interface ErrorContext {
  connector?: string;
  connectUri?: string;
}

/**
 * Maps one error answer of the server ({error, error_description[, connect_uri]} with its HTTP status) to the
 * error class that says what to do. Pure: unit-tested against the server's real messages.
 */
export function errorFromResponse(status: number | undefined, body: unknown, context: ErrorContext = {}): AgentAuthError {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const code = typeof b.error === 'string' && b.error !== '' ? b.error : status !== undefined && status >= 500 ? 'server_error' : 'invalid_response';
  const description = typeof b.error_description === 'string' ? b.error_description : undefined;
  const opts = { status, description };
  if (code === 'connection_required') {
    const uri = typeof b.connect_uri === 'string' && b.connect_uri !== '' ? b.connect_uri : context.connectUri ?? '';
    return new ConnectionRequired(context.connector ?? '', uri, opts);
  }
  if (code === 'access_denied') return new AccessDenied(code, opts);
  if (code === 'invalid_target' && description && CONNECTOR_REFUSED.some((r) => r.test(description))) {
    // the exchange for a connector's resource: the same refusal the proxy answers with 403 access_denied
    return new AccessDenied(code, opts);
  }
  if (code === 'insufficient_scope') return new InsufficientScope(code, opts);
  if (['invalid_request', 'invalid_grant', 'invalid_token'].includes(code) && description && GRANT_GONE.some((r) => r.test(description))) {
    return new GrantRevoked(code, opts);
  }
  if (status === 502 || status === 503 || status === 504 || code.startsWith('upstream_') || code === 'temporarily_unavailable') {
    return new UpstreamUnavailable(code, opts);
  }
  return new AgentAuthError(code, opts);
}

/** A failure before any answer: fetch's TypeError, an abort or timeout. */
export function networkError(e: unknown): AgentAuthError {
  const err = e as { name?: string; cause?: { code?: string; name?: string } } | undefined;
  if (err?.name === 'TimeoutError') {
    return new UpstreamUnavailable('timeout', { description: 'The server did not answer in time' });
  }
  const detail = err?.cause?.code ?? err?.cause?.name ?? err?.name ?? 'error';
  return new UpstreamUnavailable('network_error', { description: `The server could not be reached (${scrub(detail, 80)})` });
}
