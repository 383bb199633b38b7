// keycloak-agent-auth/mcp: an MCP server (official MCP TypeScript SDK, @modelcontextprotocol/sdk 1.32+) that is an
// agent of Keycloak Agent Auth (DESIGN sections 9 and 10).
//
// - createTokenVerifier(): the OAuthTokenVerifier for the SDK's requireBearerAuth. A caller's token is accepted only
//   if it is a JWT access token signed by the realm (JWKS, jose), from its issuer, unexpired, and issued for this
//   server: `aud` contains the server's resource URI (RFC 8707).
// - McpAgentAuth: that verifier, the SDK's bearer middleware and RFC 9728 metadata router, and registerTool(), which
//   gives a tool the caller's verified claims, the delegated exchange and connector handles for the caller, and
//   turns the SDK's errors into MCP answers: ConnectionRequired becomes URL-mode elicitation (MCP 2025-11-25) for
//   clients that declared `elicitation.url` (by default the -32042 URLElicitationRequiredError, then
//   `notifications/elicitation/complete` once connected; with `elicitation: 'request'` an in-band
//   `elicitation/create` that waits and runs the tool again), else a tool error whose text carries the link; any
//   other AgentAuthError becomes a tool error carrying its toJSON() (the same JSON as the Python SDK's to_dict()).
//
// Never a token in a result, an error or a log line.

import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import * as oauth from 'oauth4webapi';
import { InvalidTokenError, ServerError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { OAuthTokenVerifier } from '@modelcontextprotocol/sdk/server/auth/provider.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { McpServer, RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AnySchema, SchemaOutput, ShapeOutput, ZodRawShapeCompat } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { UrlElicitationRequiredError, type CallToolResult, type ServerNotification, type ServerRequest, type ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { AgentAuthError, ConnectionRequired, isAgentAuthError, isConnectionRequired, type AgentAuthErrorJSON } from './errors.js';
import type { TokenSet } from './tokens.js';
import type { AgentAuth, ExchangeOptions } from './agent.js';
import type { Connector } from './connector.js';

// ---------------------------------------------------------------------------------------------------------------
// the agent, as far as this module uses it

/** Options of the delegated exchange, without the subject token (the caller's token is it). */
export type McpExchangeOptions = Omit<ExchangeOptions, 'subjectToken'>;

/** The agent (`await AgentAuth.discover(...)`), as far as this module uses it. */
export type McpAgent = Pick<AgentAuth, 'issuer' | 'clientId' | 'exchange' | 'connector'> & {
  /** The realm the agent discovered (its RFC 8414 metadata is reused instead of a second discovery). */
  readonly realm?: { readonly as: oauth.AuthorizationServer };
};

// ---------------------------------------------------------------------------------------------------------------
// token verification

export interface TokenVerifierOptions {
  /** The realm's issuer; `iss` must equal it. */
  issuer: string;
  /** This server's RFC 8707 resource URI (e.g. `http://localhost:3000/mcp`): `aud` must contain it. */
  resource: string | URL;
  /**
   * Further audiences to accept instead of the resource URI (e.g. the agent's client id on a Keycloak without
   * resource indicators; such tokens are not bound to this server). Default: none.
   */
  acceptedAudiences?: string[];
  /** The realm's JWKS URI (default: from `keySet`, else required). */
  jwksUri?: string | URL;
  /** A jose key set instead of `jwksUri` (tests, or a shared one). */
  keySet?: JWTVerifyGetKey;
  /** Leeway for `exp`/`nbf`/`iat`, seconds (default 5). */
  clockTolerance?: number;
}

/** The verified claims of the caller's token, as the verifier puts them into `AuthInfo.extra.claims`. */
export type CallerClaims = JWTPayload & { azp?: string; scope?: string; may_act?: Record<string, unknown>; [claim: string]: unknown };

/**
 * An OAuthTokenVerifier for the MCP SDK's `requireBearerAuth`: signature by the realm's keys (jose), `iss`, `exp`,
 * `sub`, an access token (`typ` Bearer where present), and `aud` containing the resource URI (or one of
 * `acceptedAudiences`). `AuthInfo.resource` is the resource URI only when `aud` contains it, so that the SDK's
 * `expectedResource` check passes only for tokens bound to this server. A refusal is the SDK's InvalidTokenError
 * (401) naming jose's code, never the token; the realm's keys out of reach is a ServerError (500).
 */
export function createTokenVerifier(options: TokenVerifierOptions): OAuthTokenVerifier {
  const resource = new URL(String(options.resource)).href;
  const audiences = [resource, ...(options.acceptedAudiences ?? [])];
  let keySet = options.keySet;
  if (!keySet) {
    if (!options.jwksUri) throw new TypeError('createTokenVerifier needs jwksUri or keySet');
    keySet = createRemoteJWKSet(new URL(String(options.jwksUri)));
  }
  const keys = keySet;
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      let payload: CallerClaims;
      try {
        ({ payload } = await jwtVerify<CallerClaims>(token, keys, {
          issuer: options.issuer,
          audience: audiences,
          clockTolerance: options.clockTolerance ?? 5,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (e) {
        if (e instanceof joseErrors.JWKSTimeout) throw new ServerError('Cannot fetch the realm signing keys');
        if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'aud') {
          throw new InvalidTokenError(`Token rejected: audience does not contain ${resource}`);
        }
        if (e instanceof joseErrors.JOSEError) {
          const claim = (e as { claim?: string }).claim;
          throw new InvalidTokenError(`Token rejected: ${e.code}${claim ? ` (${claim})` : ''}`);
        }
        throw e;
      }
      // Keycloak marks access tokens typ=Bearer (ID tokens say ID, refresh tokens Refresh)
      if (payload.typ !== undefined && payload.typ !== 'Bearer') {
        throw new InvalidTokenError('Token rejected: not an access token');
      }
      const aud = Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud];
      return {
        token,
        clientId: typeof payload.azp === 'string' ? payload.azp : typeof payload.client_id === 'string' ? payload.client_id : '',
        scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
        expiresAt: payload.exp,
        resource: aud.includes(resource) ? new URL(resource) : undefined,
        extra: { claims: payload },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// errors as MCP answers

/** A tool error whose text is JSON. */
export function toolError(body: unknown): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body, null, 2) }] };
}

