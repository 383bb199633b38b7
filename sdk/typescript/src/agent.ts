// The agent's half of Keycloak Agent Auth (DESIGN section 10): discovery, the actor token, the delegated exchange,
// connector handles and the host app's side of requested_actor. OAuth requests and responses go through oauth4webapi,
// JWTs through jose; nothing here parses a token by hand.

import { KeyObject, randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { importJWK, SignJWT, type JWK } from 'jose';
import { AgentAuthError, ApprovalExpired, isAgentAuthError, scrub, type ErrorContext } from './errors.js';
import { ACCESS_TOKEN_TYPE, ACTOR_JWT_TYP, JWT_TOKEN_TYPE, REFRESH_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT, toAgentAuthError } from './protocol.js';
import { TokenSet, type TokenResponse } from './tokens.js';
import { Connector, type ConnectorOptions } from './connector.js';
import { ApprovalRequest, type BackchannelResponse } from './approval.js';

/** A private key: a WebCrypto CryptoKey (what jose 6 returns from importJWK/importPKCS8), a node:crypto KeyObject or a private JWK. */
export type PrivateKeyInput = CryptoKey | KeyObject | JWK;

/** Transport settings shared by the agent and the host side. */
export interface ConnectionSettings {
  /** The realm's issuer, e.g. `http://localhost:8080/realms/agents-demo`. */
  issuer: string | URL;
  /**
   * Allow `http:` URLs. Default: true only for a loopback issuer (`localhost`, `127.0.0.1`, `[::1]`), else false
   * (oauth4webapi refuses plain HTTP).
   */
  allowInsecureRequests?: boolean;
  /** Timeout of each HTTP request, ms (default 30000). */
  timeoutMs?: number;
  /** A fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
  /** The clock, epoch ms (default Date.now; for tests). */
  now?: () => number;
  /** How waitForApproval waits between polls (default: real timers, abortable; for tests, with `now`). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface DiscoverOptions extends ConnectionSettings {
  /** The agent's client_id. */
  clientId: string;
  /** The agent's client secret (client_secret_basic; the actor token is then a client-credentials token). */
  clientSecret?: string;
  /**
   * The agent's private key, registered with its client (JWKS): the client authenticates with private_key_jwt and the
   * actor token is a signed `actor+jwt`.
   */
  privateKey?: PrivateKeyInput;
  /** `kid` of the key (default: the JWK's `kid`). */
  kid?: string;
  /** JWS algorithm of the key (default: the JWK's `alg`, else by key type: RS256, ES256/384/512, EdDSA). */
  alg?: string;
  /**
   * Which actor token to send: `jwt` (a signed actor+jwt; default with a privateKey) or `client_credentials` (the
   * agent's client-credentials access token; default with a clientSecret, possible with a key too).
   */
  actorTokenKind?: 'jwt' | 'client_credentials';
  /** How a client secret is sent: `client_secret_basic` (default) or `client_secret_post`. */
  clientAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Cached tokens (the client-credentials actor token, connector tokens) are renewed this long before they expire (default 30 s). */
  renewBeforeSeconds?: number;
  /** Lifetime of a signed actor JWT, s (default 60; the server accepts at most 300). */
  actorJwtLifetimeSeconds?: number;
}

export interface ExchangeOptions {
  /** The user's access token (or a delegated token, for the next hop of a chain). */
  subjectToken: string;
  /** RFC 8707 resource(s): the token's `aud` becomes exactly these. */
  resource?: string | string[];
  /** Audience(s) (client ids) within the agent's allowed audiences. */
  audience?: string | string[];
  /** Narrower scope (space-separated string or list). */
  scope?: string | string[];
  /** `refresh_token` asks for a refresh token as well (only where the agent's policy allows it). */
  requestedTokenType?: 'access_token' | 'refresh_token';
}

export interface AuthorizationUrlOptions {
  /** The agent the user delegates to (`requested_actor`). Left out: a plain login (for the user's own token). */
  requestedActor?: string;
  /** One RFC 8707 resource (Keycloak accepts one in the query), e.g. a connector's URI. */
  resource?: string;
  /** Space-separated scope (default `openid`). */
  scope?: string | string[];
  redirectUri: string;
  /** Default: a fresh random state. */
  state?: string;
  /** e.g. `consent` to show the consent screen even when a grant already covers the request. */
  prompt?: string;
  /** More authorization request parameters. */
  extraParams?: Record<string, string>;
}

export interface AuthorizationRequest {
  /** Send the user's browser here. */
  url: string;
  /** Keep it for redeemCode (the PKCE S256 verifier; a secret of this login). */
  codeVerifier: string;
  /** Compare it with the state of the redirect (redeemCode does it when given callbackUrl and state). */
  state: string;
}

export interface RedeemCodeOptions {
  /** The full redirect URL (or its query): validated with oauth4webapi (iss, state, error). */
  callbackUrl?: string | URL | URLSearchParams;
  /** The bare code, when the caller validated the redirect (iss and state) itself. */
  code?: string;
  /** The state the authorization request carried (checked against callbackUrl's). */
  state?: string;
  codeVerifier: string;
  redirectUri: string;
  /** RFC 8707 resource(s) for the token (a subset of what the code was authorised for). */
  resource?: string | string[];
}

export interface ApprovalOptions {
  /** The user to ask (Keycloak's `login_hint`: the username, or the e-mail where the realm allows it). */
  loginHint: string;
  /** The scope the agent asks for (space-separated string or list), within its policy, e.g. `openid profile`. */
  scope: string | string[];
  /**
   * A short code the user sees on the approval page (and that the agent shows where it runs), so that the user can
   * tell this request from others: 1 to 50 of `A-Z a-z 0-9 - . _ + / ! ? #` (Keycloak's rule; no spaces).
   */
  bindingMessage: string;
  /**
   * What the agent wants to do, in words (up to 1000 characters), shown on the approval page: sent as
   * `authorization_details` `[{"type":"agent_action","description":...}]`.
   */
  description?: string;
  /** One RFC 8707 resource (e.g. a connector's URI): the token's `aud`. */
  resource?: string;
  /** Seconds: the user must have signed in at most this long ago to approve (else signs in again on the page). */
  maxAge?: number;
}

export interface WaitForApprovalOptions {
  /** Stops the wait (the promise rejects with the signal's reason). The request stays valid. */
  signal?: AbortSignal;
  /**
   * Give up after this long: AgentAuthError `authorization_pending` (the request stays valid until its `expiresAt`;
   * wait again with the same request). Default: until the request expires (then ApprovalExpired).
   */
  timeoutMs?: number;
}

/** CIBA token grant type (OpenID CIBA Core section 10.1). */
export const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';
/** Seconds added to the poll interval on each `slow_down` (RFC 8628 section 3.5, which CIBA Core 11 refers to). */
export const SLOW_DOWN_SECONDS = 5;

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface HostOptions extends ConnectionSettings {
  /** The host app's client_id, e.g. `agent-host`. */
  clientId: string;
  /** The host app's client secret. */
  clientSecret: string;
  clientAuthMethod?: 'client_secret_basic' | 'client_secret_post';
}

// ---------------------------------------------------------------------------------------------------------------
// the realm: metadata and HTTP

function isLoopback(url: URL): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x) => typeof x === 'string' && x !== '');
}

