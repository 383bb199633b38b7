"""The MCP-server helper: an agent that is an MCP server (official MCP Python SDK, ``mcp`` 1.x, FastMCP).

Install with the ``mcp`` extra: ``pip install "keycloak-agent-auth[mcp]"``.

What it does (DESIGN sections 9 and 10):

* :class:`KeycloakTokenVerifier` is the SDK's ``TokenVerifier``: it accepts a bearer token only if its signature
  verifies against the realm's JWKS, ``iss`` is the realm, ``exp`` has not passed, it is an access token and
  ``aud`` contains the MCP server's resource URI (RFC 8707). A token for another resource is refused (HTTP 401).
* :class:`McpAgentAuth` puts it together with FastMCP's ``AuthSettings`` (RFC 9728 protected resource metadata
  listing ``delegation:client:<agent>``, so an MCP client's ordinary login brings the user to the agent consent
  screen), gives a tool the caller's token, exchanges it for the user (``AsyncAgentAuth.exchange`` /
  ``.connector``), and with :meth:`McpAgentAuth.tool` turns ``ConnectionRequired`` into MCP URL-mode
  elicitation (MCP 2025-11-25) for clients that declared ``elicitation.url`` (by default the -32042
  ``URLElicitationRequiredError``; ``elicitation="request"`` for an in-band ``elicitation/create`` that waits), else
  into a tool error (``isError: true``) whose text carries the connect link. Tool errors carry the error's
  ``to_dict()``, the same JSON as the TypeScript helper's (``keycloak-agent-auth/mcp``).

Example::

    agent = await AsyncAgentAuth.discover(issuer=ISSUER, client_id="calendar-agent", client_secret="...")
    auth = McpAgentAuth(agent, resource="http://localhost:3000/mcp")
    mcp = FastMCP("calendar", **auth.fastmcp_settings())

    @mcp.tool()
    @auth.tool
    async def calendar_profile() -> dict:
        return (await auth.connector("demo-calendar").get("userinfo")).json()
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import time
import uuid
from urllib.parse import quote
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

try:
    from mcp.server.auth.middleware.auth_context import get_access_token
    from mcp.server.auth.provider import AccessToken, TokenVerifier
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.lowlevel.server import request_ctx
    from mcp.shared.exceptions import McpError, UrlElicitationRequiredError
    from mcp.types import CallToolResult, ElicitRequestURLParams, TextContent
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'keycloak_agent_auth.mcp needs the MCP Python SDK: pip install "keycloak-agent-auth[mcp]"'
    ) from e
from pydantic import Field

from keycloak_agent_auth.errors import AgentAuthError, ConnectionRequired

__all__ = [
    "McpAgentAuth",
    "CallerToken",
    "KeycloakTokenVerifier",
    "KeysUnavailable",
    "connection_required_result",
    "trusted_connect_uri",
    "error_result",
]

log = logging.getLogger("keycloak_agent_auth.mcp")

ACCESS_TOKEN_TYPES = ("Bearer",)
DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class CallerToken(AccessToken):
    """The MCP SDK's ``AccessToken`` for a verified Keycloak token; the raw token never shows in ``repr``."""

    token: str = Field(repr=False)
    claims: dict[str, Any] | None = Field(default=None, repr=False)

    def __str__(self) -> str:
        return f"CallerToken(subject={self.subject!r}, client_id={self.client_id!r}, resource={self.resource!r})"


class KeysUnavailable(RuntimeError):
    """The realm's discovery document or JWKS could not be read."""


