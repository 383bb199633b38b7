// A token set from the token endpoint. The tokens are private fields: they are reachable through the accessToken and
// refreshToken getters only, and never through JSON.stringify, toString, util.inspect or console.log.

import { inspect } from 'node:util';
import { decodeJwt, type JWTPayload } from 'jose';

/** The `act` claim (RFC 8693 section 4.1): who acts, nested for chains (the outermost is the current actor). */
export interface ActClaim {
  sub?: string;
  client_id?: string;
  iss?: string;
  act?: ActClaim;
  [claim: string]: unknown;
}

/** What the token endpoint answered (the members the SDK reads). */
export interface TokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  issued_token_type?: string;
  connection_id?: string;
  [member: string]: unknown;
}

/** The JSON form of a TokenSet: everything but the tokens. */
export interface TokenSetJSON {
  accessToken: '[redacted]';
  refreshToken?: '[redacted]';
  tokenType?: string;
  issuedTokenType?: string;
  expiresAt: string;
  scope: string[];
  aud: string[];
  sub?: string;
  azp?: string;
  act?: ActClaim;
  connectionId?: string;
}

function list(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

function scopeList(value: unknown): string[] {
  return typeof value === 'string' ? value.split(' ').filter((s) => s !== '') : [];
}

/**
 * Tokens and what they say. `expiresAt` is a `Date` (from the JWT's `exp`, else from `expires_in`); `scope` and
 * `aud` are arrays (empty when absent); `act` is the decoded `act` claim; `claims` all claims of the access token
 * (decoded with jose's decodeJwt: the token came straight from the token endpoint; an opaque upstream token has none).
 */
export class TokenSet {
  readonly #accessToken: string;
  readonly #refreshToken: string | undefined;
  readonly tokenType: string | undefined;
  readonly issuedTokenType: string | undefined;
  readonly expiresAt: Date;
  readonly scope: string[];
  readonly aud: string[];
  readonly act: ActClaim | undefined;
  readonly claims: Readonly<JWTPayload>;
  /** The connection the vault exchange used (upstream tokens only). */
  readonly connectionId: string | undefined;

  constructor(response: TokenResponse, options: { now?: number; decode?: boolean } = {}) {
    if (typeof response?.access_token !== 'string' || response.access_token === '') {
      throw new TypeError('a token response needs an access_token');
    }
    const now = options.now ?? Date.now();
    this.#accessToken = response.access_token;
    this.#refreshToken = typeof response.refresh_token === 'string' ? response.refresh_token : undefined;
    this.tokenType = typeof response.token_type === 'string' ? response.token_type : undefined;
    this.issuedTokenType = typeof response.issued_token_type === 'string' ? response.issued_token_type : undefined;
    this.connectionId = typeof response.connection_id === 'string' ? response.connection_id : undefined;
    let claims: JWTPayload = {};
    if (options.decode !== false) {
      try {
        claims = decodeJwt(response.access_token);
      } catch {
        claims = {}; // not a JWT (an upstream's opaque token)
      }
    }
    this.claims = Object.freeze({ ...claims });
    const expiresIn = typeof response.expires_in === 'number' && Number.isFinite(response.expires_in) ? response.expires_in : undefined;
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : expiresIn !== undefined ? now + expiresIn * 1000 : now;
    this.expiresAt = new Date(exp);
    this.scope = response.scope !== undefined ? scopeList(response.scope) : scopeList(claims.scope);
    this.aud = list(claims.aud);
    this.act = claims.act && typeof claims.act === 'object' ? (claims.act as ActClaim) : undefined;
  }

  /** The access token (a bearer credential: never log it). */
  get accessToken(): string {
    return this.#accessToken;
  }

  /** The refresh token, when the server issued one. */
  get refreshToken(): string | undefined {
    return this.#refreshToken;
  }

  /** The user (`sub`) the token is for. */
  get sub(): string | undefined {
    return typeof this.claims.sub === 'string' ? this.claims.sub : undefined;
  }

  /** True when the token expires within `withinSeconds` (0: already expired) at `now` (epoch ms). */
  expired(withinSeconds = 0, now = Date.now()): boolean {
    return this.expiresAt.getTime() - withinSeconds * 1000 <= now;
  }

  /** The chain of acting agents' client ids, current actor first (`act.client_id`, then `act.act.client_id`, ...). */
  actChain(): string[] {
    const out: string[] = [];
    for (let a = this.act; a && out.length < 32; a = a.act) {
      if (typeof a.client_id === 'string') out.push(a.client_id);
    }
    return out;
  }

  /** Everything but the tokens. */
  toJSON(): TokenSetJSON {
    const out: TokenSetJSON = {
      accessToken: '[redacted]',
      expiresAt: this.expiresAt.toISOString(),
      scope: [...this.scope],
      aud: [...this.aud],
    };
    if (this.#refreshToken !== undefined) out.refreshToken = '[redacted]';
    if (this.tokenType !== undefined) out.tokenType = this.tokenType;
    if (this.issuedTokenType !== undefined) out.issuedTokenType = this.issuedTokenType;
    if (this.sub !== undefined) out.sub = this.sub;
    if (typeof this.claims.azp === 'string') out.azp = this.claims.azp;
    if (this.act !== undefined) out.act = this.act;
    if (this.connectionId !== undefined) out.connectionId = this.connectionId;
    return out;
  }

  toString(): string {
    const who = this.act ? ` act=${this.actChain().join('<')}` : '';
    return `TokenSet(sub=${this.sub ?? '?'}${who}, expiresAt=${this.expiresAt.toISOString()}, accessToken=[redacted])`;
  }

  [inspect.custom](): string {
    return `TokenSet ${inspect(this.toJSON(), { depth: 4, breakLength: Infinity })}`;
  }
}