/**
 * The connect link of a ConnectionRequired, if it is the connector's own connect endpoint on the realm
 * (`{issuer}/agent-auth/connectors/{alias}/connect`, same origin, no credentials or fragment); else undefined. The
 * link is shown to a user, so it must lead where the realm says it does.
 */
export function trustedConnectUri(error: Pick<ConnectionRequired, 'connector' | 'connectUri'>, issuer: string): string | undefined {
  let u: URL;
  let expected: URL;
  try {
    u = new URL(error.connectUri);
    expected = new URL(`${issuer.replace(/\/+$/, '')}/agent-auth/connectors/${encodeURIComponent(error.connector)}/connect`);
  } catch {
    return undefined;
  }
  if (u.origin !== expected.origin || u.pathname !== expected.pathname || u.username || u.password || u.hash) return undefined;
  return u.href;
}

/** True when the client declared URL-mode elicitation (`capabilities.elicitation.url`) at initialization. */
export function supportsUrlElicitation(server: McpServer): boolean {
  const caps = server.server.getClientCapabilities() as { elicitation?: { url?: unknown } } | undefined;
  return caps?.elicitation?.url !== undefined && caps.elicitation.url !== null;
}

/** What to tell the user (and the model) about a ConnectionRequired. */
export function connectionRequiredMessage(error: Pick<ConnectionRequired, 'connector'>, link: string): string {
  return (
    `No ${error.connector} account is connected for this user yet (or it must be connected again). ` +
    `Ask the user to open ${link} in a browser, sign in and connect their account, then call this tool again.`
  );
}

