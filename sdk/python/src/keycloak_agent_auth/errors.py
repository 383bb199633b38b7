"""Errors as values: one class per kind of refusal the server gives, each carrying the server's ``error`` code.

Every error is an exception (``raise``/``except``) and a plain value: :meth:`AgentAuthError.to_dict` returns a
JSON-serialisable ``dict`` that crosses agent-framework boundaries unchanged (a tool result, an interrupt value, a
queue message), and :func:`from_dict` turns it back into the same class. No error ever holds a token: messages are
built from the server's ``error``/``error_description`` and from identifiers only.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

__all__ = [
    "AgentAuthError",
    "ConnectionRequired",
    "ConnectionNotFound",
    "GrantRevoked",
    "AccessDenied",
    "InsufficientScope",
    "UpstreamUnavailable",
    "NetworkError",
    "from_dict",
    "redact",
]

# A compact JWS/JWT (header.payload[.signature]); anything that looks like one is replaced before it reaches a
# message. The server never puts a token in error_description; this is a second line of defence for upstream text.
_TOKEN_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?")


def redact(text: str | None) -> str | None:
    """``text`` with anything shaped like a JWT replaced by ``[redacted]``."""
    if text is None:
        return None
    return _TOKEN_SHAPE.sub("[redacted]", text)


class AgentAuthError(Exception):
    """The base of every error of this SDK.

    ``code`` is the server's ``error`` (e.g. ``invalid_request``, ``connection_required``); ``status`` the HTTP status
    (``None`` when no answer came); ``description`` the server's ``error_description``.
    """

    kind = "AgentAuthError"

    def __init__(self, code: str, description: str | None = None, *, status: int | None = None) -> None:
        self.code = code
        self.description = redact(description)
        self.status = status
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"{self.code}" if self.status is None else f"{self.code} (HTTP {self.status})"
        return f"{head}: {self.description}" if self.description else head

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-serialisable value: ``{"type", "code", "status", "description", ...}``."""
        return {"type": self.kind, "code": self.code, "status": self.status, "description": self.description}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, description={self.description!r})"

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:  # pickling (e.g. across processes) keeps the class and fields
        return (from_dict, (self.to_dict(),))


class ConnectionRequired(AgentAuthError):
    """The user has no usable account on ``connector``: send them to ``connect_uri`` (absolute), then retry
    (``Connector.wait_for_connection`` returns once they have connected)."""

    kind = "ConnectionRequired"

    def __init__(self, code: str = "connection_required", description: str | None = None, *, status: int | None = None,
                 connector: str | None = None, connect_uri: str | None = None) -> None:
        self.connector = connector
        self.connect_uri = connect_uri
        super().__init__(code, description, status=status)

    def _message(self) -> str:
        base = super()._message()
        return f"{base} (connect at {self.connect_uri})" if self.connect_uri else base

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(connector=self.connector, connect_uri=self.connect_uri)
        return d


class ConnectionNotFound(AgentAuthError):
    """The chosen ``connection_id`` is not an active connection of the user on this connector (within the grant)."""

    kind = "ConnectionNotFound"

    def __init__(self, code: str = "connection_not_found", description: str | None = None, *,
                 status: int | None = None, connector: str | None = None, connection_id: str | None = None) -> None:
        self.connector = connector
        self.connection_id = connection_id
        super().__init__(code, description, status=status)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(connector=self.connector, connection_id=self.connection_id)
        return d


class GrantRevoked(AgentAuthError):
    """The user's delegation grant behind the token is gone (revoked, expired, or never given): the agent cannot act
    for this user any more until the user consents again. Not retryable."""

    kind = "GrantRevoked"


class AccessDenied(AgentAuthError):
    """The server refuses this agent the thing asked for (``access_denied``, ``unauthorized_client``): e.g. a
    connector that the agent's policy or the user's grant does not include."""

    kind = "AccessDenied"


class InsufficientScope(AgentAuthError):
    """The token does not carry what is needed (``insufficient_scope``), or a requested scope lies outside what the
    user granted (``invalid_scope``)."""

    kind = "InsufficientScope"


class UpstreamUnavailable(AgentAuthError):
    """The connector's upstream API is down, slow or answered garbage (502/503/504 from the proxy or the vault
    exchange: ``upstream_unavailable``, ``upstream_unreachable``, ``upstream_timeout``, ``upstream_refused``,
    ``upstream_response_too_large``, ``temporarily_unavailable``). Retryable later."""

    kind = "UpstreamUnavailable"


class NetworkError(AgentAuthError):
    """No answer from Keycloak itself (connection refused, timeout): ``code`` is ``network_error``, ``status`` None.
    Retryable; never to be confused with a revoked grant."""

    kind = "NetworkError"


_KINDS: dict[str, type[AgentAuthError]] = {
    c.kind: c for c in (AgentAuthError, ConnectionRequired, ConnectionNotFound, GrantRevoked, AccessDenied,
                        InsufficientScope, UpstreamUnavailable, NetworkError)
}


def from_dict(d: Mapping[str, Any]) -> AgentAuthError:
    """The error that :meth:`AgentAuthError.to_dict` described (unknown ``type``: the base class)."""
    cls = _KINDS.get(str(d.get("type")), AgentAuthError)
    kwargs: dict[str, Any] = {"status": d.get("status")}
    if cls is ConnectionRequired:
        kwargs.update(connector=d.get("connector"), connect_uri=d.get("connect_uri"))
    elif cls is ConnectionNotFound:
        kwargs.update(connector=d.get("connector"), connection_id=d.get("connection_id"))
    return cls(str(d.get("code") or "error"), d.get("description"), **kwargs)
