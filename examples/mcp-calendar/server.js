// Demo MCP server for Keycloak Agent Auth: the agent `calendar-agent` as an MCP server, on the agent SDK
// (keycloak-agent-auth and its MCP helper keycloak-agent-auth/mcp).
//
// - RFC 9728 protected resource metadata names the realm as authorization server and asks for scope
//   `delegation:client:calendar-agent`, so an MCP client's ordinary flow brings the user to the agent consent screen.
// - Accepts only access tokens signed by the realm, from its issuer, unexpired and (strict mode) issued for this
//   server: `aud` contains RESOURCE (RFC 8707).
// - Its tools act for the caller through the SDK: the delegated exchange (`act` names calendar-agent) and the
//   connector's brokered proxy. A missing connected account becomes URL elicitation for clients that declared it,
//   else a tool error carrying the connect link; every other refusal a tool error with the SDK's error JSON.
//
// Never logs or returns a token.

import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { AgentAuth, AgentAuthError } from 'keycloak-agent-auth';
import { McpAgentAuth } from 'keycloak-agent-auth/mcp';
import { z } from 'zod';
import { config } from './lib/config.js';

function log(message, fields = {}) {
  console.log(JSON.stringify({ time: new Date().toISOString(), msg: message, ...fields }));
}

/** Profile claims handed back to the MCP client; anything else in the upstream's answer stays here. */
const PROFILE_CLAIMS = ['sub', 'preferred_username', 'login', 'name', 'given_name', 'family_name', 'email', 'email_verified'];

/** The account's name, by the extension's rule for linked accounts: preferred_username, login, email, else sub. */
function accountName(userinfo) {
  for (const claim of ['preferred_username', 'login', 'email', 'sub']) {
    const v = userinfo?.[claim];
    if ((typeof v === 'string' && v.trim() !== '') || typeof v === 'number') return String(v);
  }
  return null;
}

function json(value) {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] };
}

