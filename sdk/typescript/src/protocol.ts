// Protocol constants and the mapping of library errors to AgentAuthError (shared by the agent and connector modules).

import * as oauth from 'oauth4webapi';
import { decodeJwt } from 'jose';
import { AgentAuthError, errorFromResponse, isAgentAuthError, networkError, type ErrorContext } from './errors.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const REFRESH_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
/** The `typ` header of a signed actor token (DESIGN section 3). */
export const ACTOR_JWT_TYP = 'actor+jwt';

/** Maps whatever oauth4webapi or fetch threw to an AgentAuthError (an abort by the caller's signal is rethrown). */
export function toAgentAuthError(e: unknown, context: ErrorContext = {}): unknown {
  if (isAgentAuthError(e)) return e;
  if (e instanceof oauth.ResponseBodyError) return errorFromResponse(e.status, e.cause, context);
  if (e instanceof oauth.WWWAuthenticateChallengeError) {
    const p = (e.cause?.[0]?.parameters ?? {}) as Record<string, string | undefined>;
    return errorFromResponse(e.status, { error: p.error ?? 'invalid_token', error_description: p.error_description }, context);
  }
  if (e instanceof oauth.AuthorizationResponseError) {
    return errorFromResponse(undefined, { error: e.error, error_description: e.error_description }, context);
  }
  if (e instanceof oauth.OperationProcessingError) {
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof Response) return errorFromResponse(cause.status, {}, context);
    return new AgentAuthError('invalid_response', { description: e.message });
  }
  const err = e as { name?: string; message?: string; cause?: unknown } | undefined;
  if (err?.name === 'AbortError') return e;
  if (err?.name === 'TimeoutError' || (err?.name === 'TypeError' && err.message === 'fetch failed')) return networkError(e);
  return e;
}

/** Claims of a JWT (jose's decodeJwt), or undefined for an opaque token. Never verifies: use for routing only. */
export function peekClaims(token: string): Record<string, unknown> | undefined {
  try {
    return decodeJwt(token) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
