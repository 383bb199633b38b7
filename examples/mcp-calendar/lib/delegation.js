// Acting for the caller: RFC 8693 token exchange with this agent's own token as actor_token.
//
// delegatedTokenFor(callerToken) is what every tool that reaches a downstream API (e.g. the extension's brokered
// proxy) uses: the delegated token's `sub` is the user, its `act` names this agent.

import { decodeJwt, jwtVerify } from 'jose';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** An OAuth error answer from Keycloak (or a failure to reach it), without any token in it. */
export class DelegationError extends Error {
  constructor(step, status, error, description) {
    super(`${step}: ${error}${description ? ` (${description})` : ''}`);
    this.step = step;
    this.status = status;
    this.error = error;
    this.description = description;
  }
}

export function createDelegation(config, keycloak) {
  let own; // { token, exp } this agent's client-credentials token, reused until shortly before it expires

  /** This agent's own access token (client_credentials). */
  async function agentToken() {
    const now = Math.floor(Date.now() / 1000);
    if (own && own.exp - 30 > now) return own.token;
    const res = await keycloak.tokenRequest({ grant_type: 'client_credentials' });
    if (!res.ok || typeof res.body.access_token !== 'string') {
      throw new DelegationError('client_credentials', res.status, res.body.error ?? 'server_error', res.body.error_description);
    }
    const exp = decodeJwt(res.body.access_token).exp ?? now + (res.body.expires_in ?? 60);
    own = { token: res.body.access_token, exp };
    return own.token;
  }

  /**
   * Exchanges the caller's access token for a token with which this agent acts for the caller.
   * @param {string} callerToken the bearer token the MCP client sent (verified by requireBearerAuth)
   * @param {{scope?: string, resource?: string[], audience?: string[]}} [options] narrowing, passed as is
   * @returns {Promise<{accessToken: string, issuedTokenType: string, expiresIn: number, claims: object}>}
   */
  async function delegatedTokenFor(callerToken, options = {}) {
    const cached = own !== undefined && own.exp - 30 > Math.floor(Date.now() / 1000);
    const params = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      subject_token: callerToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      actor_token: await agentToken(),
      actor_token_type: ACCESS_TOKEN_TYPE,
    });
    if (options.scope) params.set('scope', options.scope);
    for (const r of options.resource ?? []) params.append('resource', r);
    for (const a of options.audience ?? []) params.append('audience', a);
    let res = await keycloak.tokenRequest(params);
    if (cached && res.status === 400 && /Invalid actor_token: not an active/.test(res.body.error_description ?? '')) {
      // the cached actor token was revoked (or its session ended): one retry with a fresh one
      own = undefined;
      params.set('actor_token', await agentToken());
      res = await keycloak.tokenRequest(params);
    }
    if (!res.ok || typeof res.body.access_token !== 'string') {
      throw new DelegationError('token_exchange', res.status, res.body.error ?? 'server_error', res.body.error_description);
    }
    // Signed by the realm: check before reporting what it says.
    const { payload } = await jwtVerify(res.body.access_token, await keycloak.keySet(), {
      issuer: config.issuer,
      clockTolerance: config.clockTolerance,
    });
    return {
      accessToken: res.body.access_token,
      issuedTokenType: res.body.issued_token_type,
      expiresIn: res.body.expires_in,
      claims: payload,
    };
  }

  return { agentToken, delegatedTokenFor };
}
