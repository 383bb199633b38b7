// The user's upstream account through the extension's brokered proxy (README "Brokered access").
//
// upstreamProfile(callerToken): the delegated exchange with `resource` = the connector's URI
// ({issuer}/agent-auth/connectors/{alias}), then GET {connector URI}/proxy/{path} with that token. The extension calls
// the upstream with the user's upstream token, which this server never sees; the delegated token stays here too: what
// the tool hands back is upstream data only (the account's name and a few profile claims), or an error that says what
// to do (for `connection_required`: the link the user opens to connect an account).
//
// The answer's interpretation (interpretProxyAnswer, accountName, ...) is pure and unit-tested (test/upstream.test.js).

import { DelegationError } from './delegation.js';

/** What the proxy adds to every answer it forwarded from the upstream (never to its own refusals). */
export const CONNECTION_HEADER = 'x-connection-id';

/** Profile claims handed back to the MCP client; anything else in the upstream's answer stays here. */
export const PROFILE_CLAIMS = Object.freeze(['sub', 'preferred_username', 'login', 'name', 'given_name', 'family_name', 'email', 'email_verified']);

/** The connector's resource URI: the `resource` of the exchange and the `aud` the proxy requires. */
export function connectorResource(issuer, alias) {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(alias ?? '')) {
    throw new Error(`not a connector alias: ${JSON.stringify(alias)}`);
  }
  return `${issuer.replace(/\/+$/, '')}/agent-auth/connectors/${alias}`;
}

/** The proxy URL of a path below the connector's API base URL (leading slashes dropped: the proxy refuses `//`). */
export function proxyUrl(connectorUri, path) {
  const p = String(path ?? '').replace(/^\/+/, '');
  return `${connectorUri}/proxy/${p}`;
}

/** The account's name, by the extension's rule for linked accounts: preferred_username, login, email, else sub. */
export function accountName(userinfo) {
  for (const claim of ['preferred_username', 'login', 'email', 'sub']) {
    const v = userinfo?.[claim];
    if (typeof v === 'string' && v.trim() !== '') return v;
    if (typeof v === 'number') return String(v);
  }
  return null;
}

/** The allow-listed profile claims of an upstream answer. */
export function profileOf(userinfo) {
  const out = {};
  for (const claim of PROFILE_CLAIMS) {
    if (userinfo?.[claim] !== undefined && userinfo[claim] !== null) out[claim] = userinfo[claim];
  }
  return out;
}

/**
 * The `connect_uri` of a `connection_required` answer, if it is this connector's connect endpoint (same origin, path
 * {connector URI}/connect); else null. The link is shown to a user, so it must lead where the realm says it does.
 */
export function trustedConnectUri(connectUri, connectorUri) {
  let u;
  let c;
  try {
    u = new URL(connectUri);
    c = new URL(connectorUri);
  } catch {
    return null;
  }
  if (u.origin !== c.origin || u.pathname !== `${c.pathname}/connect` || u.username || u.password || u.hash) return null;
  return u.href;
}

