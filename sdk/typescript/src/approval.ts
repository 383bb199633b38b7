// A headless approval request (OpenID CIBA, poll mode; DESIGN section 12): what `agent.requestApproval()` returns and
// `agent.waitForApproval()` polls. The auth_req_id is a credential of the request (with the agent's actor token it
// redeems the user's approval): a private field, reachable through the authReqId getter only, never through
// JSON.stringify, toString, util.inspect or console.log.

import { inspect } from 'node:util';

/** What the backchannel authentication endpoint answered (the members the SDK reads). */
export interface BackchannelResponse {
  auth_req_id: string;
  expires_in: number;
  interval?: number;
  [member: string]: unknown;
}

/** The JSON form of an ApprovalRequest: everything but the auth_req_id. */
export interface ApprovalRequestJSON {
  authReqId: '[redacted]';
  loginHint?: string;
  bindingMessage?: string;
  expiresAt: string;
  interval: number;
}

/** CIBA Core section 7.3: without `interval` in the answer the client waits 5 s between polls. */
export const DEFAULT_INTERVAL_SECONDS = 5;

/**
 * A pending approval request: show `bindingMessage` to the user where you can, then `agent.waitForApproval(request)`.
 * `expiresAt` (a Date) is when the server forgets it; `interval` the seconds to wait between polls.
 */
export class ApprovalRequest {
  readonly #authReqId: string;
  readonly expiresAt: Date;
  readonly interval: number;
  readonly loginHint: string | undefined;
  readonly bindingMessage: string | undefined;

  constructor(response: BackchannelResponse, options: { now?: number; loginHint?: string; bindingMessage?: string } = {}) {
    if (typeof response?.auth_req_id !== 'string' || response.auth_req_id === '') {
      throw new TypeError('a backchannel authentication response needs an auth_req_id');
    }
    const now = options.now ?? Date.now();
    this.#authReqId = response.auth_req_id;
    const expiresIn = typeof response.expires_in === 'number' && Number.isFinite(response.expires_in) ? response.expires_in : 0;
    this.expiresAt = new Date(now + expiresIn * 1000);
    this.interval = typeof response.interval === 'number' && Number.isFinite(response.interval) && response.interval > 0 ? response.interval : DEFAULT_INTERVAL_SECONDS;
    this.loginHint = options.loginHint;
    this.bindingMessage = options.bindingMessage;
  }

  /** The auth_req_id (with the agent's actor token it redeems the approval: keep it like a token, never log it). */
  get authReqId(): string {
    return this.#authReqId;
  }

  /** True when the request has expired at `now` (epoch ms). */
  expired(now = Date.now()): boolean {
    return this.expiresAt.getTime() <= now;
  }

  /** Everything but the auth_req_id. */
  toJSON(): ApprovalRequestJSON {
    const out: ApprovalRequestJSON = { authReqId: '[redacted]', expiresAt: this.expiresAt.toISOString(), interval: this.interval };
    if (this.loginHint !== undefined) out.loginHint = this.loginHint;
    if (this.bindingMessage !== undefined) out.bindingMessage = this.bindingMessage;
    return out;
  }

  toString(): string {
    return `ApprovalRequest(loginHint=${this.loginHint ?? '?'}, bindingMessage=${this.bindingMessage ?? '?'}, expiresAt=${this.expiresAt.toISOString()}, authReqId=[redacted])`;
  }

  [inspect.custom](): string {
    return `ApprovalRequest ${inspect(this.toJSON(), { breakLength: Infinity })}`;
  }
}