class KeycloakTokenVerifier(TokenVerifier):
    """Verifies a bearer token for one resource URI against the realm's JWKS (joserfc).

    ``issuer`` is the realm's issuer (``http://host/realms/<realm>``); ``jwks_uri`` defaults to the one in
    ``{issuer}/.well-known/openid-configuration``. Keys are cached; a token signed with an unknown ``kid``
    refreshes them, at most once per ``min_refresh_interval`` seconds.
    """

    def __init__(
        self,
        issuer: str,
        resource: str,
        *,
        jwks_uri: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS,
        leeway: int = 30,
        min_refresh_interval: float = 10.0,
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.resource = resource
        self._jwks_uri = jwks_uri
        self._http = http_client
        self._algorithms = list(algorithms)
        self._leeway = leeway
        self._min_refresh = min_refresh_interval
        self._timeout = timeout
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"KeycloakTokenVerifier(issuer={self.issuer!r}, resource={self.resource!r})"

    async def _get(self, url: str) -> dict[str, Any]:
        if self._http is not None:
            res = await self._http.get(url, timeout=self._timeout)
        else:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                res = await client.get(url)
        res.raise_for_status()
        body = res.json()
        if not isinstance(body, dict):
            raise ValueError(f"{url}: not a JSON object")
        return body

    async def _key_set(self, refresh: bool = False) -> KeySet:
        try:
            return await self._fetch_key_set(refresh)
        except (httpx.HTTPError, ValueError, KeyError) as e:
            raise KeysUnavailable(f"cannot read the realm's keys ({type(e).__name__})") from None

    async def _fetch_key_set(self, refresh: bool) -> KeySet:
        async with self._lock:
            if self._keys is not None and not refresh:
                return self._keys
            if self._keys is not None and time.monotonic() - self._fetched_at < self._min_refresh:
                return self._keys
            if self._jwks_uri is None:
                meta = await self._get(f"{self.issuer}/.well-known/openid-configuration")
                if meta.get("issuer") != self.issuer:
                    raise ValueError(f"discovery names issuer {meta.get('issuer')!r}, expected {self.issuer!r}")
                self._jwks_uri = meta["jwks_uri"]
            jwks = await self._get(self._jwks_uri)
            # only signature keys: Keycloak also publishes its encryption key (use=enc)
            keys = [k for k in jwks.get("keys", []) if k.get("use", "sig") == "sig"]
            self._keys = KeySet.import_key_set({"keys": keys})
            self._fetched_at = time.monotonic()
            return self._keys

    def _claims_registry(self) -> jwt.JWTClaimsRegistry:
        return jwt.JWTClaimsRegistry(
            leeway=self._leeway,
            iss={"essential": True, "value": self.issuer},
            exp={"essential": True},
            sub={"essential": True},
            aud={"essential": True, "value": self.resource},
        )

    async def verify_claims(self, token: str) -> dict[str, Any] | None:
        """The verified claims of ``token``, or ``None`` when it is not a valid access token for this resource.

        Raises :class:`KeysUnavailable` when the realm's keys cannot be read (FastMCP answers 500, not a 401 that
        would send the client to log in again for a token that may well be valid)."""
        keys = await self._key_set()
        try:
            try:
                decoded = jwt.decode(token, keys, algorithms=self._algorithms)
            except InvalidKeyIdError:
                # signed with a key published since the last fetch (rotation): read the keys again, once
                decoded = jwt.decode(token, await self._key_set(refresh=True), algorithms=self._algorithms)
            claims = decoded.claims
            self._claims_registry().validate(claims)
        except (ValueError, JoseError) as e:
            log.info("bearer token refused: %s", type(e).__name__)
            return None
        typ = claims.get("typ")
        if typ is not None and typ not in ACCESS_TOKEN_TYPES:
            log.info("bearer token refused: typ %r is not an access token", typ)
            return None
        return claims

    async def verify_token(self, token: str) -> AccessToken | None:
        claims = await self.verify_claims(token)
        if claims is None:
            return None
        scope = claims.get("scope")
        return CallerToken(
            token=token,
            client_id=str(claims.get("azp") or claims.get("client_id") or ""),
            scopes=scope.split() if isinstance(scope, str) else [],
            expires_at=int(claims["exp"]),
            resource=self.resource,
            subject=str(claims["sub"]),
            claims=claims,
        )


def error_result(error: AgentAuthError | dict[str, Any], instructions: str | None = None) -> CallToolResult:
    """A tool error (``isError: true``) whose text is the error's JSON (``to_dict()``, the TypeScript SDK's
    ``toJSON()``) plus ``instructions`` for the user and the model (as the TypeScript helper's tool errors)."""
    body = dict(error.to_dict() if isinstance(error, AgentAuthError) else error)
    if instructions:
        body["instructions"] = instructions
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(body))], isError=True)