/** What registerTool reports for each refused or failed call (for a log line; never a token). */
export interface ToolErrorEvent {
  tool: string;
  /** The caller's `sub`. */
  user: string | undefined;
  /**
   * How the error reached the client: `elicitation` (URL mode: the -32042 error, or an `elicitation/create` request
   * with `elicitation: 'request'`) or `tool_error` (isError result).
   */
  via: 'elicitation' | 'tool_error';
  error: AgentAuthErrorJSON;
  elicitationId?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// the tool context

/** What a tool registered with McpAgentAuth.registerTool gets besides its arguments. */
export interface AgentToolContext {
  /** The verified claims of the caller's token (sub, azp, scope, may_act, ...). */
  readonly caller: CallerClaims;
  /** The user: the caller token's `sub`. */
  readonly user: string | undefined;
  /** The delegated exchange for the caller (RFC 8693 with the agent's actor token): `sub` the user, `act` this agent. */
  exchange(options?: McpExchangeOptions): Promise<TokenSet>;
  /** A connector handle for the caller (calls through Keycloak's brokered proxy). */
  connector(alias: string, options?: { connectionId?: string }): Connector;
  /** The MCP SDK's request context. */
  readonly extra: RequestHandlerExtra<ServerRequest, ServerNotification>;
}

type ToolArgs<Args> = Args extends ZodRawShapeCompat ? ShapeOutput<Args> : Args extends AnySchema ? SchemaOutput<Args> : undefined;

/** A tool callback for McpAgentAuth.registerTool: the tool's arguments (undefined without inputSchema) and the context. */
export type AgentToolCallback<Args extends undefined | ZodRawShapeCompat | AnySchema = undefined> = (
  args: ToolArgs<Args>,
  ctx: AgentToolContext,
) => CallToolResult | Promise<CallToolResult>;

export interface AgentToolConfig<InputArgs extends undefined | ZodRawShapeCompat | AnySchema, OutputArgs extends ZodRawShapeCompat | AnySchema> {
  title?: string;
  description?: string;
  inputSchema?: InputArgs;
  outputSchema?: OutputArgs;
  annotations?: ToolAnnotations;
  _meta?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------------
// McpAgentAuth

export interface McpAgentAuthOptions {
  /** The agent: `await AgentAuth.discover({issuer, clientId, clientSecret | privateKey})`. */
  agent: McpAgent;
  /** This MCP server's RFC 8707 resource URI, e.g. `http://localhost:3000/mcp` (the agent's resource URI in Keycloak). */
  resource: string | URL;
  /**
   * RFC 9728 `scopes_supported`. Default `openid profile delegation:client:<agent>`: an MCP client asks for all of
   * them, and `delegation:client:<agent>` brings the user to the agent consent screen (DESIGN 4.6).
   */
  scopesSupported?: string[];
  /** RFC 9728 `resource_name`. */
  resourceName?: string;
  /** See TokenVerifierOptions.acceptedAudiences. With any set, the bearer middleware does not require `AuthInfo.resource`. */
  acceptedAudiences?: string[];
  /** Scopes every caller's token must carry (403 insufficient_scope otherwise). Default none. */
  requiredScopes?: string[];
  /** The realm's OAuth metadata (default: the agent's, else discovered from its issuer with oauth4webapi). */
  authorizationServerMetadata?: oauth.AuthorizationServer;
  /** A jose key set instead of the realm's JWKS URI (tests). */
  keySet?: JWTVerifyGetKey;
  /** Leeway for `exp`/`nbf`/`iat`, seconds (default 5). */
  clockTolerance?: number;
  /**
   * How a ConnectionRequired reaches a client that declared `elicitation.url` (the same option as the Python
   * SDK's `elicitation=`):
   * - `'error'` (default): the call fails with the -32042 URLElicitationRequiredError carrying the link; the client
   *   opens it and calls the tool again (in a stateful session the server sends `notifications/elicitation/complete`
   *   once the user has connected, waiting in the background up to `connectTimeoutMs`). Nothing is held open
   *   while the user is away.
   * - `'request'`: the tool sends `elicitation/create` (`mode: 'url'`, the link) and, once the user accepts, waits
   *   (up to `connectTimeoutMs`, polling the connection status, no upstream call) until the account is connected,
   *   sends `notifications/elicitation/complete` and runs the tool again, so the same `tools/call` returns the
   *   result (with progress notifications every `progressIntervalMs` when the client sent a `progressToken`).
   *   Needs a stateful session (a server that can send requests to the client).
   */
  elicitation?: 'error' | 'request';
  /**
   * How long to wait for the user to connect an account after a URL elicitation (polling the connection status, no
   * upstream call). 0 turns the background wait of `'error'` off. Default 10 minutes (Python: `connect_timeout`).
   */
  connectTimeoutMs?: number;
  /** @deprecated the former name of connectTimeoutMs. */
  elicitationWaitMs?: number;
  /** With `elicitation: 'request'`: a progress notification this often while waiting. Default 10 s. */
  progressIntervalMs?: number;
  /** Called for each refused call of a registered tool (a log line, say). */
  onToolError?: (event: ToolErrorEvent) => void;
  /** Allow an http issuer that is not localhost (oauth4webapi's allowInsecureRequests). Default: only for localhost/127.0.0.1. */
  allowInsecureRequests?: boolean;
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/** The realm's OAuth metadata (OIDC discovery, issuer checked by oauth4webapi). */
export async function discoverAuthorizationServer(issuer: string, options: { allowInsecureRequests?: boolean } = {}): Promise<oauth.AuthorizationServer> {
  const url = new URL(issuer);
  const insecure = options.allowInsecureRequests ?? (url.protocol === 'http:' && isLoopback(url));
  const response = await oauth.discoveryRequest(url, { algorithm: 'oidc', [oauth.allowInsecureRequests]: insecure });
  return oauth.processDiscoveryResponse(url, response);
}

/**
 * An MCP server's Keycloak Agent Auth: token verification, bearer middleware, RFC 9728 metadata, and tools that act
 * for the caller.
 *
 * ```ts
 * const agent = await AgentAuth.discover({ issuer, clientId: 'calendar-agent', clientSecret });
 * const auth = await McpAgentAuth.create({ agent, resource: 'http://localhost:3000/mcp' });
 * app.use(auth.metadataRouter());
 * app.post('/mcp', auth.bearerAuth(), handler);
 * auth.registerTool(server, 'profile', { inputSchema: {} }, async (args, ctx) => {
 *   const res = await ctx.connector('demo-calendar').fetch('userinfo');
 *   return { content: [{ type: 'text', text: await res.text() }] };
 * });
 * ```
 */
export class McpAgentAuth {
  readonly agent: McpAgent;
  /** This server's resource URI (normalised by URL). */
  readonly resource: URL;
  /** The realm's OAuth metadata. */
  readonly authorizationServer: oauth.AuthorizationServer;
  readonly verifier: OAuthTokenVerifier;
  /** The RFC 9728 metadata URL (`/.well-known/oauth-protected-resource/<path>`), for WWW-Authenticate. */
  readonly resourceMetadataUrl: string;
  readonly scopesSupported: string[];
  readonly #options: McpAgentAuthOptions;
  /** Pending waits for a connection after URL elicitations: session + connector -> the completion notifiers. */
  readonly #waiting = new Map<string, Array<() => Promise<void>>>();

