"""The synchronous client: thin shells over the flows of ``_core`` driven with ``httpx.Client``."""

from __future__ import annotations

import threading
import time
from typing import Any, Mapping, Sequence, TypeVar

import httpx

from ._core import AgentCore, Call, ConnectorCore, Flow, SubjectToken, log, proxy_path

T = TypeVar("T")
from .errors import NetworkError
from .models import ApprovalRequest, AuthorizationRequest, Connection, ProviderMetadata, TokenSet, UpstreamToken

__all__ = ["AgentAuth", "Connector"]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def _drive(http: httpx.Client, flow: Flow[T]) -> T:
    try:
        op = next(flow)
        while True:
            if isinstance(op, Call):
                try:
                    result: Any = http.request(op.method, op.url, **op.kwargs)
                except httpx.TransportError as e:
                    log.debug("%s: no answer from %s (%s)", op.purpose, op.url.split("?")[0], type(e).__name__)
                    flow.close()
                    raise NetworkError("network_error", f"{op.purpose}: no answer from {op.url.split('?')[0]} "
                                                        f"({type(e).__name__})") from None
            else:
                time.sleep(op.seconds)
                result = None
            op = flow.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


class AgentAuth:
    """An agent of one Keycloak realm: its actor token, delegated exchanges, connector handles, and the host app's
    side of ``requested_actor``. Create it with :meth:`discover`. Usable as a context manager (closes its HTTP
    client unless you passed your own)."""

    def __init__(self, metadata: ProviderMetadata, *, client_id: str, client_secret: str | None = None,
                 private_key: Any = None, key_id: str | None = None, signing_alg: str | None = None,
                 actor_token_type: str | None = None, http_client: httpx.Client | None = None) -> None:
        self._core = AgentCore(metadata, client_id=client_id, client_secret=client_secret, private_key=private_key,
                               key_id=key_id, signing_alg=signing_alg, actor_token_type=actor_token_type)
        self._own_http = http_client is None
        self._lock = threading.Lock()  # one client-credentials request at a time (the others wait for its token)
        self._http = http_client or httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=False)

    @classmethod
    def discover(cls, issuer: str, *, client_id: str, client_secret: str | None = None, private_key: Any = None,
                 key_id: str | None = None, signing_alg: str | None = None, actor_token_type: str | None = None,
                 http_client: httpx.Client | None = None) -> "AgentAuth":
        """Reads ``{issuer}/.well-known/openid-configuration``. Give ``client_secret`` (client-credentials actor
        token, client_secret_post) or ``private_key`` (signed ``actor+jwt`` actor token, private_key_jwt)."""
        http = http_client or httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=False)
        try:
            metadata = _drive(http, AgentCore.discover_flow(issuer))
        except BaseException:
            if http_client is None:
                http.close()
            raise
        agent = cls(metadata, client_id=client_id, client_secret=client_secret, private_key=private_key,
                    key_id=key_id, signing_alg=signing_alg, actor_token_type=actor_token_type, http_client=http)
        agent._own_http = http_client is None
        return agent

    # -- properties

    @property
    def issuer(self) -> str:
        return self._core.issuer

    @property
    def client_id(self) -> str:
        return self._core.client_id

    @property
    def metadata(self) -> ProviderMetadata:
        return self._core.metadata

    def __repr__(self) -> str:
        return f"{type(self).__name__}(issuer={self.issuer!r}, client_id={self.client_id!r})"

    # -- the agent

    def _actor_ready(self) -> None:
        if not self._core.actor_token_ready():
            with self._lock:
                _drive(self._http, self._core.actor_token_flow())

    def actor_token(self) -> str:
        """The agent's actor token: a signed ``actor+jwt`` (fresh each call) or the client-credentials access token
        (cached, renewed 30 s before it expires)."""
        self._actor_ready()
        return _drive(self._http, self._core.actor_token_flow())[0]

    def exchange(self, *, subject_token: SubjectToken, resource: str | Sequence[str] | None = None,
                 audience: str | Sequence[str] | None = None, scope: str | Sequence[str] | None = None,
                 requested_token_type: str | None = None) -> TokenSet:
        """The delegated exchange (RFC 8693 with ``actor_token``): a token for the user with ``act`` = this agent."""
        self._actor_ready()
        return _drive(self._http, self._core.exchange_flow(subject_token, resource=resource, audience=audience,
                                                           scope=scope, requested_token_type=requested_token_type))

    def refresh(self, refresh_token: str, *, scope: str | Sequence[str] | None = None) -> TokenSet:
        """Refreshes a delegated token this agent was issued (``requested_token_type`` refresh token)."""
        return _drive(self._http, self._core.refresh_flow(refresh_token, scope=scope))

    def connector(self, alias: str, *, subject_token: SubjectToken, connection_id: str | None = None) -> "Connector":
        """A handle on connector ``alias`` for the user of ``subject_token`` (optionally one chosen account)."""
        return Connector(self, ConnectorCore(self._core, alias, subject_token, connection_id))

    def connector_uri(self, alias: str) -> str:
        """Connector ``alias``'s resource URI, ``{issuer}/agent-auth/connectors/{alias}``: the ``resource`` of an
        authorization request whose token goes straight to the proxy."""
        return self._core.connector_uri(alias)

    # -- the host app's side of requested_actor

    def authorization_url(self, *, client_id: str, redirect_uri: str, scope: str | Sequence[str] = "openid",
                          resource: str | None = None, requested_actor: str | None = None, state: str | None = None,
                          prompt: str | None = None, extra_params: Mapping[str, str] | None = None
                          ) -> AuthorizationRequest:
        """An authorization request of host app ``client_id`` asking the user to delegate to ``requested_actor``
        (default: this agent), with PKCE S256 and optional ``resource``."""
        return self._core.authorization_request(client_id=client_id, redirect_uri=redirect_uri, scope=scope,
                                                resource=resource, requested_actor=requested_actor, state=state,
                                                prompt=prompt, extra_params=extra_params)

    def parse_callback(self, url: str, *, state: str) -> str:
        """The ``code`` of the redirect back to the host (checks ``state`` and ``iss``; raises the error it carries)."""
        return self._core.parse_callback(url, state=state)

    def redeem_code(self, *, code: str, code_verifier: str, redirect_uri: str, client_id: str,
                    client_secret: str | None = None, resource: str | Sequence[str] | None = None) -> TokenSet:
        """Redeems the code as host app ``client_id`` (its secret; none for a public host), sending this agent's
        actor token: a token for the user with ``act`` = this agent."""
        self._actor_ready()
        return _drive(self._http, self._core.redeem_code_flow(code=code, code_verifier=code_verifier,
                                                              redirect_uri=redirect_uri, client_id=client_id,
                                                              client_secret=client_secret, resource=resource))

    # -- headless approval (CIBA)

    def request_approval(self, *, login_hint: str, scope: str | Sequence[str], binding_message: str,
                         description: str | None = None, resource: str | None = None,
                         max_age: int | None = None) -> ApprovalRequest:
        """Asks user ``login_hint`` to approve this agent without a browser at the agent (OpenID CIBA, poll mode,
        ``requested_actor`` = this agent). The user sees the request on the self-service page
        (``{issuer}/agent-auth/account/``, and by e-mail where the realm sends mail) with ``binding_message`` (1 to 50
        of ``A-Z a-z 0-9 - . _ + / ! ? #``, no spaces) and ``description`` (what the agent wants to do, up to 1000
        characters); ``resource``: one RFC 8707 resource (e.g. a connector's URI); ``max_age``: seconds since the
        user's last sign-in. Then :meth:`wait_for_approval`. Refusals are error values (``invalid_request``,
        ``invalid_binding_message``, ``invalid_target``, ``invalid_authorization_details``, InsufficientScope,
        AccessDenied)."""
        return _drive(self._http, self._core.approval_request_flow(
            login_hint=login_hint, scope=scope, binding_message=binding_message, description=description,
            resource=resource, max_age=max_age))

    def wait_for_approval(self, request: ApprovalRequest, *, timeout: float | None = None) -> TokenSet:
        """Polls the token endpoint (CIBA grant with this agent's actor token: a fresh signed actor JWT per poll, or
        the cached client-credentials token) every ``request.interval`` seconds (5 more after each ``slow_down``)
        until the user decides: the delegated TokenSet (``act`` = this agent). Raises AccessDenied
        (``access_denied``: the user denied), ApprovalExpired (``expired_token``), AgentAuthError
        ``authorization_pending`` when ``timeout`` seconds pass first (the request stays valid: wait again), any other
        refusal as mapped (e.g. ``invalid_grant``: already redeemed)."""
        return _drive(self._http, self._core.wait_for_approval_flow(request, timeout))

    # -- lifecycle

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> "AgentAuth":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Connector:
    """A connector for one user (and optionally one chosen account): calls go through the brokered proxy."""

    def __init__(self, agent: AgentAuth, core: ConnectorCore) -> None:
        self._agent = agent
        self._core = core
        self._lock = threading.Lock()  # one exchange for the connector token at a time (parallel calls share it)

    def _token_ready(self) -> None:
        if not self._core.token_ready():
            with self._lock:
                self._agent._actor_ready()
                _drive(self._agent._http, self._core.token_flow())

    @property
    def alias(self) -> str:
        return self._core.alias

    @property
    def connection_id(self) -> str | None:
        return self._core.connection_id

    @property
    def uri(self) -> str:
        """The connector's resource URI (``{issuer}/agent-auth/connectors/{alias}``)."""
        return self._core.uri

    @property
    def connect_uri(self) -> str:
        """Where the user links an account on this connector (the page names this agent)."""
        return self._core.connect_uri

    def __repr__(self) -> str:
        return repr(self._core)

    def with_connection(self, connection_id: str | None) -> "Connector":
        """The same handle for another chosen account (shares nothing but the agent)."""
        return self._agent.connector(self.alias, subject_token=self._core.subject_token, connection_id=connection_id)

    def token(self) -> TokenSet:
        """The connector-resource token (cached until 30 s before it expires)."""
        self._token_ready()
        return _drive(self._agent._http, self._core.token_flow())

    def request(self, method: str, path: str, **httpx_kwargs: Any) -> httpx.Response:
        """``method`` ``{connector}/proxy/{path}``. Returns the upstream's answer (any status); raises the proxy's own
        refusals as errors (``ConnectionRequired``, ``GrantRevoked``, ...)."""
        proxy_path(path)  # refused before any token is asked for
        self._token_ready()
        return _drive(self._agent._http, self._core.request_flow(method, path, httpx_kwargs))

    def get(self, path: str, **httpx_kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **httpx_kwargs)

    def post(self, path: str, **httpx_kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **httpx_kwargs)

    def connection(self) -> Connection:
        """The account a call would use now, from the connection-status endpoint (no upstream call)."""
        self._token_ready()
        return _drive(self._agent._http, self._core.connection_flow())

    def wait_for_connection(self, timeout: float = 300.0, interval: float = 2.0) -> Connection:
        """Polls :meth:`connection` until the user has connected an account; raises the last ``ConnectionRequired``
        after ``timeout`` seconds."""
        self._token_ready()
        return _drive(self._agent._http, self._core.wait_flow(timeout, interval))

    def upstream_token(self) -> UpstreamToken:
        """The vault exchange: an upstream access token (``proxy_exchange`` connectors only)."""
        self._token_ready()
        return _drive(self._agent._http, self._core.upstream_token_flow())