/** Short, bounded text for a message (an upstream's error description, say). */
function short(value, max = 300) {
  if (value === undefined || value === null) return undefined;
  const s = String(value).replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * What a proxy answer means for the tool.
 *
 * @param {{status: number, connectionId?: string|null, body: any, connector: string, connectorUri: string}} answer
 *   `connectionId` is the X-Connection-Id header (only the upstream's answers carry it), `body` the parsed JSON (or
 *   `undefined` when the answer was not JSON)
 * @returns {{ok: true, report: object} | {ok: false, error: object}} `report` is upstream data only; `error` has
 *   `step`, `status`, `error`, `error_description`, a `message` for the user and, for connection_required,
 *   `connect_uri`
 */
export function interpretProxyAnswer({ status, connectionId, body, connector, connectorUri }) {
  const fromUpstream = typeof connectionId === 'string' && connectionId !== '';
  const b = body && typeof body === 'object' ? body : {};
  if (fromUpstream) {
    if (status >= 200 && status < 300) {
      const account = accountName(b);
      if (!account) {
        return { ok: false, error: { step: 'upstream', status, error: 'invalid_response', message: `The ${connector} account's profile names no account.` } };
      }
      return { ok: true, report: { connector, connection_id: connectionId, account, profile: profileOf(b) } };
    }
    const error = typeof b.error === 'string' ? b.error : 'upstream_error';
    const message =
      status === 401 || status === 403
        ? `The ${connector} service refused the connected account (HTTP ${status}${b.error ? ` ${b.error}` : ''}): ` +
          'its access may have been withdrawn at the provider; the user can connect it again.'
        : `The ${connector} service answered HTTP ${status}.`;
    return { ok: false, error: { step: 'upstream', status, error, error_description: short(b.error_description), connection_id: connectionId, message } };
  }

  // the extension's own refusals: JSON {error, error_description[, connect_uri]}
  const error = typeof b.error === 'string' ? b.error : status >= 500 ? 'server_error' : 'unexpected_response';
  const out = { step: 'proxy', status, error, error_description: short(b.error_description) };
  if (status === 403 && error === 'connection_required') {
    const link = trustedConnectUri(b.connect_uri, connectorUri);
    if (!link) {
      return { ok: false, error: { ...out, message: `No ${connector} account is connected for this user, and the proxy's connect link is not this connector's; not shown.` } };
    }
    return {
      ok: false,
      error: {
        ...out,
        connector,
        connect_uri: link,
        message: `No ${connector} account is connected for this user yet (or it must be connected again). ` +
          `Ask the user to open ${link} in a browser, sign in and connect their account, then call this tool again.`,
      },
    };
  }
  const messages = {
    invalid_token: 'The extension refused the delegated token (the user\'s grant was revoked or has ended): the user must approve the agent again in the MCP client.',
    insufficient_scope: 'The token is not a delegated token for this agent.',
    access_denied: `The agent's policy or the user's grant does not include connector ${connector}: the user must approve the agent again (the consent screen lists the connected services).`,
    connection_not_found: `The chosen ${connector} connection does not exist, is not this user's or is no longer active.`,
    not_found: `There is no connector ${connector} in the realm.`,
    invalid_request: 'The proxy refused the request.',
    upstream_timeout: `The ${connector} service did not answer in time.`,
    upstream_unreachable: `The ${connector} service could not be reached.`,
    upstream_unavailable: `The ${connector} service is unavailable (refreshing the account's access failed); try again later.`,
    upstream_response_too_large: `The ${connector} service's answer is larger than the connector allows.`,
    upstream_refused: `The connector's API address is not allowed by the realm's host policy.`,
    temporarily_unavailable: 'The vault cannot read this connection now (its key is missing); an administrator must fix it.',
  };
  return { ok: false, error: { ...out, message: messages[error] ?? `The brokered proxy answered HTTP ${status}.` } };
}

/** The tool's error for a refused exchange (no token in it). */
export function exchangeRefusal(e, connector) {
  let message = 'Keycloak refused to let the agent act for the user.';
  if (e.error === 'invalid_target' && /grant/i.test(e.description ?? '')) {
    message = `The user's grant does not include connector ${connector}: the user must approve the agent again (the consent screen lists the connected services).`;
  } else if (e.error === 'invalid_target') {
    message = `The agent may not ask for connector ${connector} (unknown connector, or not in the agent's policy).`;
  } else if (e.step === 'token_exchange' && e.status === 400) {
    message = 'The user\'s delegation is no longer valid (revoked or expired): the user must approve the agent again in the MCP client.';
  }
  return { step: e.step, status: e.status, error: e.error, error_description: short(e.description), message };
}

export function createUpstream(config, delegatedTokenFor, { fetchImpl = fetch } = {}) {
  const connectorUri = connectorResource(config.issuer, config.connector);

  /**
   * The caller's upstream account on the connector (the connection chosen by id, else the most recent active one).
   * @returns {Promise<{ok: true, report: object} | {ok: false, error: object}>}
   */
  async function upstreamProfile(callerToken, { connectionId } = {}) {
    let delegated;
    try {
      delegated = await delegatedTokenFor(callerToken, { resource: [connectorUri] });
    } catch (e) {
      if (e instanceof DelegationError) return { ok: false, error: exchangeRefusal(e, config.connector) };
      throw e;
    }
    const headers = { authorization: `Bearer ${delegated.accessToken}`, accept: 'application/json' };
    if (connectionId) headers['x-connection-id'] = connectionId;
    let res;
    try {
      res = await fetchImpl(proxyUrl(connectorUri, config.upstreamProfilePath), {
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(config.upstreamTimeoutMs),
      });
    } catch (e) {
      const timeout = e?.name === 'TimeoutError';
      return {
        ok: false,
        error: {
          step: 'proxy',
          status: null,
          error: timeout ? 'timeout' : 'unreachable',
          message: timeout ? 'The brokered proxy did not answer in time.' : `The brokered proxy could not be reached (${e?.cause?.code ?? e?.name ?? 'error'}).`,
        },
      };
    }
    let body;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    return interpretProxyAnswer({
      status: res.status,
      connectionId: res.headers.get(CONNECTION_HEADER),
      body,
      connector: config.connector,
      connectorUri,
    });
  }

  return { connectorUri, upstreamProfile };
}