function scopeString(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = Array.isArray(v) ? v.join(' ') : v;
  return s.trim() === '' ? undefined : s.trim();
}

/** One realm: its metadata and the settings every request uses. Shared by agents and host apps. */
export class Realm {
  readonly issuer: string;
  readonly as: oauth.AuthorizationServer;
  readonly now: () => number;
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  readonly insecure: boolean;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  private constructor(as: oauth.AuthorizationServer, settings: ConnectionSettings, insecure: boolean) {
    this.as = as;
    this.issuer = as.issuer;
    this.now = settings.now ?? Date.now;
    this.sleep = settings.sleep ?? realSleep;
    this.fetch = settings.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = settings.timeoutMs ?? 30_000;
    this.insecure = insecure;
  }

  /** Reads `{issuer}/.well-known/openid-configuration` (the issuer in it must be the one asked for). */
  static async discover(settings: ConnectionSettings): Promise<Realm> {
    let issuer: URL;
    try {
      issuer = new URL(String(settings.issuer).replace(/\/+$/, ''));
    } catch {
      throw new AgentAuthError('invalid_configuration', { description: 'issuer is not a URL' });
    }
    const insecure = settings.allowInsecureRequests ?? (issuer.protocol === 'http:' && isLoopback(issuer));
    const probe = new Realm({ issuer: issuer.href } as oauth.AuthorizationServer, settings, insecure);
    try {
      const res = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...probe.options() });
      return new Realm(await oauth.processDiscoveryResponse(issuer, res), settings, insecure);
    } catch (e) {
      const mapped = toAgentAuthError(e);
      if (isAgentAuthError(mapped) && mapped.name !== 'NetworkError') {
        throw new AgentAuthError('discovery_failed', { status: mapped.status, description: `${issuer.href}/.well-known/openid-configuration: ${mapped.message}` });
      }
      throw mapped;
    }
  }

  /** oauth4webapi's HTTP options: fetch, plain HTTP where allowed, the timeout (and the caller's signal, if any). */
  options(signal?: AbortSignal): { [oauth.customFetch]: typeof fetch; [oauth.allowInsecureRequests]: boolean; signal: () => AbortSignal } {
    return {
      [oauth.customFetch]: this.fetch,
      [oauth.allowInsecureRequests]: this.insecure,
      signal: () => (signal ? AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]) : AbortSignal.timeout(this.timeoutMs)),
    };
  }

  /** A grant at the token endpoint: the answer as a TokenSet, or the mapped error. */
  async token(client: oauth.Client, auth: oauth.ClientAuth, grantType: string, params: URLSearchParams, context: ErrorContext = {}): Promise<TokenSet> {
    try {
      const res = await oauth.genericTokenEndpointRequest(this.as, client, auth, grantType, params, this.options());
      const body = await oauth.processGenericTokenEndpointResponse(this.as, client, res);
      return new TokenSet(body as unknown as TokenResponse, { now: this.now() });
    } catch (e) {
      throw toAgentAuthError(e, context);
    }
  }

  /** The authorization URL with PKCE S256 (the host app's side of requested_actor). */
  async authorizationUrl(clientId: string, o: AuthorizationUrlOptions): Promise<AuthorizationRequest> {
    if (!this.as.authorization_endpoint) throw new AgentAuthError('invalid_configuration', { description: 'the realm names no authorization endpoint' });
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = o.state ?? oauth.generateRandomState();
    const url = new URL(this.as.authorization_endpoint);
    const p = url.searchParams;
    p.set('client_id', clientId);
    p.set('response_type', 'code');
    p.set('redirect_uri', o.redirectUri);
    p.set('scope', scopeString(o.scope) ?? 'openid');
    p.set('state', state);
    p.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    p.set('code_challenge_method', 'S256');
    if (o.requestedActor) p.set('requested_actor', o.requestedActor);
    if (o.resource) p.set('resource', o.resource);
    if (o.prompt) p.set('prompt', o.prompt);
    for (const [k, v] of Object.entries(o.extraParams ?? {})) p.set(k, v);
    return { url: url.href, codeVerifier, state };
  }

  /** Redeems a code at the token endpoint as `clientId`, with the actor token when one is given. */
  async redeemCode(client: oauth.Client, auth: oauth.ClientAuth, o: RedeemCodeOptions, actor?: { token: string; type: string }): Promise<TokenSet> {
    try {
      let callback: URLSearchParams;
      if (o.callbackUrl !== undefined) {
        const given = o.callbackUrl instanceof URLSearchParams ? o.callbackUrl : new URL(String(o.callbackUrl)).searchParams;
        callback = oauth.validateAuthResponse(this.as, client, given, o.state ?? oauth.skipStateCheck);
      } else if (o.code) {
        // the caller checked the redirect's iss and state: hand oauth4webapi exactly the code
        callback = oauth.validateAuthResponse(this.as, client, new URLSearchParams({ code: o.code, iss: this.as.issuer }), oauth.skipStateCheck);
      } else {
        throw new AgentAuthError('invalid_request', { description: 'redeemCode needs callbackUrl or code' });
      }
      const extra = new URLSearchParams();
      if (actor) {
        extra.set('actor_token', actor.token);
        extra.set('actor_token_type', actor.type);
      }
      for (const r of list(o.resource)) extra.append('resource', r);
      const res = await oauth.authorizationCodeGrantRequest(this.as, client, auth, callback, o.redirectUri, o.codeVerifier, {
        ...this.options(),
        additionalParameters: extra,
      });
      const body = await oauth.processAuthorizationCodeResponse(this.as, client, res);
      return new TokenSet(body as unknown as TokenResponse, { now: this.now() });
    } catch (e) {
      throw toAgentAuthError(e);
    }
  }
}

