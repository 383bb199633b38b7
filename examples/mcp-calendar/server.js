// Demo MCP server for Keycloak Agent Auth: the agent `calendar-agent` as an MCP server.
//
// - Publishes RFC 9728 protected resource metadata that names the realm as its authorization server and asks
//   for scope `delegation:client:calendar-agent`, so an MCP client's ordinary flow brings the user to the agent
//   consent screen (DESIGN 4.6, 9).
// - Accepts only JWT access tokens signed by the realm, from its issuer, unexpired and (strict mode) issued for
//   this server: `aud` contains RESOURCE (RFC 8707).
// - Acts for the caller: its own client-credentials token as actor_token plus the caller's token as
//   subject_token give, by RFC 8693 token exchange, a token whose `act` says calendar-agent acts for the user.
//
// Never logs or returns a token.

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { config } from './lib/config.js';
import { createKeycloak } from './lib/keycloak.js';
import { createTokenVerifier } from './lib/verifier.js';
import { createDelegation, DelegationError } from './lib/delegation.js';
import { createUpstream } from './lib/upstream.js';
import { z } from 'zod';

const keycloak = createKeycloak(config);
const verifier = createTokenVerifier(config, keycloak);
const { delegatedTokenFor } = createDelegation(config, keycloak);
const upstream = createUpstream(config, delegatedTokenFor);

function log(message, fields = {}) {
  console.log(JSON.stringify({ time: new Date().toISOString(), msg: message, ...fields }));
}

/** The MCP server for one request (stateless Streamable HTTP: a fresh server and transport per POST). */
function buildMcpServer() {
  const server = new McpServer({ name: 'agent-auth-mcp-calendar', version: '0.1.0' });

  server.registerTool(
    'delegated_identity',
    {
      title: 'Who am I acting for?',
      description:
        'Exchanges the caller\'s token for a delegated token of calendar-agent (RFC 8693, with actor_token) and ' +
        'reports its subject, act chain, scope, audience and expiry, next to the caller token\'s sub, aud and may_act. ' +
        'Never returns a token.',
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (extra) => {
      const callerToken = extra.authInfo?.token;
      if (!callerToken) {
        return toolError({ error: 'invalid_token', error_description: 'No authenticated caller' });
      }
      const caller = extra.authInfo.extra?.claims ?? {};
      try {
        const delegated = await delegatedTokenFor(callerToken);
        const c = delegated.claims;
        const report = {
          delegated: {
            sub: c.sub,
            act: c.act ?? null,
            scope: c.scope ?? null,
            aud: c.aud ?? null,
            azp: c.azp ?? null,
            exp: c.exp,
            delegation_host: c.delegation_host ?? null,
            issued_token_type: delegated.issuedTokenType ?? null,
          },
          caller: {
            sub: caller.sub,
            aud: caller.aud ?? null,
            azp: caller.azp ?? null,
            may_act: caller.may_act ?? null,
            scope: caller.scope ?? null,
          },
        };
        log('delegated_identity ok', { user: c.sub, act: c.act?.client_id, caller_azp: caller.azp });
        return { content: [{ type: 'text', text: JSON.stringify(report, null, 2) }] };
      } catch (e) {
        if (e instanceof DelegationError) {
          log('delegated_identity refused', { user: caller.sub, step: e.step, status: e.status, error: e.error, error_description: e.description });
          return toolError({ step: e.step, status: e.status, error: e.error, error_description: e.description });
        }
        log('delegated_identity failed', { user: caller.sub, error: String(e?.message ?? e) });
        return toolError({ error: 'server_error', error_description: String(e?.message ?? e) });
      }
    },
  );
  server.registerTool(
    'upstream_profile',
    {
      title: `Who am I at ${config.connector}?`,
      description:
        `Reads the user's connected ${config.connector} account through Keycloak's brokered proxy (calendar-agent acts ` +
        'for the user; the upstream token never leaves Keycloak) and reports the account name and basic profile. ' +
        'If the user has not connected an account yet, the result is an error with a connect_uri: show that link to ' +
        'the user, and call the tool again once they have connected. Never returns a token.',
      inputSchema: {
        connection_id: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .optional()
          .describe('A connection id from an earlier answer, to pick one of several connected accounts; default: the most recently connected'),
      },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    async (args, extra) => {
      const callerToken = extra.authInfo?.token;
      if (!callerToken) {
        return toolError({ error: 'invalid_token', error_description: 'No authenticated caller' });
      }
      const caller = extra.authInfo.extra?.claims ?? {};
      try {
        const r = await upstream.upstreamProfile(callerToken, { connectionId: args?.connection_id });
        if (r.ok) {
          log('upstream_profile ok', { user: caller.sub, connector: config.connector, connection_id: r.report.connection_id });
          return { content: [{ type: 'text', text: JSON.stringify(r.report, null, 2) }] };
        }
        const e = r.error;
        log('upstream_profile refused', { user: caller.sub, connector: config.connector, step: e.step, status: e.status, error: e.error });
        return toolError(e);
      } catch (e) {
        log('upstream_profile failed', { user: caller.sub, error: String(e?.message ?? e) });
        return toolError({ error: 'server_error', error_description: String(e?.message ?? e) });
      }
    },
  );
  return server;
}

function toolError(body) {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body, null, 2) }] };
}

async function main() {
  const resourceUrl = new URL(config.resource);
  const oauthMetadata = await keycloak.authorizationServerMetadata();
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
  app.use(
    mcpAuthMetadataRouter({
      oauthMetadata,
      resourceServerUrl: resourceUrl,
      scopesSupported: config.scopesSupported,
      resourceName: 'Calendar agent (Keycloak Agent Auth demo)',
    }),
  );

  const resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(resourceUrl);
  const bearer = requireBearerAuth({
    verifier,
    resourceMetadataUrl,
    // strict: the SDK compares AuthInfo.resource too (the verifier already required aud to contain RESOURCE)
    expectedResource: config.audienceMode === 'strict' ? resourceUrl : undefined,
  });

  const mcpPath = resourceUrl.pathname;
  app.post(mcpPath, bearer, async (req, res) => {
    const server = buildMcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (e) {
      log('mcp request failed', { error: String(e?.message ?? e) });
      if (!res.headersSent) {
        res.status(500).json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
      }
    }
  });
  // Stateless server: no standalone SSE stream, no sessions to delete.
  const notAllowed = (req, res) =>
    res.status(405).set('Allow', 'POST').json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
  app.get(mcpPath, bearer, notAllowed);
  app.delete(mcpPath, bearer, notAllowed);

  app.use((req, res) => res.status(404).json({ error: 'not_found' }));

  const httpServer = app.listen(config.port, config.host, (error) => {
    if (error) {
      console.error(`cannot listen on ${config.host}:${config.port}: ${error.message}`);
      process.exit(1);
    }
    log('listening', {
      url: `http://${config.host}:${config.port}${mcpPath}`,
      resource: config.resource,
      resource_metadata: resourceMetadataUrl,
      authorization_server: oauthMetadata.issuer,
      audience_mode: config.audienceMode,
      scopes_supported: config.scopesSupported,
    });
  });
  httpServer.on('error', (error) => {
    console.error(`cannot listen on ${config.host}:${config.port}: ${error.message}`);
    process.exit(1);
  });
  const stop = () => {
    log('stopping');
    httpServer.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  console.error(`mcp-calendar: ${e?.message ?? e}`);
  process.exit(1);
});