  private constructor(options: McpAgentAuthOptions, metadata: oauth.AuthorizationServer) {
    if (options.elicitation !== undefined && options.elicitation !== 'error' && options.elicitation !== 'request') {
      throw new TypeError("elicitation must be 'error' or 'request'");
    }
    this.#options = options;
    this.agent = options.agent;
    this.resource = new URL(String(options.resource));
    this.authorizationServer = metadata;
    if (!options.keySet && !metadata.jwks_uri) throw new TypeError(`${metadata.issuer} publishes no jwks_uri`);
    this.verifier = createTokenVerifier({
      issuer: metadata.issuer,
      resource: this.resource,
      acceptedAudiences: options.acceptedAudiences,
      keySet: options.keySet,
      jwksUri: metadata.jwks_uri,
      clockTolerance: options.clockTolerance,
    });
    this.resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(this.resource);
    this.scopesSupported = options.scopesSupported ?? ['openid', 'profile', `delegation:client:${options.agent.clientId}`];
  }

  /** Reads the realm's metadata (unless given) and builds the helper. */
  static async create(options: McpAgentAuthOptions): Promise<McpAgentAuth> {
    if (!options?.agent) throw new TypeError('McpAgentAuth.create needs the agent (AgentAuth.discover(...))');
    if (!options.resource) throw new TypeError('McpAgentAuth.create needs this server\'s resource URI');
    const metadata =
      options.authorizationServerMetadata ??
      options.agent.realm?.as ??
      (await discoverAuthorizationServer(options.agent.issuer, { allowInsecureRequests: options.allowInsecureRequests }));
    return new McpAgentAuth(options, metadata);
  }

