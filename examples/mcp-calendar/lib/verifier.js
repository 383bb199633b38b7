// Access-token verification for requireBearerAuth: signature by the realm's keys, issuer, expiry, audience.

import { jwtVerify, errors as joseErrors } from 'jose';
import { InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';

function audiences(aud) {
  if (aud === undefined || aud === null) return [];
  return Array.isArray(aud) ? aud : [aud];
}

export function createTokenVerifier(config, keycloak) {
  return {
    /** @returns {Promise<import('@modelcontextprotocol/sdk/server/auth/types.js').AuthInfo>} */
    async verifyAccessToken(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, await keycloak.keySet(), {
          issuer: config.issuer,
          clockTolerance: config.clockTolerance,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (e) {
        if (e instanceof joseErrors.JWKSTimeout) {
          // Keycloak did not answer: our problem, not the token's (500, not 401)
          throw new ServerError('Cannot fetch the realm signing keys');
        }
        if (e instanceof joseErrors.JOSEError) {
          // the jose error code and, for claim checks, the claim's name; never the token
          throw new InvalidTokenError(`Token rejected: ${e.code}${e.claim ? ` (${e.claim})` : ''}`);
        }
        throw e;
      }
      // Keycloak marks access tokens typ=Bearer (ID tokens say ID, refresh tokens Refresh).
      if (payload.typ !== undefined && payload.typ !== 'Bearer') {
        throw new InvalidTokenError('Token rejected: not an access token');
      }
      const aud = audiences(payload.aud);
      const forThisResource = aud.includes(config.resource);
      const forThisClient = aud.includes(config.clientId);
      if (!forThisResource && !(config.audienceMode === 'lenient' && forThisClient)) {
        throw new InvalidTokenError(`Token rejected: audience does not contain ${config.resource}`);
      }
      return {
        token,
        clientId: payload.azp ?? payload.client_id ?? '',
        scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
        expiresAt: payload.exp,
        // What requireBearerAuth compares with expectedResource in strict mode.
        resource: forThisResource ? new URL(config.resource) : undefined,
        extra: { claims: payload },
      };
    },
  };
}
