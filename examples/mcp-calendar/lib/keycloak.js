// The realm's endpoints (OpenID Connect discovery) and its signing keys.

import { createRemoteJWKSet } from 'jose';

export function createKeycloak(config) {
  let discovery;
  let jwks;

  /** The realm's OpenID provider metadata, fetched once (retried while Keycloak is still starting). */
  async function metadata() {
    if (discovery) return discovery;
    const url = `${config.issuer}/.well-known/openid-configuration`;
    const deadline = Date.now() + 120_000;
    let last;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(url, { headers: { accept: 'application/json' } });
        if (res.ok) {
          const body = await res.json();
          if (body.issuer !== config.issuer) {
            throw new Error(`issuer mismatch: ${url} says ${body.issuer}, expected ${config.issuer}`);
          }
          discovery = body;
          return discovery;
        }
        last = `HTTP ${res.status}`;
      } catch (e) {
        if (String(e.message).startsWith('issuer mismatch')) throw e;
        last = e.cause?.code || e.message;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`cannot read ${url}: ${last}`);
  }

  return {
    metadata,

    /** RFC 8414 view of the realm for the SDK's metadata router. */
    async authorizationServerMetadata() {
      const m = await metadata();
      return { ...m, issuer: m.issuer };
    },

    async tokenEndpoint() {
      return (await metadata()).token_endpoint;
    },

    /** jose key set: cached, refetched when a token names an unknown kid. */
    async keySet() {
      if (!jwks) {
        jwks = createRemoteJWKSet(new URL((await metadata()).jwks_uri));
      }
      return jwks;
    },

    /** POST a form to the token endpoint with this client's credentials (client_secret_basic). */
    async tokenRequest(params) {
      const basic = Buffer.from(
        `${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`,
      ).toString('base64');
      const res = await fetch(await this.tokenEndpoint(), {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams(params),
      });
      let body;
      try {
        body = await res.json();
      } catch {
        body = {};
      }
      return { status: res.status, ok: res.ok, body };
    },
  };
}
