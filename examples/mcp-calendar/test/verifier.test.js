// Unit tests of the access-token verifier (no Keycloak needed): `node --test` (npm test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, generateKeyPair, exportJWK, createLocalJWKSet } from 'jose';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { createTokenVerifier } from '../lib/verifier.js';

const issuer = 'http://localhost:8080/realms/agents-demo';
const resource = 'http://localhost:3000/mcp';
const realmKey = await generateKeyPair('RS256');
const otherKey = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(realmKey.publicKey)), kid: 'realm', alg: 'RS256', use: 'sig' };
const keycloak = { keySet: async () => createLocalJWKSet({ keys: [jwk] }) };

function verifier(audienceMode) {
  return createTokenVerifier({ issuer, resource, clientId: 'calendar-agent', audienceMode, clockTolerance: 5 }, keycloak);
}

async function token(claims = {}, { key = realmKey.privateKey, kid = 'realm' } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ typ: 'Bearer', azp: 'mcp-client', scope: 'openid profile', sub: 'user-1', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(claims.iss ?? issuer)
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 300)
    .sign(key);
}

async function rejected(v, t, pattern) {
  await assert.rejects(v.verifyAccessToken(t), (e) => e instanceof InvalidTokenError && pattern.test(e.message));
}

test('strict: a realm token whose aud contains the resource is accepted', async () => {
  const info = await verifier('strict').verifyAccessToken(await token({ aud: [resource] }));
  assert.equal(info.clientId, 'mcp-client');
  assert.deepEqual(info.scopes, ['openid', 'profile']);
  assert.equal(info.resource.href, resource);
  assert.equal(info.extra.claims.sub, 'user-1');
});

test('strict: aud as a single string works too', async () => {
  const info = await verifier('strict').verifyAccessToken(await token({ aud: resource }));
  assert.equal(info.resource.href, resource);
});

test('strict: the client id in aud is not enough, nor another resource, nor no aud', async () => {
  const v = verifier('strict');
  await rejected(v, await token({ aud: 'calendar-agent' }), /audience/);
  await rejected(v, await token({ aud: 'http://localhost:3001/mcp' }), /audience/);
  await rejected(v, await token({ aud: `${resource}/` }), /audience/);
  await rejected(v, await token({}), /audience/);
});

test('lenient: the client id in aud is accepted (stock Keycloak with an audience mapper), other audiences are not', async () => {
  const v = verifier('lenient');
  const info = await v.verifyAccessToken(await token({ aud: ['calendar-agent', 'account'] }));
  assert.equal(info.resource, undefined);
  await rejected(v, await token({ aud: 'account' }), /audience/);
});

test('signature, issuer, expiry and token type are checked', async () => {
  const v = verifier('strict');
  await rejected(v, await token({ aud: resource }, { key: otherKey.privateKey }), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  await rejected(v, await token({ aud: resource }, { kid: 'unknown' }), /ERR_JWKS_NO_MATCHING_KEY/);
  await rejected(v, await token({ aud: resource, iss: 'http://localhost:8080/realms/other' }), /iss/);
  await rejected(v, await token({ aud: resource, exp: Math.floor(Date.now() / 1000) - 60 }), /ERR_JWT_EXPIRED/);
  await rejected(v, await token({ aud: resource, typ: 'ID' }), /not an access token/);
  await rejected(v, 'not-a-jwt', /ERR_JWS_INVALID/);
});