def trusted_connect_uri(err: ConnectionRequired, issuer: str) -> str | None:
    """The error's connect link if it is the connector's own connect endpoint on the realm
    (``{issuer}/agent-auth/connectors/{alias}/connect``, same origin, no user info or fragment), else ``None``:
    the link is shown to a user, so it must lead where the realm says it does."""
    if not err.connect_uri or not err.connector:
        return None
    try:
        got = httpx.URL(err.connect_uri)
        expected = httpx.URL(f"{issuer.rstrip('/')}/agent-auth/connectors/{quote(err.connector, safe='')}/connect")
    except (httpx.InvalidURL, TypeError):
        return None
    if (got.scheme, got.host, got.port, got.raw_path.split(b"?")[0]) != (
        expected.scheme, expected.host, expected.port, expected.raw_path
    ) or got.userinfo or got.fragment:
        return None
    return err.connect_uri


def _connect_message(err: ConnectionRequired) -> str:
    if not err.connect_uri:
        return f"No {err.connector} account is connected for this user yet; the server gave no connect link."
    return (
        f"No {err.connector} account is connected for this user yet (or it must be connected again). "
        f"Ask the user to open {err.connect_uri} in a browser, sign in and connect their account, "
        f"then call this tool again."
    )


def connection_required_result(err: ConnectionRequired) -> CallToolResult:
    """The tool error for a client without URL elicitation: the text carries the connect link."""
    return error_result(err, _connect_message(err))


def _client_supports_url_elicitation() -> bool:
    try:
        ctx = request_ctx.get()
    except LookupError:
        return False
    params = getattr(ctx.session, "client_params", None)
    caps = getattr(params, "capabilities", None)
    elicitation = getattr(caps, "elicitation", None)
    return elicitation is not None and getattr(elicitation, "url", None) is not None