  /** The SDK's `requireBearerAuth` with this verifier; with no acceptedAudiences, `AuthInfo.resource` must be this server. */
  bearerAuth(): ReturnType<typeof requireBearerAuth> {
    const strict = (this.#options.acceptedAudiences ?? []).length === 0;
    return requireBearerAuth({
      verifier: this.verifier,
      resourceMetadataUrl: this.resourceMetadataUrl,
      requiredScopes: this.#options.requiredScopes,
      expectedResource: strict ? this.resource : undefined,
    });
  }

  /**
   * The SDK's `mcpAuthMetadataRouter`: RFC 9728 metadata at `/.well-known/oauth-protected-resource/<path>`
   * (`resource`, `authorization_servers` = the realm, `scopes_supported`), plus the realm's RFC 8414 metadata
   * mirrored at `/.well-known/oauth-authorization-server`. Mount it at the root of the app.
   */
  metadataRouter(): ReturnType<typeof mcpAuthMetadataRouter> {
    return mcpAuthMetadataRouter({
      // oauth4webapi's AuthorizationServer is the RFC 8414 document the SDK's OAuthMetadata describes
      oauthMetadata: this.authorizationServer as unknown as Parameters<typeof mcpAuthMetadataRouter>[0]['oauthMetadata'],
      resourceServerUrl: this.resource,
      scopesSupported: this.scopesSupported,
      resourceName: this.#options.resourceName,
    });
  }

  /** The tool context for one call (throws AgentAuthError `invalid_token` when the request carries no verified caller). */
  context(extra: RequestHandlerExtra<ServerRequest, ServerNotification>): AgentToolContext & { readonly connectors: Map<string, Connector> } {
    const token = extra?.authInfo?.token;
    if (typeof token !== 'string' || token === '') {
      throw new AgentAuthError('invalid_token', { description: 'No authenticated caller (is bearerAuth() in front of the MCP endpoint?)' });
    }
    const caller = ((extra.authInfo?.extra as { claims?: CallerClaims } | undefined)?.claims ?? {}) as CallerClaims;
    const agent = this.agent;
    const connectors = new Map<string, Connector>();
    return {
      caller,
      user: typeof caller.sub === 'string' ? caller.sub : undefined,
      extra,
      connectors,
      exchange: (options: McpExchangeOptions = {}) => agent.exchange({ ...options, subjectToken: token }),
      connector: (alias: string, options: { connectionId?: string } = {}) => {
        const handle = agent.connector(alias, { ...options, subjectToken: token });
        connectors.set(alias, handle);
        return handle;
      },
    };
  }

  /**
   * What an error of a tool becomes: throws UrlElicitationRequiredError (-32042) for a ConnectionRequired when the
   * client declared URL elicitation; returns a tool error for any other AgentAuthError (its toJSON(); for a
   * ConnectionRequired without the capability plus `instructions` carrying the link); rethrows anything else.
   */
  toolErrorFor(
    server: McpServer,
    error: unknown,
    info: { tool?: string; user?: string; connector?: Connector; sessionId?: string } = {},
  ): CallToolResult {
    if (!isAgentAuthError(error)) throw error;
    const report = (via: ToolErrorEvent['via'], json: AgentAuthErrorJSON, elicitationId?: string) => {
      try {
        this.#options.onToolError?.({ tool: info.tool ?? '', user: info.user, via, error: json, elicitationId });
      } catch {
        // a logging hook never breaks the call
      }
    };
    if (isConnectionRequired(error)) {
      const link = trustedConnectUri(error, this.authorizationServer.issuer);
      const json = error.toJSON();
      if (!link) {
        // the link does not lead to this realm's connect endpoint: not shown (neither in connect_uri nor in message)
        const rest = new ConnectionRequired(error.connector, '', { code: error.code, status: error.status, description: error.description }).toJSON();
        report('tool_error', rest);
        return toolError({ ...rest, instructions: `No ${error.connector} account is connected for this user, and the server's connect link is not this realm's; not shown.` });
      }
      const message = connectionRequiredMessage(error, link);
      if (supportsUrlElicitation(server)) {
        const elicitationId = randomUUID();
        report('elicitation', json, elicitationId);
        this.#notifyWhenConnected(server, elicitationId, info.connector, info.sessionId);
        throw new UrlElicitationRequiredError(
          [{ mode: 'url', elicitationId, url: link, message: `Connect your ${error.connector} account so that ${this.agent.clientId} can act for you there.` }],
          message,
        );
      }
      report('tool_error', json);
      return toolError({ ...json, instructions: message });
    }
    const json = error.toJSON();
    report('tool_error', json);
    return toolError(json);
  }

  #connectTimeoutMs(): number {
    return this.#options.connectTimeoutMs ?? this.#options.elicitationWaitMs ?? 600_000;
  }

