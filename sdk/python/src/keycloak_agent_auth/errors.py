"""Errors as values: one class per kind of refusal the server gives, each carrying the server's ``error`` code.

Every error is an exception (``raise``/``except``) and a plain value: :meth:`AgentAuthError.to_dict` returns a
JSON-serialisable ``dict`` that crosses agent-framework boundaries unchanged (a tool result, an interrupt value, a
queue message), and :func:`from_dict` turns it back into the same class. The JSON form is the TypeScript SDK's
(``toJSON()`` / ``AgentAuthError.fromJSON()``), so an error crosses between a Python agent and a TypeScript MCP server
unchanged (``sdk/testdata/errors.json`` is read back by both test suites)::

    {"type": "ConnectionRequired", "code": "connection_required", "status": 403, "description": "...",
     "message": "connection_required (HTTP 403): ... (connect at https://...)", "connector": "demo-calendar",
     "connect_uri": "https://..."}

``type``, ``code``, ``status``, ``description`` and ``message`` are always present (``status``/``description`` null
when unknown); ``connector`` + ``connect_uri`` only on ConnectionRequired, ``connector`` + ``connection_id`` only on
ConnectionNotFound (null when unknown). No error ever holds a token: messages are built from the server's
``error``/``error_description`` and from identifiers only.
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
    "ApprovalExpired",
    "from_dict",
    "redact",
]

# A compact JWS/JWT (header.payload[.signature]); anything that looks like one is replaced before it reaches a
# message. The server never puts a token in error_description; this is a second line of defence for upstream text.
_TOKEN_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?")
_SPACE = re.compile(r"\s+")
#: descriptions are bounded to this many characters (as in the TypeScript SDK's ``scrub``)
MAX_DESCRIPTION = 500


def redact(text: str | None, max_length: int = MAX_DESCRIPTION) -> str | None:
    """``text`` with anything shaped like a JWT replaced by ``[redacted]``, whitespace collapsed, and at most
    ``max_length`` characters (cut with ``…``). Idempotent; the TypeScript SDK's ``scrub`` does the same."""
    if text is None:
        return None
    s = _SPACE.sub(" ", _TOKEN_SHAPE.sub("[redacted]", str(text))).strip()
    if len(s) > max_length:
        s = s[: max_length - 1] + "…"
    return s


def _message(code: str, status: int | None, description: str | None, connect_uri: str | None = None) -> str:
    """The human text, the same in both SDKs: ``code (HTTP status): description (connect at uri)``."""
    m = code if status is None else f"{code} (HTTP {status})"
    if description:
        m = f"{m}: {description}"
    if connect_uri:
        m = f"{m} (connect at {connect_uri})"
    return m


class AgentAuthError(Exception):
    """The base of every error of this SDK.

    ``code`` is the server's ``error`` (e.g. ``invalid_request``, ``connection_required``); ``status`` the HTTP status
    (``None`` when no answer came); ``description`` the server's ``error_description``.
    """

    kind = "AgentAuthError"

    def __init__(self, code: str, description: str | None = None, *, status: int | None = None) -> None:
        self.code = code
        self.description = redact(description) or None
        self.status = status if isinstance(status, int) and not isinstance(status, bool) else None
        super().__init__(self._message())

    def _message(self) -> str:
        return _message(self.code, self.status, self.description)

    @property
    def message(self) -> str:
        """The human text (also ``str(error)``): ``code (HTTP status): description``."""
        return self._message()

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-serialisable value: ``{"type", "code", "status", "description", "message", ...}`` (the
        TypeScript SDK's ``toJSON()``)."""
        return {"type": self.kind, "code": self.code, "status": self.status, "description": self.description,
                "message": self.message}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AgentAuthError:
        """The error a ``to_dict()`` (or the TypeScript SDK's ``toJSON()``) value describes (see :func:`from_dict`)."""
        return from_dict(d)

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
        self.connector = connector or None
        self.connect_uri = connect_uri or None
        super().__init__(code, description, status=status)

    def _message(self) -> str:
        return _message(self.code, self.status, self.description, self.connect_uri)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(connector=self.connector, connect_uri=self.connect_uri)
        return d


class ConnectionNotFound(AgentAuthError):
    """The chosen ``connection_id`` is not an active connection of the user on this connector (within the grant)."""

    kind = "ConnectionNotFound"

    def __init__(self, code: str = "connection_not_found", description: str | None = None, *,
                 status: int | None = None, connector: str | None = None, connection_id: str | None = None) -> None:
        self.connector = connector or None
        self.connection_id = connection_id or None
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
    """The server refuses this agent the thing asked for, or the user said no (``access_denied``: a denied login or
    headless approval request; ``unauthorized_client``; or
    ``invalid_target`` "Connector ... is not in the user's delegation grant" / "... is not allowed for agent ..."):
    e.g. a connector that the agent's policy or the user's grant does not include."""

    kind = "AccessDenied"


class InsufficientScope(AgentAuthError):
    """The token does not carry what is needed (``insufficient_scope``), or a requested scope lies outside what the
    user granted (``invalid_scope``)."""

    kind = "InsufficientScope"


class UpstreamUnavailable(AgentAuthError):
    """The connector's upstream API is down, slow or answered garbage, or the server answered that it is unavailable:
    ``upstream_*`` (``upstream_unavailable``, ``upstream_unreachable``, ``upstream_timeout``, ``upstream_refused``,
    ``upstream_response_too_large``), ``temporarily_unavailable``, or any HTTP 502/503/504. Retryable later."""

    kind = "UpstreamUnavailable"


class NetworkError(AgentAuthError):
    """No answer from Keycloak itself (connection refused, DNS, timeout): ``code`` is ``network_error``, ``status``
    None. Retryable; not an UpstreamUnavailable, and never to be confused with a revoked grant."""

    kind = "NetworkError"


class ApprovalExpired(AgentAuthError):
    """The user did not decide on a headless approval request (CIBA, :meth:`AgentAuth.request_approval`) before it
    expired: ``code`` ``expired_token``. Ask again with a new request; waiting on this one cannot succeed."""

    kind = "ApprovalExpired"


_KINDS: dict[str, type[AgentAuthError]] = {
    c.kind: c for c in (AgentAuthError, ConnectionRequired, ConnectionNotFound, GrantRevoked, AccessDenied,
                        InsufficientScope, UpstreamUnavailable, NetworkError, ApprovalExpired)
}


def from_dict(d: Mapping[str, Any]) -> AgentAuthError:
    """The error that :meth:`AgentAuthError.to_dict` (or the TypeScript SDK's ``toJSON()``) described (unknown
    ``type``: the base class). ``message`` is derived again from the other members."""
    cls = _KINDS.get(str(d.get("type")), AgentAuthError)
    status = d.get("status")
    kwargs: dict[str, Any] = {"status": status if isinstance(status, int) and not isinstance(status, bool) else None}
    if cls is ConnectionRequired:
        kwargs.update(connector=d.get("connector"), connect_uri=d.get("connect_uri"))
    elif cls is ConnectionNotFound:
        kwargs.update(connector=d.get("connector"), connection_id=d.get("connection_id"))
    return cls(str(d.get("code") or "error"), d.get("description"), **kwargs)