class McpAgentAuth:
    """The agent's side of an MCP server protected by Keycloak.

    ``agent`` is an ``AsyncAgentAuth``. ``resource`` is this MCP server's URL, one of the agent's
    ``agent_auth.resource_uris``. ``scopes`` are the scopes a caller's token must carry, listed as
    ``scopes_supported`` in the protected resource metadata (default ``["delegation:client:<agent>"]``: an MCP
    client asks for it, so the user's login shows the agent consent screen and records the grant the exchange
    needs; FastMCP answers ``403 insufficient_scope`` to a token without it). ``scopes=[]`` requires none.

    ``elicitation`` chooses how a ``ConnectionRequired`` reaches a client that declared ``elicitation.url`` (the
    TypeScript helper's ``elicitation`` option, with the same default):

    * ``"error"`` (default): the call fails with ``URLElicitationRequiredError`` (JSON-RPC error -32042) carrying the
      link; the client opens it and calls the tool again (the server sends ``notifications/elicitation/complete`` once
      the user has connected, waiting in the background up to ``connect_timeout`` seconds). Nothing is held open
      while the user is away, and any client that declared ``elicitation.url`` understands it;
    * ``"request"``: the tool sends ``elicitation/create`` (``mode: "url"``, the connect link) and, once
      the user accepts, waits (up to ``connect_timeout`` seconds, polling the connection status endpoint, no
      upstream call) until the account is connected, sends ``notifications/elicitation/complete`` and runs the tool
      again, so the same ``tools/call`` returns the result (with progress notifications every
      ``progress_interval`` seconds while it waits, when the client sent a ``progressToken``). It needs a stateful
      session (a server that can send requests to the client); otherwise the default answer applies.

    ``connect_timeout`` (seconds, default 600) is the TypeScript helper's ``connectTimeoutMs``.

    The link is passed on only if it is the connector's own connect endpoint on the realm (see
    :func:`trusted_connect_uri`); otherwise the tool error says the server gave no usable link.

    A client without ``elicitation.url`` gets a tool error (``isError: true``) whose text carries the link.
    """

    def __init__(
        self,
        agent: Any,
        *,
        resource: str,
        issuer: str | None = None,
        scopes: list[str] | None = None,
        elicitation: Literal["error", "request"] = "error",
        connect_timeout: float = 600.0,
        progress_interval: float = 10.0,
        verifier: KeycloakTokenVerifier | None = None,
    ) -> None:
        if elicitation not in ("request", "error"):
            raise ValueError("elicitation must be 'error' or 'request'")
        self.agent = agent
        self.resource = resource
        self.issuer = (issuer or _agent_issuer(agent)).rstrip("/")
        client_id = _agent_client_id(agent)
        self.client_id = client_id
        self.scopes = list(scopes) if scopes is not None else [f"delegation:client:{client_id}"]
        self.elicitation = elicitation
        self.connect_timeout = connect_timeout
        self.progress_interval = progress_interval
        self._background: set[asyncio.Task[None]] = set()
        self.token_verifier = verifier or KeycloakTokenVerifier(self.issuer, resource)

    def __repr__(self) -> str:
        return f"McpAgentAuth(resource={self.resource!r}, issuer={self.issuer!r})"

    # ---- FastMCP wiring

    def auth_settings(self, **overrides: Any) -> AuthSettings:
        """FastMCP ``AuthSettings``: this server as an OAuth resource server (RFC 9728 metadata) of the realm."""
        values: dict[str, Any] = {
            "issuer_url": self.issuer,
            "resource_server_url": self.resource,
            "required_scopes": self.scopes or None,
            "validate_token_resource": True,
        }
        values.update(overrides)
        return AuthSettings(**values)

    def fastmcp_settings(self, **overrides: Any) -> dict[str, Any]:
        """``FastMCP(name, **auth.fastmcp_settings())``: the token verifier and the auth settings."""
        return {"token_verifier": self.token_verifier, "auth": self.auth_settings(**overrides)}

    # ---- inside a tool

    def caller(self) -> CallerToken:
        """The verified token of the current MCP request (raises ``LookupError`` outside an authenticated request)."""
        token = get_access_token()
        if token is None:
            raise LookupError("no authenticated MCP request in this context")
        if isinstance(token, CallerToken):
            return token
        return CallerToken(**token.model_dump())

    async def exchange(self, **kwargs: Any) -> Any:
        """The RFC 8693 exchange of the caller's token for the user (``AsyncAgentAuth.exchange``): a token with
        ``act``."""
        return await self.agent.exchange(subject_token=self.caller().token, **kwargs)

    def connector(self, alias: str, connection_id: str | None = None) -> Any:
        """A connector handle for the caller (``AsyncAgentAuth.connector``): calls go through the proxy."""
        return self.agent.connector(alias, subject_token=self.caller().token, connection_id=connection_id)

    # ---- ConnectionRequired -> URL elicitation or a tool error

    def tool(self, fn: F) -> F:
        """Decorate a FastMCP tool (put it under ``@mcp.tool()``): agent errors become MCP answers.

        ``ConnectionRequired``: URL elicitation for clients that declared it (see the class doc), else a tool
        error carrying the link. Any other ``AgentAuthError`` (``GrantRevoked``, ``AccessDenied``, ...): a tool
        error with its ``to_dict()`` JSON.
        """
        if not inspect.iscoroutinefunction(fn):
            raise TypeError("McpAgentAuth.tool wraps async tool functions")

        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            except ConnectionRequired as err:
                return await self.handle_connection_required(err, lambda: fn(*args, **kwargs))
            except AgentAuthError as err:
                return error_result(err)

        # The tool answers either its own value or a CallToolResult error, so it declares no output schema:
        # FastMCP would otherwise validate an error result against the success type. A dict result is sent as
        # JSON text.
        sig = inspect.signature(fn, eval_str=True)
        wrapper.__signature__ = sig.replace(return_annotation=inspect.Signature.empty)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {k: v for k, v in getattr(fn, "__annotations__", {}).items() if k != "return"}
        return wrapper  # type: ignore[return-value]

    async def handle_connection_required(
        self, err: ConnectionRequired, retry: Callable[[], Awaitable[Any]] | None = None
    ) -> Any:
        """What :meth:`tool` does with a ``ConnectionRequired`` (usable from a hand-written tool too)."""
        if trusted_connect_uri(err, self.issuer) is None:
            log.warning("connect link of connector %r dropped: not the realm's connect endpoint", err.connector)
            err = ConnectionRequired(err.code, err.description, status=err.status, connector=err.connector)
            return connection_required_result(err)
        if not _client_supports_url_elicitation():
            return connection_required_result(err)
        elicitation_id = str(uuid.uuid4())
        message = f"Connect your {err.connector} account so that {self.client_id} can act for you there."
        if self.elicitation == "error" or retry is None:
            self._notify_when_connected(request_ctx.get().session, elicitation_id, err)
            raise UrlElicitationRequiredError(
                [ElicitRequestURLParams(
                    mode="url", message=message, url=err.connect_uri, elicitationId=elicitation_id
                )],
                message=_connect_message(err),
            )
        ctx = request_ctx.get()
        try:
            answer = await ctx.session.elicit_url(
                message=message, url=err.connect_uri, elicitation_id=elicitation_id, related_request_id=ctx.request_id
            )
        except McpError as e:  # e.g. a stateless server cannot send requests to the client: the link as text
            log.info("URL elicitation failed: %s", type(e).__name__)
            return connection_required_result(err)
        if answer.action != "accept":
            return error_result(err, f"The user did not connect ({answer.action}). " + _connect_message(err))
        try:
            await self._wait_with_progress(err, ctx)
        except ConnectionRequired as still:
            return error_result(still, "The account was not connected in time. " + _connect_message(still))
        except AgentAuthError as other:
            return error_result(other)
        try:
            await ctx.session.send_elicit_complete(elicitation_id, related_request_id=ctx.request_id)
        except Exception as e:  # the notification is advisory; the result below is what counts
            log.info("could not send elicitation/complete: %s", type(e).__name__)
        try:
            return await retry()
        except ConnectionRequired as again:
            return connection_required_result(again)
        except AgentAuthError as other:
            return error_result(other)

    def _notify_when_connected(self, session: Any, elicitation_id: str, err: ConnectionRequired) -> None:
        """After a -32042 answer: wait in the background (up to ``connect_timeout``, polling the connection status)
        and send ``notifications/elicitation/complete`` once the user has connected, so the client may retry."""
        handle = self.agent.connector(err.connector, subject_token=self.caller().token)

        async def run() -> None:
            try:
                await handle.wait_for_connection(timeout=self.connect_timeout)
                await session.send_elicit_complete(elicitation_id)
            except AgentAuthError as e:
                log.info("no elicitation/complete for %s: %s", err.connector, e.code)
            except Exception as e:  # the session may be gone: nothing to tell
                log.info("no elicitation/complete for %s: %s", err.connector, type(e).__name__)

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _wait_with_progress(self, err: ConnectionRequired, ctx: Any) -> None:
        """Waits for the connection; meanwhile, when the client asked for progress (a ``progressToken``), sends a
        progress notification every ``progress_interval`` seconds (clients that reset their request timeout on
        progress then keep waiting for the user)."""
        token = getattr(ctx.meta, "progressToken", None) if ctx.meta is not None else None
        waiter = asyncio.ensure_future(self._wait_for_connection(err))
        try:
            beat = 0
            while token is not None and not waiter.done():
                done, _ = await asyncio.wait({waiter}, timeout=self.progress_interval)
                if not done:
                    beat += 1
                    await ctx.session.send_progress_notification(
                        token, progress=beat, message=f"Waiting for the user to connect a {err.connector} account",
                        related_request_id=ctx.request_id,
                    )
            await waiter
        finally:
            if not waiter.done():
                waiter.cancel()

    async def _wait_for_connection(self, err: ConnectionRequired) -> None:
        handle = self.agent.connector(
            err.connector, subject_token=self.caller().token, connection_id=getattr(err, "connection_id", None)
        )
        await handle.wait_for_connection(timeout=self.connect_timeout)


def _agent_issuer(agent: Any) -> str:
    for name in ("issuer",):
        value = getattr(agent, name, None)
        if isinstance(value, str):
            return value
    meta = getattr(agent, "metadata", None)
    if isinstance(meta, dict) and isinstance(meta.get("issuer"), str):
        return meta["issuer"]
    raise ValueError("pass issuer=: the agent does not tell its issuer")


def _agent_client_id(agent: Any) -> str:
    value = getattr(agent, "client_id", None)
    if isinstance(value, str):
        return value
    raise ValueError("pass scopes=: the agent does not tell its client_id")