/** The realm may still be starting (./run-demo.sh starts both): retry discovery for up to 2 minutes. */
async function discoverAgent() {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      return await AgentAuth.discover({
        issuer: config.issuer,
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        timeoutMs: config.upstreamTimeoutMs,
      });
    } catch (e) {
      if (e?.code === 'invalid_configuration' || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** One MCP server per session: its tools act for the session's caller. */
function buildMcpServer(auth) {
  const server = new McpServer({ name: 'agent-auth-mcp-calendar', version: '0.2.0' });

  auth.registerTool(
    server,
    'delegated_identity',
    {
      title: 'Who am I acting for?',
      description:
        'Exchanges the caller\'s token for a delegated token of calendar-agent (RFC 8693, with actor_token) and ' +
        'reports its subject, act chain, scope, audience and expiry, next to the caller token\'s sub, aud and may_act. ' +
        'Never returns a token.',
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (_args, ctx) => {
      const delegated = await ctx.exchange();
      const c = delegated.claims;
      log('delegated_identity ok', { user: delegated.sub, act: delegated.act?.client_id, caller_azp: ctx.caller.azp });
      return json({
        delegated: {
          sub: delegated.sub,
          act: delegated.act ?? null,
          scope: c.scope ?? null,
          aud: c.aud ?? null,
          azp: c.azp ?? null,
          exp: c.exp,
          delegation_host: c.delegation_host ?? null,
          issued_token_type: delegated.issuedTokenType ?? null,
        },
        caller: {
          sub: ctx.caller.sub,
          aud: ctx.caller.aud ?? null,
          azp: ctx.caller.azp ?? null,
          may_act: ctx.caller.may_act ?? null,
          scope: ctx.caller.scope ?? null,
        },
      });
    },
  );

  auth.registerTool(
    server,
    'upstream_profile',
    {
      title: `Who am I at ${config.connector}?`,
      description:
        `Reads the user's connected ${config.connector} account through Keycloak's brokered proxy (calendar-agent acts ` +
        'for the user; the upstream token never leaves Keycloak) and reports the account name and basic profile. ' +
        'If the user has not connected an account yet, the user is asked to open a connect link (or the result is an ' +
        'error carrying it: show that link to the user, and call the tool again once they have connected). Never returns a token.',
      inputSchema: {
        connection_id: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .optional()
          .describe('A connection id from an earlier answer, to pick one of several connected accounts; default: the most recently connected'),
      },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    async ({ connection_id }, ctx) => {
      const res = await ctx.connector(config.connector, { connectionId: connection_id }).fetch(config.upstreamProfilePath);
      const connectionId = res.headers.get('x-connection-id');
      const body = await res.json().catch(() => undefined);
      if (!res.ok) {
        // the upstream's own answer (the SDK throws the proxy's refusals): e.g. 401 when the account's access was withdrawn
        throw new AgentAuthError(typeof body?.error === 'string' ? body.error : 'upstream_error', {
          status: res.status,
          description: `The ${config.connector} service answered HTTP ${res.status} for connection ${connectionId}`,
        });
      }
      const account = accountName(body);
      if (!account) {
        throw new AgentAuthError('invalid_response', { status: res.status, description: `The ${config.connector} account's profile names no account` });
      }
      log('upstream_profile ok', { user: ctx.user, connector: config.connector, connection_id: connectionId });
      const profile = Object.fromEntries(PROFILE_CLAIMS.filter((k) => body[k] !== undefined && body[k] !== null).map((k) => [k, body[k]]));
      return json({ connector: config.connector, connection_id: connectionId, account, profile });
    },
  );
  return server;
}

async function main() {
  const agent = await discoverAgent();
  const auth = await McpAgentAuth.create({
    agent,
    resource: config.resource,
    scopesSupported: config.scopesSupported,
    resourceName: 'Calendar agent (Keycloak Agent Auth demo)',
    // lenient: stock Keycloak without resource indicators; the best it can do is the client id in `aud`
    acceptedAudiences: config.audienceMode === 'lenient' ? [config.clientId] : [],
    clockTolerance: config.clockTolerance,
    // one line per refusal: the SDK's error code and HTTP status, never a token, a link's query or upstream data
    onToolError: (e) => log(`${e.tool} refused`, { user: e.user, via: e.via, error: e.error.type, code: e.error.code, status: e.error.status }),
  });

  const app = createMcpExpressApp({ host: config.host });
  // One line per request: method, path (no query), status. Never headers or bodies.
  app.use((req, res, next) => {
    res.on('finish', () => {
      const fields = { method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode };
      if (res.statusCode === 401 || res.statusCode === 403) {
        fields.reason = /error_description="([^"]*)"/.exec(res.get('WWW-Authenticate') ?? '')?.[1];
      }
      log('http', fields);
    });
    next();
  });

  // RFC 9728 at /.well-known/oauth-protected-resource/mcp (plus the realm's RFC 8414 metadata at the root, which
  // the SDK router always mirrors for clients that look for it there).
  app.use(auth.metadataRouter());
  const bearer = auth.bearerAuth();

  // Stateful Streamable HTTP: a session remembers the client's capabilities (URL elicitation needs them) and has a
  // standalone SSE stream for notifications/elicitation/complete. A session belongs to the user who opened it.
  const sessions = new Map(); // id -> { transport, server, user, lastUsed }
  const sessionOf = (req, res) => {
    const id = req.headers['mcp-session-id'];
    const s = typeof id === 'string' ? sessions.get(id) : undefined;
    if (!s || s.user !== req.auth?.extra?.claims?.sub) {
      // unknown, ended, or another user's session: the same answer
      res.status(404).json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      return undefined;
    }
    s.lastUsed = Date.now();
    return s;
  };

  const mcpPath = new URL(config.resource).pathname;
  app.post(mcpPath, bearer, async (req, res) => {
    try {
      if (req.headers['mcp-session-id'] === undefined) {
        if (!isInitializeRequest(req.body)) {
          res.status(400).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no session; initialize first' }, id: null });
          return;
        }
        if (sessions.size >= config.maxSessions) {
          res.status(503).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Too many sessions' }, id: null });
          return;
        }
        const s = { user: req.auth.extra.claims.sub, lastUsed: Date.now() };
        s.server = buildMcpServer(auth);
        s.transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => sessions.set(id, s),
          onsessionclosed: (id) => sessions.delete(id),
        });
        s.transport.onclose = () => {
          if (s.transport.sessionId) sessions.delete(s.transport.sessionId);
        };
        await s.server.connect(s.transport);
        await s.transport.handleRequest(req, res, req.body);
        return;
      }
      const s = sessionOf(req, res);
      if (s) await s.transport.handleRequest(req, res, req.body);
    } catch (e) {
      log('mcp request failed', { error: String(e?.message ?? e) });
      if (!res.headersSent) {
        res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
      }
    }
  });
  // GET: the session's SSE stream (notifications); DELETE: the client ends its session
  const existing = async (req, res) => {
    const s = sessionOf(req, res);
    if (s) await s.transport.handleRequest(req, res);
  };
  app.get(mcpPath, bearer, existing);
  app.delete(mcpPath, bearer, existing);

  app.use((req, res) => res.status(404).json({ error: 'not_found' }));

  // sessions idle for longer than SESSION_IDLE_MINUTES end
  const sweep = setInterval(() => {
    const limit = Date.now() - config.sessionIdleMs;
    for (const [id, s] of sessions) {
      if (s.lastUsed < limit) {
        sessions.delete(id);
        s.transport.close().catch(() => {});
        s.server.close().catch(() => {});
      }
    }
  }, 60_000);
  sweep.unref();

  const httpServer = app.listen(config.port, config.host, (error) => {
    if (error) {
      console.error(`cannot listen on ${config.host}:${config.port}: ${error.message}`);
      process.exit(1);
    }
    log('listening', {
      url: `http://${config.host}:${config.port}${mcpPath}`,
      resource: config.resource,
      resource_metadata: auth.resourceMetadataUrl,
      authorization_server: auth.authorizationServer.issuer,
      audience_mode: config.audienceMode,
      scopes_supported: auth.scopesSupported,
    });
  });
  httpServer.on('error', (error) => {
    console.error(`cannot listen on ${config.host}:${config.port}: ${error.message}`);
    process.exit(1);
  });
  const stop = () => {
    log('stopping');
    for (const s of sessions.values()) s.transport.close().catch(() => {});
    httpServer.close(() => process.exit(0));
    httpServer.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  console.error(`mcp-calendar: ${e?.message ?? e}`);
  process.exit(1);
});
