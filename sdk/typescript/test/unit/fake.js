// A fake realm for the unit tests: a fetch function that answers discovery, the token endpoint, the proxy and the
// connection-status endpoint in memory, records every request, and issues real JWTs (jose, HS256: the SDK only
// decodes them). No network.

import { SignJWT } from 'jose';

export const ISSUER = 'https://kc.test/realms/demo';
export const TOKEN_ENDPOINT = `${ISSUER}/protocol/openid-connect/token`;
export const AUTH_ENDPOINT = `${ISSUER}/protocol/openid-connect/auth`;
export const BACKCHANNEL_ENDPOINT = `${ISSUER}/protocol/openid-connect/ext/ciba/auth`;
const SECRET = new TextEncoder().encode('unit-test-secret-unit-test-secret!!');

/** A clock the tests move by hand (epoch ms). */
export function clock(start = Date.UTC(2026, 0, 1)) {
  let t = start;
  const now = () => t;
  now.advance = (ms) => {
    t += ms;
  };
  return now;
}

/** A JWT with these claims (iat/exp relative to `now`, seconds). */
export async function jwt(claims, { now = Date.now(), lifetime = 300 } = {}) {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuer(ISSUER).setIssuedAt(iat).setExpirationTime(iat + lifetime).sign(SECRET);
}

export function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/**
 * The fake server. `routes` maps a handler name to an async function (request info) => Response:
 * `token` (form, headers) for the token endpoint, `backchannel` for the CIBA backchannel authentication endpoint,
 * `proxy` (url, headers, init) for `.../proxy/*`, `connection` for the
 * status endpoint. Every request is recorded in `requests` (method, url, form, headers).
 */
export function fakeRealm(routes = {}, { metadata = {} } = {}) {
  const requests = [];
  const fetchImpl = async (input, init = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    let form;
    if (init.body instanceof URLSearchParams) form = new URLSearchParams(init.body);
    else if (typeof init.body === 'string' && headers.get('content-type')?.includes('x-www-form-urlencoded')) form = new URLSearchParams(init.body);
    const req = { method, url, headers, form, init };
    requests.push(req);
    if (url.pathname.endsWith('/.well-known/openid-configuration')) {
      return json(200, {
        issuer: ISSUER,
        authorization_endpoint: AUTH_ENDPOINT,
        token_endpoint: TOKEN_ENDPOINT,
        jwks_uri: `${ISSUER}/protocol/openid-connect/certs`,
        backchannel_authentication_endpoint: BACKCHANNEL_ENDPOINT,
        authorization_response_iss_parameter_supported: true,
        ...metadata,
      });
    }
    if (url.href === TOKEN_ENDPOINT) return routes.token(req);
    if (url.href === BACKCHANNEL_ENDPOINT) return routes.backchannel(req);
    if (/\/agent-auth\/connectors\/[^/]+\/proxy\//.test(url.pathname)) return routes.proxy(req);
    if (/\/agent-auth\/connectors\/[^/]+\/connection$/.test(url.pathname)) return routes.connection(req);
    return json(404, { error: 'not_found' });
  };
  return { fetch: fetchImpl, requests, tokenRequests: () => requests.filter((r) => r.url.href === TOKEN_ENDPOINT) };
}