function secretAuth(secret: string, method: 'client_secret_basic' | 'client_secret_post' | undefined): oauth.ClientAuth {
  return method === 'client_secret_post' ? oauth.ClientSecretPost(secret) : oauth.ClientSecretBasic(secret);
}

// ---------------------------------------------------------------------------------------------------------------
// keys

interface SigningKey {
  key: CryptoKey;
  alg: string;
  kid: string | undefined;
}

function defaultAlg(jwk: JWK): string {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC') return ({ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' } as Record<string, string>)[jwk.crv ?? ''] ?? 'ES256';
  if (jwk.kty === 'OKP') return 'EdDSA';
  throw new AgentAuthError('invalid_configuration', { description: `privateKey: unsupported key type ${scrub(jwk.kty, 20)}` });
}

function algOfCryptoKey(key: CryptoKey): string {
  const a = key.algorithm as { name: string; hash?: { name: string }; namedCurve?: string };
  const bits = a.hash?.name?.replace('SHA-', '') ?? '256';
  switch (a.name) {
    case 'RSASSA-PKCS1-v1_5':
      return `RS${bits}`;
    case 'RSA-PSS':
      return `PS${bits}`;
    case 'ECDSA':
      return ({ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' } as Record<string, string>)[a.namedCurve ?? ''] ?? 'ES256';
    case 'Ed25519':
      return 'EdDSA';
    default:
      throw new AgentAuthError('invalid_configuration', { description: `privateKey: unsupported algorithm ${scrub(a.name, 30)}` });
  }
}

async function signingKey(input: PrivateKeyInput, kid?: string, alg?: string): Promise<SigningKey> {
  if (typeof CryptoKey !== 'undefined' && input instanceof CryptoKey) {
    if (input.type !== 'private') throw new AgentAuthError('invalid_configuration', { description: 'privateKey must be a private key' });
    return { key: input, alg: alg ?? algOfCryptoKey(input), kid };
  }
  let jwk: JWK;
  if (input instanceof KeyObject) {
    if (input.type !== 'private') throw new AgentAuthError('invalid_configuration', { description: 'privateKey must be a private key' });
    jwk = input.export({ format: 'jwk' }) as JWK;
  } else {
    jwk = input as JWK;
  }
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.d !== 'string') {
    throw new AgentAuthError('invalid_configuration', { description: 'privateKey must be a CryptoKey, a KeyObject or a private JWK' });
  }
  const algorithm = alg ?? jwk.alg ?? defaultAlg(jwk);
  const key = await importJWK({ ...jwk, alg: algorithm }, algorithm);
  if (!(typeof CryptoKey !== 'undefined' && key instanceof CryptoKey)) {
    throw new AgentAuthError('invalid_configuration', { description: 'privateKey: not an asymmetric key' });
  }
  return { key, alg: algorithm, kid: kid ?? jwk.kid };
}

// ---------------------------------------------------------------------------------------------------------------
// the agent

/**
 * An agent: a client of the realm that acts for users. `await AgentAuth.discover({issuer, clientId, clientSecret})`
 * or `{issuer, clientId, privateKey}`.
 */
export class AgentAuth {
  readonly realm: Realm;
  readonly clientId: string;
  /** `actor_token_type` of what actorToken() returns. */
  readonly actorTokenType: string;
  readonly renewBeforeSeconds: number;
  readonly #client: oauth.Client;
  readonly #auth: oauth.ClientAuth;
  readonly #key: SigningKey | undefined;
  readonly #kind: 'jwt' | 'client_credentials';
  readonly #jwtLifetime: number;
  #actor: TokenSet | undefined;
  #actorInFlight: Promise<TokenSet> | undefined;

  private constructor(realm: Realm, o: DiscoverOptions, key: SigningKey | undefined) {
    this.realm = realm;
    this.clientId = o.clientId;
    this.#key = key;
    this.#client = { client_id: o.clientId };
    this.#auth = key ? oauth.PrivateKeyJwt({ key: key.key, kid: key.kid }) : secretAuth(o.clientSecret as string, o.clientAuthMethod);
    this.#kind = o.actorTokenKind ?? (key ? 'jwt' : 'client_credentials');
    this.actorTokenType = this.#kind === 'jwt' ? JWT_TOKEN_TYPE : ACCESS_TOKEN_TYPE;
    this.renewBeforeSeconds = o.renewBeforeSeconds ?? 30;
    this.#jwtLifetime = Math.min(o.actorJwtLifetimeSeconds ?? 60, 300);
  }

  /** Reads the realm's OpenID configuration and sets up the agent's credentials. */
  static async discover(o: DiscoverOptions): Promise<AgentAuth> {
    if (!o || typeof o.clientId !== 'string' || o.clientId === '') {
      throw new AgentAuthError('invalid_configuration', { description: 'clientId is required' });
    }
    if (!o.clientSecret && !o.privateKey) {
      throw new AgentAuthError('invalid_configuration', { description: 'clientSecret or privateKey is required' });
    }
    if (o.actorTokenKind === 'jwt' && !o.privateKey) {
      throw new AgentAuthError('invalid_configuration', { description: 'actorTokenKind jwt needs a privateKey' });
    }
    const key = o.privateKey ? await signingKey(o.privateKey, o.kid, o.alg) : undefined;
    const realm = await Realm.discover(o);
    return new AgentAuth(realm, o, key);
  }

  /** The host app's side of requested_actor, for an app that holds its own client credentials. */
  static async host(o: HostOptions): Promise<HostApp> {
    return new HostApp(await Realm.discover(o), o);
  }

  get issuer(): string {
    return this.realm.issuer;
  }

  /**
   * The agent's own token for `actor_token`: a signed `actor+jwt` (fresh `jti` each call), or its client-credentials
   * access token, cached and renewed `renewBeforeSeconds` before it expires.
   */
  async actorToken(): Promise<string> {
    if (this.#kind === 'jwt') return this.#signActorJwt();
    const now = this.realm.now();
    if (this.#actor && !this.#actor.expired(this.renewBeforeSeconds, now)) return this.#actor.accessToken;
    if (!this.#actorInFlight) {
      this.#actorInFlight = this.realm
        .token(this.#client, this.#auth, 'client_credentials', new URLSearchParams())
        .then((t) => (this.#actor = t))
        .finally(() => {
          this.#actorInFlight = undefined;
        });
    }
    return (await this.#actorInFlight).accessToken;
  }

  async #signActorJwt(): Promise<string> {
    const key = this.#key as SigningKey;
    const now = Math.floor(this.realm.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: key.alg, typ: ACTOR_JWT_TYP, ...(key.kid ? { kid: key.kid } : {}) })
      .setIssuer(this.clientId)
      .setSubject(this.clientId)
      .setAudience(`${this.issuer}/agent-auth/actor`)
      .setIssuedAt(now)
      .setExpirationTime(now + this.#jwtLifetime)
      .setJti(randomUUID())
      .sign(key.key);
  }

  /** A request to the token endpoint authenticated as this agent (client_secret_basic or private_key_jwt). */
  tokenRequest(grantType: string, params: URLSearchParams, context: ErrorContext = {}): Promise<TokenSet> {
    return this.realm.token(this.#client, this.#auth, grantType, params, context);
  }

  /**
   * The delegated exchange (RFC 8693 with `actor_token`): a token with which this agent acts for the subject's user.
   * Errors: GrantRevoked (no active grant), AccessDenied (a connector outside the grant or policy,
   * `unauthorized_client`), InsufficientScope (`invalid_scope`), AgentAuthError (`invalid_target`, ...), NetworkError
   * when Keycloak does not answer.
   */
  async exchange(o: ExchangeOptions): Promise<TokenSet> {
    if (!o || typeof o.subjectToken !== 'string' || o.subjectToken === '') {
      throw new AgentAuthError('invalid_request', { description: 'subjectToken is required' });
    }
    const build = async () => {
      const p = new URLSearchParams({
        subject_token: o.subjectToken,
        subject_token_type: ACCESS_TOKEN_TYPE,
        actor_token: await this.actorToken(),
        actor_token_type: this.actorTokenType,
      });
      const scope = scopeString(o.scope);
      if (scope) p.set('scope', scope);
      for (const r of list(o.resource)) p.append('resource', r);
      for (const a of list(o.audience)) p.append('audience', a);
      if (o.requestedTokenType === 'refresh_token') p.set('requested_token_type', REFRESH_TOKEN_TYPE);
      return p;
    };
    const cached = this.#kind === 'client_credentials' && this.#actor !== undefined;
    try {
      return await this.tokenRequest(TOKEN_EXCHANGE_GRANT, await build());
    } catch (e) {
      // a cached actor token the server no longer accepts (its session ended): one retry with a fresh one
      if (cached && isAgentAuthError(e) && e.code === 'invalid_request' && /Invalid actor_token: not an active/.test(e.description ?? '')) {
        this.#actor = undefined;
        return this.tokenRequest(TOKEN_EXCHANGE_GRANT, await build());
      }
      throw e;
    }
  }

  /**
   * Asks a user for approval without a browser at the agent (OpenID CIBA, poll mode, with `requested_actor` = this
   * agent): the user sees the request on the self-service page (`{issuer}/agent-auth/account/`, and by e-mail where
   * the realm sends mail), signs in there and approves or denies. Then `waitForApproval(request)`.
   * Errors (400 from the server): AgentAuthError `invalid_request` (unknown user, bad binding message, agent not
   * allowed as its own CIBA host, ...), `invalid_target` (resource), `invalid_authorization_details`, InsufficientScope
   * (`invalid_scope`), AccessDenied (`unauthorized_client`); NetworkError.
   */
  async requestApproval(o: ApprovalOptions): Promise<ApprovalRequest> {
    if (!o || typeof o.loginHint !== 'string' || o.loginHint === '') {
      throw new AgentAuthError('invalid_request', { description: 'loginHint is required' });
    }
    const scope = scopeString(o.scope);
    if (!scope) throw new AgentAuthError('invalid_request', { description: 'scope is required' });
    if (typeof o.bindingMessage !== 'string' || o.bindingMessage === '') {
      throw new AgentAuthError('invalid_request', { description: 'bindingMessage is required' });
    }
    if (!this.realm.as.backchannel_authentication_endpoint) {
      throw new AgentAuthError('invalid_configuration', { description: 'the realm names no backchannel_authentication_endpoint (CIBA)' });
    }
    const p = new URLSearchParams({ login_hint: o.loginHint, scope, binding_message: o.bindingMessage, requested_actor: this.clientId });
    if (o.description !== undefined && o.description !== '') {
      p.set('authorization_details', JSON.stringify([{ type: 'agent_action', description: o.description }]));
    }
    if (o.resource) p.set('resource', o.resource);
    if (o.maxAge !== undefined) p.set('max_age', String(o.maxAge));
    try {
      const res = await oauth.backchannelAuthenticationRequest(this.realm.as, this.#client, this.#auth, p, this.realm.options());
      const body = await oauth.processBackchannelAuthenticationResponse(this.realm.as, this.#client, res);
      return new ApprovalRequest(body as unknown as BackchannelResponse, { now: this.realm.now(), loginHint: o.loginHint, bindingMessage: o.bindingMessage });
    } catch (e) {
      throw toAgentAuthError(e);
    }
  }

  /**
   * Polls the token endpoint (`urn:openid:params:grant-type:ciba` with this agent's actor token: a fresh signed
   * actor JWT per poll, or the cached client-credentials token) every `interval` seconds (5 more after each
   * `slow_down`) until the user decides. Resolves to the delegated TokenSet (`act` = this agent, the scope and `aud`
   * asked for). Rejects with AccessDenied (`access_denied`: the user denied), ApprovalExpired (`expired_token`: nobody
   * decided in time), AgentAuthError `authorization_pending` when `timeoutMs` passes first (the request stays valid),
   * the signal's reason on abort, any other refusal as mapped (e.g. `invalid_grant`: already redeemed), NetworkError.
   */
  async waitForApproval(request: ApprovalRequest, o: WaitForApprovalOptions = {}): Promise<TokenSet> {
    if (!(request instanceof ApprovalRequest)) {
      throw new AgentAuthError('invalid_request', { description: 'waitForApproval needs the ApprovalRequest of requestApproval' });
    }
    const realm = this.realm;
    const deadline = o.timeoutMs === undefined ? Infinity : realm.now() + Math.max(0, o.timeoutMs);
    let interval = request.interval;
    for (;;) {
      const now = realm.now();
      const wait = interval * 1000;
      if (now + wait > deadline) {
        await realm.sleep(Math.max(0, deadline - now), o.signal);
        throw new AgentAuthError('authorization_pending', {
          description: `The user has not decided within ${o.timeoutMs} ms; the request stays valid until ${request.expiresAt.toISOString()}`,
        });
      }
      if (now > request.expiresAt.getTime()) {
        // a poll after the expiry was answered as pending: the server should have said expired_token
        throw new ApprovalExpired('expired_token', { description: `The approval request expired at ${request.expiresAt.toISOString()} before the user decided` });
      }
      await realm.sleep(wait, o.signal);
      try {
        return await this.#pollApproval(request, o.signal);
      } catch (e) {
        if (!isAgentAuthError(e)) throw e;
        if (e.code === 'authorization_pending') continue;
        if (e.code === 'slow_down') {
          interval += SLOW_DOWN_SECONDS;
          continue;
        }
        throw e;
      }
    }
  }

  async #pollApproval(request: ApprovalRequest, signal: AbortSignal | undefined): Promise<TokenSet> {
    const cached = this.#kind === 'client_credentials' && this.#actor !== undefined;
    const extra = new URLSearchParams({ actor_token: await this.actorToken(), actor_token_type: this.actorTokenType });
    try {
      const res = await oauth.backchannelAuthenticationGrantRequest(this.realm.as, this.#client, this.#auth, request.authReqId, {
        ...this.realm.options(signal),
        additionalParameters: extra,
      });
      const body = await oauth.processBackchannelAuthenticationGrantResponse(this.realm.as, this.#client, res);
      return new TokenSet(body as unknown as TokenResponse, { now: this.realm.now() });
    } catch (e) {
      const mapped = toAgentAuthError(e);
      // a cached actor token the server no longer accepts (its session ended): the next poll gets a fresh one (the
      // refusal used nothing up: the server checks the actor token before the request's state)
      if (cached && isAgentAuthError(mapped) && /Invalid actor_token: not an active/.test(mapped.description ?? '')) {
        this.#actor = undefined;
        throw new AgentAuthError('authorization_pending', { description: 'the cached actor token was refused; polling again with a new one' });
      }
      throw mapped;
    }
  }

  /** A handle on one of the realm's connectors for the subject's user (see Connector). */
  connector(alias: string, o: ConnectorOptions): Connector {
    return new Connector(this, alias, o);
  }

  /**
   * The host app's authorization URL for `requested_actor` = this agent (unless `requestedActor` says otherwise),
   * with PKCE S256. `clientId` is the host app's client.
   */
  authorizationUrl(o: AuthorizationUrlOptions & { clientId: string }): Promise<AuthorizationRequest> {
    return this.realm.authorizationUrl(o.clientId, { ...o, requestedActor: o.requestedActor ?? this.clientId });
  }

  /**
   * Redeems the host app's code (requested_actor flow) with this agent's actor token; `clientId`/`clientSecret` are
   * the host app's. Returns the token with `act`.
   */
  async redeemCode(o: RedeemCodeOptions & { clientId: string; clientSecret: string; clientAuthMethod?: 'client_secret_basic' | 'client_secret_post' }): Promise<TokenSet> {
    return this.realm.redeemCode({ client_id: o.clientId }, secretAuth(o.clientSecret, o.clientAuthMethod), o, {
      token: await this.actorToken(),
      type: this.actorTokenType,
    });
  }

  toString(): string {
    return `AgentAuth(${this.clientId} @ ${this.issuer})`;
  }

  toJSON(): { issuer: string; clientId: string; actorTokenType: string } {
    return { issuer: this.issuer, clientId: this.clientId, actorTokenType: this.actorTokenType };
  }
}

/** The host app (the client the user signs in to), for the requested_actor code flow. */
export class HostApp {
  readonly realm: Realm;
  readonly clientId: string;
  readonly #client: oauth.Client;
  readonly #auth: oauth.ClientAuth;

  constructor(realm: Realm, o: HostOptions) {
    if (!o.clientId || !o.clientSecret) throw new AgentAuthError('invalid_configuration', { description: 'clientId and clientSecret are required' });
    this.realm = realm;
    this.clientId = o.clientId;
    this.#client = { client_id: o.clientId };
    this.#auth = secretAuth(o.clientSecret, o.clientAuthMethod);
  }

  get issuer(): string {
    return this.realm.issuer;
  }

  /** The authorization URL (PKCE S256; `requestedActor` for a delegation, left out for the user's own login). */
  authorizationUrl(o: AuthorizationUrlOptions): Promise<AuthorizationRequest> {
    return this.realm.authorizationUrl(this.clientId, o);
  }

  /**
   * Redeems the code. `actor`: the agent the login named in `requested_actor` (its actor token is sent), or that
   * agent's actor token handed over by its process (`{token, type}`, e.g. from `agent.actorToken()` and
   * `agent.actorTokenType`); left out for a code without requested_actor.
   */
  async redeemCode(o: RedeemCodeOptions & { actor?: AgentAuth | { token: string; type: string } }): Promise<TokenSet> {
    const a = o.actor;
    const actor = a instanceof AgentAuth ? { token: await a.actorToken(), type: a.actorTokenType } : a;
    return this.realm.redeemCode(this.#client, this.#auth, o, actor);
  }

  toString(): string {
    return `HostApp(${this.clientId} @ ${this.issuer})`;
  }
}