  /**
   * `elicitation: 'request'`: asks the client in-band (`elicitation/create`, URL mode) to open the connect link,
   * waits until the user has connected (progress notifications meanwhile), tells the client the elicitation is
   * complete and runs the tool again. Undefined when the client cannot be asked (then the default answer applies).
   */
  async #elicitAndRetry(
    server: McpServer,
    error: ConnectionRequired,
    link: string,
    handle: Connector,
    extra: RequestHandlerExtra<ServerRequest, ServerNotification>,
    retry: () => Promise<CallToolResult>,
    info: { tool: string; user?: string },
  ): Promise<CallToolResult | undefined> {
    const elicitationId = randomUUID();
    const message = connectionRequiredMessage(error, link);
    const timeout = this.#connectTimeoutMs();
    let answer: { action: string };
    try {
      answer = await server.server.elicitInput(
        { mode: 'url', elicitationId, url: link, message: `Connect your ${error.connector} account so that ${this.agent.clientId} can act for you there.` },
        { relatedRequestId: extra.requestId, timeout: Math.max(timeout, 1000), signal: extra.signal },
      );
    } catch {
      // e.g. a stateless server cannot send requests to the client: the default answer
      return undefined;
    }
    try {
      this.#options.onToolError?.({ tool: info.tool, user: info.user, via: 'elicitation', error: error.toJSON(), elicitationId });
    } catch {
      // a logging hook never breaks the call
    }
    if (answer.action !== 'accept') {
      return toolError({ ...error.toJSON(), instructions: `The user did not connect (${answer.action}). ${message}` });
    }
    const progressToken = extra._meta?.progressToken;
    let beat = 0;
    const every = this.#options.progressIntervalMs ?? 10_000;
    const ticker = progressToken === undefined ? undefined : setInterval(() => {
      beat += 1;
      extra
        .sendNotification({ method: 'notifications/progress', params: { progressToken, progress: beat, message: `Waiting for the user to connect a ${error.connector} account` } })
        .catch(() => {});
    }, every);
    try {
      await handle.waitForConnection({ timeoutMs: timeout, signal: extra.signal });
    } catch (e) {
      if (isConnectionRequired(e)) return toolError({ ...e.toJSON(), instructions: `The account was not connected in time. ${message}` });
      if (isAgentAuthError(e)) return toolError(e.toJSON());
      throw e;
    } finally {
      if (ticker) clearInterval(ticker);
    }
    try {
      await server.server.createElicitationCompletionNotifier(elicitationId, { relatedRequestId: extra.requestId })();
    } catch {
      // advisory: the result below is what counts
    }
    return retry();
  }

