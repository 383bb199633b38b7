"""Values the SDK returns. None of them prints a token: ``repr``/``str`` show claims and identifiers only."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

__all__ = ["TokenSet", "UpstreamToken", "Connection", "AuthorizationRequest", "ApprovalRequest", "ProviderMetadata"]


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


@dataclass(frozen=True, repr=False)
class TokenSet:
    """What the token endpoint issued, with the access token's verified claims.

    ``access_token`` (and ``refresh_token``) are the only secrets; ``repr``/``str`` redact them. ``scope`` and
    ``aud`` are lists; ``act`` is the delegation chain (``{"sub", "client_id", "iss", "act"?}``) or ``None``.
    """

    access_token: str
    expires_at: datetime
    scope: list[str]
    aud: list[str]
    act: dict[str, Any] | None
    claims: dict[str, Any]
    token_type: str = "Bearer"
    refresh_token: str | None = None
    issued_token_type: str | None = None

    @property
    def subject(self) -> str | None:
        """The user (``sub``)."""
        return self.claims.get("sub")

    @property
    def actor(self) -> str | None:
        """The acting agent's client_id (``act.client_id``), or ``None`` for a token without ``act``."""
        return (self.act or {}).get("client_id")

    @property
    def actor_chain(self) -> list[str]:
        """The chain's client_ids, the current actor first (``["research-agent", "calendar-agent"]``)."""
        out: list[str] = []
        a = self.act
        while isinstance(a, Mapping):
            out.append(str(a.get("client_id") or a.get("sub")))
            a = a.get("act")
        return out

    def expires_within(self, seconds: float) -> bool:
        """True when the access token expires within ``seconds`` from now (or already has)."""
        return self.expires_at.timestamp() - seconds <= time.time()

    def to_dict(self) -> dict[str, Any]:
        """The claims-level view, JSON-serialisable, without any token."""
        return {
            "sub": self.subject,
            "expires_at": self.expires_at.isoformat(),
            "scope": list(self.scope),
            "aud": list(self.aud),
            "act": self.act,
            "token_type": self.token_type,
            "has_refresh_token": self.refresh_token is not None,
        }

    def __repr__(self) -> str:
        return (f"TokenSet(access_token='[redacted]', sub={self.subject!r}, act={self.actor_chain!r}, "
                f"scope={self.scope!r}, aud={self.aud!r}, expires_at={self.expires_at.isoformat()!r}, "
                f"refresh_token={'[redacted]' if self.refresh_token else None!r})")

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class UpstreamToken:
    """An upstream access token from the vault exchange (``proxy_exchange`` connectors only)."""

    access_token: str
    connection_id: str | None
    expires_at: datetime | None
    token_type: str = "Bearer"

    def __repr__(self) -> str:
        exp = self.expires_at.isoformat() if self.expires_at else None
        return f"UpstreamToken(access_token='[redacted]', connection_id={self.connection_id!r}, expires_at={exp!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class Connection:
    """The account a brokered call would use now (the connection-status endpoint's answer)."""

    connector: str
    connection_id: str
    account: str | None
    status: str
    scopes: list[str] = field(default_factory=list)
    delivery_mode: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "Connection":
        return cls(connector=str(body.get("connector")), connection_id=str(body.get("connection_id")),
                   account=body.get("account"), status=str(body.get("status")),
                   scopes=[str(s) for s in body.get("scopes") or []], delivery_mode=body.get("delivery_mode"))

    def to_dict(self) -> dict[str, Any]:
        return {"connector": self.connector, "connection_id": self.connection_id, "account": self.account,
                "status": self.status, "scopes": list(self.scopes), "delivery_mode": self.delivery_mode}


@dataclass(frozen=True, repr=False)
class AuthorizationRequest:
    """A ``requested_actor`` authorization request: send the user to ``url``; keep ``state`` and ``code_verifier``
    (server-side, e.g. in the host app's session) for :meth:`AgentAuth.redeem_code`."""

    url: str
    state: str
    code_verifier: str
    redirect_uri: str
    client_id: str

    def __repr__(self) -> str:
        return (f"AuthorizationRequest(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r}, "
                f"code_verifier='[redacted]')")

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class ApprovalRequest:
    """A pending headless approval request (CIBA, :meth:`AgentAuth.request_approval`): show ``binding_message`` where
    the agent runs, then :meth:`AgentAuth.wait_for_approval`. ``auth_req_id`` redeems the user's approval together
    with the agent's actor token: keep it like a token; ``repr``/``str``/``to_dict`` never show it. ``interval`` is
    the seconds to wait between polls; ``expires_at`` when the server forgets the request."""

    auth_req_id: str
    expires_at: datetime
    interval: float
    login_hint: str | None = None
    binding_message: str | None = None

    def expired(self) -> bool:
        """True when the request has expired."""
        return self.expires_at.timestamp() <= time.time()

    def to_dict(self) -> dict[str, Any]:
        """Everything but the auth_req_id, JSON-serialisable."""
        return {"expires_at": self.expires_at.isoformat(), "interval": self.interval, "login_hint": self.login_hint,
                "binding_message": self.binding_message}

    def __repr__(self) -> str:
        return (f"ApprovalRequest(auth_req_id='[redacted]', login_hint={self.login_hint!r}, "
                f"binding_message={self.binding_message!r}, expires_at={self.expires_at.isoformat()!r}, "
                f"interval={self.interval!r})")

    __str__ = __repr__


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of ``{issuer}/.well-known/openid-configuration`` the SDK uses."""

    issuer: str
    token_endpoint: str
    authorization_endpoint: str
    jwks_uri: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: CIBA (headless approval); None when the realm names none
    backchannel_authentication_endpoint: str | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "ProviderMetadata":
        missing = [k for k in ("issuer", "token_endpoint", "authorization_endpoint", "jwks_uri") if not body.get(k)]
        if missing:
            raise ValueError("the discovery document lacks " + ", ".join(missing))
        return cls(issuer=str(body["issuer"]), token_endpoint=str(body["token_endpoint"]),
                   authorization_endpoint=str(body["authorization_endpoint"]), jwks_uri=str(body["jwks_uri"]),
                   raw=dict(body),
                   backchannel_authentication_endpoint=str(body["backchannel_authentication_endpoint"])
                   if body.get("backchannel_authentication_endpoint") else None)
