// Configuration from the environment (defaults: the demo realm of ./run-demo.sh).

const env = process.env;

function scopes(value) {
  return value.split(/[\s,]+/).filter(Boolean);
}

const keycloakUrl = (env.KEYCLOAK_URL || 'http://localhost:8080').replace(/\/+$/, '');
const realm = env.REALM || 'agents-demo';
const clientId = env.CLIENT_ID || 'calendar-agent';
const audienceMode = (env.AUDIENCE_MODE || 'strict').toLowerCase();
if (audienceMode !== 'strict' && audienceMode !== 'lenient') {
  throw new Error(`AUDIENCE_MODE must be strict or lenient, not ${audienceMode}`);
}
const port = Number.parseInt(env.PORT || '3000', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  throw new Error(`PORT must be a TCP port, not ${env.PORT}`);
}

export const config = Object.freeze({
  keycloakUrl,
  realm,
  issuer: `${keycloakUrl}/realms/${encodeURIComponent(realm)}`,
  port,
  host: env.HOST || '127.0.0.1',
  // RFC 8707 resource URI of this server: what clients send as `resource` and what tokens carry in `aud`.
  resource: env.RESOURCE || `http://localhost:${port}/mcp`,
  clientId,
  clientSecret: env.CLIENT_SECRET || 'calendar-agent-secret',
  // strict: `aud` must contain RESOURCE. lenient: `aud` may instead contain CLIENT_ID (stock Keycloak without the
  // extension ignores `resource`, so the best it can do is an audience mapper naming this client).
  audienceMode,
  // RFC 9728 scopes_supported. The MCP SDK requests all of them; `delegation:client:<agent>` brings the user to the
  // agent consent screen and puts may_act for this agent into the token.
  scopesSupported: env.SCOPES_SUPPORTED ? scopes(env.SCOPES_SUPPORTED) : ['openid', 'profile', `delegation:client:${clientId}`],
  // The connector (alias) whose upstream account the tool upstream_profile reads through the brokered proxy, and the
  // path below the connector's API base URL that answers with the account's profile (the demo connector's base URL
  // is the upstream realm's openid-connect endpoint, so `userinfo`; GitHub's would be `user`).
  connector: env.CONNECTOR || 'demo-calendar',
  upstreamProfilePath: env.UPSTREAM_PROFILE_PATH || 'userinfo',
  // Timeout of each request the SDK makes to Keycloak (exchange, proxy), ms.
  upstreamTimeoutMs: Number.parseInt(env.UPSTREAM_TIMEOUT_MS || '20000', 10),
  // MCP sessions (stateful Streamable HTTP): at most this many at once; one idle this long ends.
  maxSessions: Number.parseInt(env.MAX_SESSIONS || '1000', 10),
  sessionIdleMs: Number.parseInt(env.SESSION_IDLE_MINUTES || '30', 10) * 60_000,
  // Leeway for exp/nbf/iat, seconds.
  clockTolerance: Number.parseInt(env.CLOCK_TOLERANCE || '5', 10),
});
