"""Keycloak Agent Auth for Python: the agent's half of the protocol.

Discovery, the actor token (client credentials or a signed ``actor+jwt``), the delegated RFC 8693 exchange with
``act``, connector handles whose calls go through the brokered proxy, the vault exchange, waiting for the user to
connect an account, the host app's side of ``requested_actor``, and headless approval (CIBA:
``request_approval`` / ``wait_for_approval``). Sync (:class:`AgentAuth`) and async
(:class:`AsyncAgentAuth`) clients share one protocol core. Errors are values (:class:`AgentAuthError` and
subclasses, ``to_dict()``); no token is ever printed.
"""

from ._async import AsyncAgentAuth, AsyncConnector
from ._sync import AgentAuth, Connector
from .errors import (
    AccessDenied,
    AgentAuthError,
    ApprovalExpired,
    ConnectionNotFound,
    ConnectionRequired,
    GrantRevoked,
    InsufficientScope,
    NetworkError,
    UpstreamUnavailable,
    from_dict,
)
from .models import ApprovalRequest, AuthorizationRequest, Connection, ProviderMetadata, TokenSet, UpstreamToken

__version__ = "0.1.0.dev0"

__all__ = [
    "AgentAuth",
    "AsyncAgentAuth",
    "Connector",
    "AsyncConnector",
    "TokenSet",
    "UpstreamToken",
    "Connection",
    "AuthorizationRequest",
    "ApprovalRequest",
    "ProviderMetadata",
    "AgentAuthError",
    "ConnectionRequired",
    "ConnectionNotFound",
    "GrantRevoked",
    "AccessDenied",
    "InsufficientScope",
    "UpstreamUnavailable",
    "NetworkError",
    "ApprovalExpired",
    "from_dict",
    "__version__",
]
