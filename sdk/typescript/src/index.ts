// keycloak-agent-auth: the agent's half of Keycloak Agent Auth (DESIGN section 10).

export { AgentAuth, CIBA_GRANT, HostApp, Realm, SLOW_DOWN_SECONDS } from './agent.js';
export type {
  ApprovalOptions,
  WaitForApprovalOptions,
  AuthorizationRequest,
  AuthorizationUrlOptions,
  ConnectionSettings,
  DiscoverOptions,
  ExchangeOptions,
  HostOptions,
  PrivateKeyInput,
  RedeemCodeOptions,
} from './agent.js';
export { Connector, CONNECTION_HEADER } from './connector.js';
export type { ConnectionInfo, ConnectorOptions, WaitOptions } from './connector.js';
export { TokenSet } from './tokens.js';
export { ApprovalRequest } from './approval.js';
export type { ApprovalRequestJSON, BackchannelResponse } from './approval.js';
export type { ActClaim, TokenResponse, TokenSetJSON } from './tokens.js';
export {
  AccessDenied,
  AgentAuthError,
  ApprovalExpired,
  ConnectionNotFound,
  ConnectionRequired,
  GrantRevoked,
  InsufficientScope,
  NetworkError,
  UpstreamUnavailable,
  errorFromResponse,
  isAccessDenied,
  isAgentAuthError,
  isApprovalExpired,
  isConnectionNotFound,
  isConnectionRequired,
  isGrantRevoked,
  isInsufficientScope,
  isNetworkError,
  isUpstreamUnavailable,
} from './errors.js';
export type { AgentAuthErrorJSON, AgentAuthErrorOptions, ErrorContext } from './errors.js';
export { ACCESS_TOKEN_TYPE, ACTOR_JWT_TYP, JWT_TOKEN_TYPE, REFRESH_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from './protocol.js';