  #notifyWhenConnected(server: McpServer, elicitationId: string, connector: Connector | undefined, sessionId: string | undefined): void {
    const waitMs = this.#connectTimeoutMs();
    // only a stateful session outlives the request: a stateless server is gone once it answered
    if (!connector || !sessionId || waitMs <= 0) return;
    let notify: () => Promise<void>;
    try {
      notify = server.server.createElicitationCompletionNotifier(elicitationId);
    } catch {
      return;
    }
    // one wait per session and connector: a further elicitation for the same account joins it
    const key = `${sessionId}\u0000${connector.alias}\u0000${connector.connectionId ?? ''}`;
    const waiting = this.#waiting.get(key);
    if (waiting) {
      waiting.push(notify);
      return;
    }
    const notifiers = [notify];
    this.#waiting.set(key, notifiers);
    // stop when the session ends
    const stop = new AbortController();
    const watch = setInterval(() => {
      if (!server.isConnected()) stop.abort(new Error('session closed'));
    }, 1000);
    watch.unref?.();
    connector
      .waitForConnection({ timeoutMs: waitMs, signal: stop.signal })
      .then(async () => {
        this.#waiting.delete(key);
        if (server.isConnected()) for (const n of notifiers) await n();
      })
      .catch(() => {
        // timed out, the grant ended or the session closed: the client retries on its own
      })
      .finally(() => {
        clearInterval(watch);
        if (this.#waiting.get(key) === notifiers) this.#waiting.delete(key);
      });
  }

  /**
   * McpServer.registerTool with Keycloak Agent Auth: the callback gets its arguments and an AgentToolContext
   * (caller claims, exchange, connector handles for the caller); what it throws becomes an MCP answer by
   * toolErrorFor().
   */
  registerTool<OutputArgs extends ZodRawShapeCompat | AnySchema, InputArgs extends undefined | ZodRawShapeCompat | AnySchema = undefined>(
    server: McpServer,
    name: string,
    config: AgentToolConfig<InputArgs, OutputArgs>,
    callback: AgentToolCallback<InputArgs>,
  ): RegisteredTool {
    const hasInput = config.inputSchema !== undefined;
    const run = async (args: unknown, extra: RequestHandlerExtra<ServerRequest, ServerNotification>, again = false): Promise<CallToolResult> => {
      let ctx: ReturnType<McpAgentAuth['context']> | undefined;
      try {
        ctx = this.context(extra);
        return await callback(args as ToolArgs<InputArgs>, ctx);
      } catch (e) {
        const alias = isConnectionRequired(e) ? e.connector : undefined;
        const handle = alias !== undefined ? ctx?.connectors.get(alias) : undefined;
        if (isConnectionRequired(e) && !again && handle && this.#options.elicitation === 'request' && supportsUrlElicitation(server)) {
          const link = trustedConnectUri(e, this.authorizationServer.issuer);
          if (link) {
            const done = await this.#elicitAndRetry(server, e, link, handle, extra, () => run(args, extra, true), { tool: name, user: ctx?.user });
            if (done) return done;
          }
        }
        if (isConnectionRequired(e) && again) {
          // connected, yet the retry asks again: the link as a tool error, no second elicitation
          const link = trustedConnectUri(e, this.authorizationServer.issuer);
          if (link) return toolError({ ...e.toJSON(), instructions: connectionRequiredMessage(e, link) });
        }
        return this.toolErrorFor(server, e, {
          tool: name,
          user: ctx?.user,
          connector: alias !== undefined ? ctx?.connectors.get(alias) : undefined,
          sessionId: extra?.sessionId,
        });
      }
    };
    // the SDK calls (args, extra) when the tool has an input schema, else (extra)
    const handler = hasInput
      ? (args: unknown, extra: RequestHandlerExtra<ServerRequest, ServerNotification>) => run(args, extra)
      : (extra: RequestHandlerExtra<ServerRequest, ServerNotification>) => run(undefined, extra);
    return server.registerTool(name, config as never, handler as never);
  }
}
