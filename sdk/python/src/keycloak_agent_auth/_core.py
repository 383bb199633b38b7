"""The protocol, without I/O.

Every operation is a generator ("flow") that yields what it needs done -- a :class:`Call` (an HTTP request) or a
:class:`Sleep` -- and receives the ``httpx.Response`` (or ``None``) back; its return value is the result. The sync
client drives flows with ``httpx.Client`` and ``time.sleep``, the async client with ``httpx.AsyncClient`` and
``asyncio.sleep``; the protocol logic (requests, caching, response and error mapping) exists once, here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Generator, Mapping, Sequence, TypeVar, Union
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
from joserfc import jws, jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey, import_key
from joserfc.util import urlsafe_b64encode

from .errors import (
    AccessDenied,
    AgentAuthError,
    ApprovalExpired,
    ConnectionNotFound,
    ConnectionRequired,
    GrantRevoked,
    InsufficientScope,
    UpstreamUnavailable,
)
from .models import (
    ApprovalRequest,
    AuthorizationRequest,
    Connection,
    ProviderMetadata,
    TokenSet,
    UpstreamToken,
    _utc,
)

log = logging.getLogger("keycloak_agent_auth")

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: the CIBA token grant (OpenID CIBA Core section 10.1)
CIBA_GRANT = "urn:openid:params:grant-type:ciba"
#: seconds between polls when the backchannel answer names no interval (CIBA Core section 7.3)
DEFAULT_INTERVAL = 5.0
#: seconds added to the poll interval on each ``slow_down`` (RFC 8628 section 3.5, which CIBA Core 11 refers to)
SLOW_DOWN = 5.0
CONNECTION_HEADER = "X-Connection-Id"

#: renew cached tokens this many seconds before they expire
RENEW_BEFORE = 30.0
#: lifetime of a signed actor JWT and of a client assertion (the server accepts at most 300 s for an actor JWT)
ASSERTION_LIFETIME = 120
#: algorithms accepted on tokens the server issues (Keycloak's asymmetric ones)
VERIFY_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]

#: codes of an unavailable upstream or server besides ``upstream_*`` (any status)
UNAVAILABLE_CODES = frozenset({"temporarily_unavailable"})
# What the server says when the grant behind a token is gone (revoked, expired), or the user never gave one. The code
# alone does not tell (invalid_request/invalid_token/invalid_grant also mean other things), so the server's
# error_description decides (the same patterns as the TypeScript SDK's GRANT_GONE); tests/e2e/test_3_revoke.py
# asserts each against the real server:
GRANT_GONE = tuple(re.compile(p, re.IGNORECASE) for p in (
    # delegated exchange: 400 invalid_request (no active grant for user, agent, host)
    r"no active delegation grant",
    # exchange (chain hop) or refresh of a token bound to a grant that ended; /userinfo
    r"delegation grant .* is no longer active",
    r"delegation grant this token was issued under",
    # proxy and connection status: 401 invalid_token; vault exchange: 400 invalid_request
    r"the delegation is no longer valid",
    # chain hop: the user never consented to the next agent
    r"has not consented to agent",
    r"\bgrant\b.*\b(revoked|expired)\b",
))

def stale(ts: TokenSet | None) -> bool:
    """True when a cached token must be renewed: missing, or expiring within ``RENEW_BEFORE`` seconds (within half
    its lifetime for a token that lives less than a minute)."""
    if ts is None:
        return True
    margin = RENEW_BEFORE
    iat, exp = ts.claims.get("iat"), ts.claims.get("exp")
    if isinstance(iat, (int, float)) and isinstance(exp, (int, float)) and exp > iat:
        margin = min(RENEW_BEFORE, (exp - iat) / 2)
    return ts.expires_within(margin)


# The exchange refuses a connector the agent's policy or the user's grant lacks with invalid_target; the proxy refuses
# the same with 403 access_denied and the same words. Both are AccessDenied.
CONNECTOR_REFUSED = (re.compile(r"^Connector \S+ is not in the user's delegation grant"),
                     re.compile(r"^Connector \S+ is not allowed for agent "))

Key = Union[RSAKey, ECKey, OKPKey]
SubjectToken = Union[str, TokenSet]


@dataclass(frozen=True)
class Call:
    """An HTTP request a flow needs sent. ``kwargs`` go to ``httpx.Client.request`` as they are."""

    method: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    purpose: str = "request"


@dataclass(frozen=True)
class Sleep:
    seconds: float


Op = Union[Call, Sleep]
T = TypeVar("T")
#: a flow yields Calls and Sleeps, receives the httpx.Response (or None), returns T
Flow = Generator[Op, Any, T]


# ----------------------------------------------------------------------------------------------------------------
# keys and signed JWTs


def load_private_key(private_key: Any, key_id: str | None = None) -> Key:
    """A joserfc key from a joserfc key, a JWK ``dict`` (or its JSON) or a PEM private key (``str``/``bytes``)."""
    key: Any
    if isinstance(private_key, (RSAKey, ECKey, OKPKey)):
        key = private_key
    elif isinstance(private_key, Mapping):
        key = import_key(dict(private_key), str(private_key.get("kty")))  # type: ignore[call-overload]
    elif isinstance(private_key, (str, bytes)):
        text = private_key.decode() if isinstance(private_key, bytes) else private_key
        if text.lstrip().startswith("{"):
            data = json.loads(text)
            key = import_key(data, data.get("kty"))
        else:
            key = None
            for kty in ("RSA", "EC", "OKP"):
                try:
                    key = import_key(text, kty)
                    break
                except Exception:  # noqa: BLE001 - try the next key type
                    continue
            if key is None:
                raise ValueError("private_key: not a PEM RSA, EC or OKP private key")
    else:
        raise TypeError("private_key must be a joserfc key, a JWK dict or a PEM string")
    if not isinstance(key, (RSAKey, ECKey, OKPKey)):
        raise ValueError("private_key: an RSA, EC or OKP key is needed")
    if not key.is_private:
        raise ValueError("private_key: a public key cannot sign")
    if key_id is not None:
        key = import_key(dict(key.as_dict(private=True), kid=key_id), key.key_type)  # type: ignore[call-overload]
    return key  # type: ignore[no-any-return]


def pick_alg(key: Key, alg: str | None) -> str:
    if alg:
        return alg
    if key.get("alg"):
        return str(key.get("alg"))
    if isinstance(key, RSAKey):
        return "RS256"
    if isinstance(key, ECKey):
        return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[str(key.as_dict()["crv"])]
    return "EdDSA"


def sign(key: Key, alg: str, typ: str, claims: Mapping[str, Any]) -> str:
    header: dict[str, Any] = {"alg": alg, "typ": typ}
    if key.kid:
        header["kid"] = key.kid
    return jwt.encode(header, dict(claims), key, algorithms=[alg])


def assertion_claims(client_id: str, aud: str, lifetime: int = ASSERTION_LIFETIME) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "nbf": now, "exp": now + lifetime,
            "jti": str(uuid.uuid4())}


def jwt_header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS (not verified; for display and tests)."""
    return dict(jws.extract_compact(token.encode()).headers())


# ----------------------------------------------------------------------------------------------------------------
# answers -> values and errors


_DOT_SEGMENT = re.compile(r"^(\.|%2e){1,2}$", re.IGNORECASE)
_PATH_CONTROL = re.compile(r"[\\\x00-\x1f\x7f]")


def proxy_path(path: str) -> str:
    """The path below ``{connector URI}/proxy/``, checked before anything is sent.

    An HTTP client resolves dot segments (``..``; httpx also ``/./``) and some clients backslashes or tab and newline
    characters into another path on the server, so the connector's token would go to an endpoint other than the proxy:
    such a path is refused here, as the proxy refuses the raw forms it receives. A path from an LLM or a tool argument
    cannot leave the proxy.
    """
    p = str(path or "").lstrip("/")
    path_only = re.split(r"[?#]", p, maxsplit=1)[0]
    if _PATH_CONTROL.search(path_only) or any(_DOT_SEGMENT.match(seg) for seg in path_only.split("/")):
        raise AgentAuthError("invalid_request",
                             "The proxy path must not contain dot segments, backslashes or control characters")
    return p


def _json(resp: httpx.Response) -> dict[str, Any] | None:
    try:
        body = resp.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def error_from_answer(status: int | None, body: Any, *, connector: str | None = None,
                      connection_id: str | None = None, connect_uri: str | None = None) -> AgentAuthError:
    """Maps one error answer of the server (``{error, error_description[, connect_uri]}`` with its HTTP status) to the
    error class that says what to do. Pure; the same rules in the same order as the TypeScript SDK's
    ``errorFromResponse`` (``sdk/testdata/errors.json`` holds cases both test suites check):

    1. ``connection_required`` -> ConnectionRequired; ``connection_not_found`` -> ConnectionNotFound;
    2. ``invalid_request`` / ``invalid_grant`` / ``invalid_token`` whose description says the grant is gone ->
       GrantRevoked;
    3. ``access_denied``, ``unauthorized_client``, ``invalid_target`` refusing a connector -> AccessDenied;
    4. ``insufficient_scope``, ``invalid_scope`` -> InsufficientScope;
    5. ``upstream_*``, ``temporarily_unavailable``, or HTTP 502/503/504 -> UpstreamUnavailable;
    6. ``expired_token`` (a CIBA approval request nobody decided on in time) -> ApprovalExpired;
    7. anything else -> AgentAuthError. Without an OAuth ``error`` the code is ``http_<status>`` (or
       ``invalid_response``).
    """
    b = body if isinstance(body, Mapping) else {}
    error = b.get("error")
    if isinstance(error, str) and error:
        code = error
    else:
        code = f"http_{status}" if status is not None and status >= 400 else "invalid_response"
    desc = b.get("error_description")
    desc = desc if isinstance(desc, str) else None
    if code == "connection_required":
        uri = b.get("connect_uri")
        return ConnectionRequired(code, desc, status=status, connector=connector,
                                  connect_uri=uri if isinstance(uri, str) and uri else connect_uri)
    if code == "connection_not_found":
        return ConnectionNotFound(code, desc, status=status, connector=connector, connection_id=connection_id)
    if code in ("invalid_request", "invalid_grant", "invalid_token") and desc and any(
            p.search(desc) for p in GRANT_GONE):
        return GrantRevoked(code, desc, status=status)
    if code in ("access_denied", "unauthorized_client") or (
            code == "invalid_target" and desc and any(p.search(desc) for p in CONNECTOR_REFUSED)):
        return AccessDenied(code, desc, status=status)
    if code in ("insufficient_scope", "invalid_scope"):
        return InsufficientScope(code, desc, status=status)
    if code.startswith("upstream_") or code in UNAVAILABLE_CODES or status in (502, 503, 504):
        return UpstreamUnavailable(code, desc, status=status)
    if code == "expired_token":
        return ApprovalExpired(code, desc, status=status)
    return AgentAuthError(code, desc, status=status)


def error_from(resp: httpx.Response, *, connector: str | None = None, connection_id: str | None = None,
               context: str = "token") -> AgentAuthError:
    """The error value for a refusal from the token endpoint, the proxy, the connection-status endpoint
    (:func:`error_from_answer` on the response; ``context`` is kept for callers, the rules do not depend on it)."""
    return error_from_answer(resp.status_code, _json(resp), connector=connector, connection_id=connection_id)


def _scope_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [s for s in value.split(" ") if s]
    return [str(s) for s in value]


def _aud_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(a) for a in value]


def subject_value(token: SubjectToken) -> str:
    return token.access_token if isinstance(token, TokenSet) else token


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)  # 64 characters of the unreserved set (RFC 7636 section 4.1)
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode("ascii")
    return verifier, challenge


# ----------------------------------------------------------------------------------------------------------------
# the agent's protocol state and flows


class AgentCore:
    """Configuration, caches and flows of one agent (one client of one realm)."""

    def __init__(self, metadata: ProviderMetadata, *, client_id: str, client_secret: str | None = None,
                 private_key: Any = None, key_id: str | None = None, signing_alg: str | None = None,
                 actor_token_type: str | None = None) -> None:
        if (client_secret is None) == (private_key is None):
            raise ValueError("give exactly one of client_secret or private_key")
        self.metadata = metadata
        self.issuer = metadata.issuer.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self._key: Key | None = load_private_key(private_key, key_id) if private_key is not None else None
        self._alg = signing_alg if self._key is None else pick_alg(self._key, signing_alg)
        if actor_token_type is None:
            actor_token_type = "jwt" if self._key is not None else "client_credentials"
        if actor_token_type not in ("jwt", "client_credentials"):
            raise ValueError("actor_token_type must be 'jwt' or 'client_credentials'")
        if actor_token_type == "jwt" and self._key is None:
            raise ValueError("a signed actor JWT needs private_key")
        self.actor_token_type = actor_token_type
        self._cc: TokenSet | None = None
        self._jwks: KeySet | None = None

    def __repr__(self) -> str:
        auth = "private_key_jwt" if self._key is not None else "client_secret"
        return f"AgentCore(issuer={self.issuer!r}, client_id={self.client_id!r}, auth={auth!r})"

    # -- discovery

    @staticmethod
    def discover_flow(issuer: str) -> Flow[ProviderMetadata]:
        # every failure but no answer at all (NetworkError) is discovery_failed, as in the TypeScript SDK
        issuer = issuer.rstrip("/")
        url = issuer + "/.well-known/openid-configuration"
        resp = yield Call("GET", url, purpose="discovery")
        if resp.status_code != 200:
            raise AgentAuthError("discovery_failed", f"{url}: {error_from(resp, context='discovery').message}",
                                 status=resp.status_code)
        body = _json(resp)
        if body is None:
            raise AgentAuthError("discovery_failed", f"{url}: the discovery document is not JSON",
                                 status=resp.status_code)
        md = ProviderMetadata.from_json(body)
        if md.issuer.rstrip("/") != issuer:
            raise AgentAuthError("discovery_failed", f"{url}: the discovery document names issuer {md.issuer}, "
                                 f"not {issuer}", status=resp.status_code)
        return md

    # -- client authentication and the token endpoint

    def client_auth(self) -> dict[str, str]:
        """Form fields that authenticate the agent: client_secret_post, or private_key_jwt (aud = the issuer)."""
        if self._key is not None:
            assertion = sign(self._key, self._alg or "RS256", "JWT", assertion_claims(self.client_id, self.issuer))
            return {"client_id": self.client_id, "client_assertion_type": CLIENT_ASSERTION_TYPE,
                    "client_assertion": assertion}
        return {"client_id": self.client_id, "client_secret": self._secret or ""}

    def token_call(self, form: Sequence[tuple[str, str]], purpose: str) -> Call:
        data: dict[str, list[str]] = {}
        for name, value in form:  # repeatable parameters (resource, audience) keep their order
            data.setdefault(name, []).append(value)
        return Call("POST", self.metadata.token_endpoint,
                    {"data": data, "headers": {"Accept": "application/json"}}, purpose=purpose)

    def token_flow(self, form: Sequence[tuple[str, str]], purpose: str, **error_kw: Any) -> Flow[dict[str, Any]]:
        resp = yield self.token_call(form, purpose)
        body = _json(resp)
        if resp.status_code != 200 or body is None or not body.get("access_token"):
            if resp.status_code == 200:
                raise AgentAuthError("invalid_response", "the token endpoint answered without an access token",
                                     status=resp.status_code)
            raise error_from(resp, context="token", **error_kw)
        return body

    def keys_flow(self, refresh: bool = False) -> Flow[KeySet]:
        if self._jwks is None or refresh:
            resp = yield Call("GET", self.metadata.jwks_uri, purpose="jwks")
            if resp.status_code != 200 or _json(resp) is None:
                raise error_from(resp, context="jwks")
            self._jwks = KeySet.import_key_set(resp.json())
        return self._jwks

    def claims_flow(self, token: str) -> Flow[dict[str, Any]]:
        """The verified claims of an access token this realm issued (signature by the realm's JWKS, iss, exp)."""
        keys = yield from self.keys_flow()
        try:
            try:
                decoded = jwt.decode(token, keys, algorithms=VERIFY_ALGORITHMS)
            except InvalidKeyIdError:  # the realm rotated its keys since we read them
                keys = yield from self.keys_flow(refresh=True)
                decoded = jwt.decode(token, keys, algorithms=VERIFY_ALGORITHMS)
            jwt.JWTClaimsRegistry(leeway=60, iss={"essential": True, "value": self.issuer},
                                  exp={"essential": True}).validate(decoded.claims)
        except JoseError as e:
            raise AgentAuthError("invalid_token_response", f"the issued token does not verify: {e.error}") from None
        return dict(decoded.claims)

    def token_set_flow(self, body: Mapping[str, Any]) -> Flow[TokenSet]:
        claims = yield from self.claims_flow(str(body["access_token"]))
        if "exp" in claims:
            expires_at = _utc(float(claims["exp"]))
        else:
            expires_at = _utc(time.time() + float(body.get("expires_in") or 60))
        return TokenSet(access_token=str(body["access_token"]), expires_at=expires_at,
                        scope=_scope_list(body.get("scope", claims.get("scope"))), aud=_aud_list(claims.get("aud")),
                        act=claims.get("act") if isinstance(claims.get("act"), dict) else None, claims=claims,
                        token_type=str(body.get("token_type") or "Bearer"), refresh_token=body.get("refresh_token"),
                        issued_token_type=body.get("issued_token_type"))

    # -- the actor token

    def actor_token_ready(self) -> bool:
        """True when :meth:`actor_token_flow` needs no request (a signed JWT, or a fresh cached token)."""
        return self.actor_token_type == "jwt" or not stale(self._cc)

    def actor_token_flow(self) -> Flow[tuple[str, str]]:
        """``(token, token_type)``: a fresh signed actor JWT, or the cached client-credentials token."""
        if self.actor_token_type == "jwt":
            assert self._key is not None
            claims = assertion_claims(self.client_id, self.issuer + "/agent-auth/actor")
            return sign(self._key, self._alg or "RS256", "actor+jwt", claims), JWT_TOKEN_TYPE
        cc = self._cc
        if cc is None or stale(cc):
            log.debug("client credentials token for %s", self.client_id)
            body = yield from self.token_flow([("grant_type", "client_credentials"), *self.client_auth().items()],
                                              "client_credentials")
            cc = self._cc = yield from self.token_set_flow(body)
        return cc.access_token, ACCESS_TOKEN_TYPE

    # -- the delegated exchange

    def exchange_flow(self, subject_token: SubjectToken, *, resource: str | Sequence[str] | None = None,
                      audience: str | Sequence[str] | None = None, scope: str | Sequence[str] | None = None,
                      requested_token_type: str | None = None) -> Flow[TokenSet]:
        actor, actor_type = yield from self.actor_token_flow()
        form: list[tuple[str, str]] = [
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject_value(subject_token)),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("actor_token", actor),
            ("actor_token_type", actor_type),
        ]
        for name, value in (("resource", resource), ("audience", audience)):
            for v in [value] if isinstance(value, str) else (value or []):
                form.append((name, v))
        if scope:
            form.append(("scope", scope if isinstance(scope, str) else " ".join(scope)))
        if requested_token_type:
            # "refresh_token" / "access_token" are short for the RFC 8693 token type URNs
            requested_token_type = {"refresh_token": REFRESH_TOKEN_TYPE, "access_token": ACCESS_TOKEN_TYPE}.get(
                requested_token_type, requested_token_type)
            form.append(("requested_token_type", requested_token_type))
        form.extend(self.client_auth().items())
        log.debug("delegated exchange by %s (resource=%s, audience=%s, scope=%s)", self.client_id, resource, audience,
                  scope)
        body = yield from self.token_flow(form, "exchange")
        return (yield from self.token_set_flow(body))

    def refresh_flow(self, refresh_token: str, *, scope: str | Sequence[str] | None = None) -> Flow[TokenSet]:
        form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)]
        if scope:
            form.append(("scope", scope if isinstance(scope, str) else " ".join(scope)))
        form.extend(self.client_auth().items())
        body = yield from self.token_flow(form, "refresh")
        return (yield from self.token_set_flow(body))

    def connector_uri(self, alias: str) -> str:
        return f"{self.issuer}/agent-auth/connectors/{quote(alias, safe='')}"

    # -- the host app's side of requested_actor

    def authorization_request(self, *, client_id: str, redirect_uri: str, scope: str | Sequence[str] = "openid",
                              resource: str | None = None, requested_actor: str | None = None,
                              state: str | None = None, prompt: str | None = None,
                              extra_params: Mapping[str, str] | None = None) -> AuthorizationRequest:
        verifier, challenge = pkce_pair()
        state = state or secrets.token_urlsafe(24)
        params: dict[str, str] = {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": scope if isinstance(scope, str) else " ".join(scope),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "requested_actor": requested_actor or self.client_id,
        }
        if resource:
            params["resource"] = resource
        if prompt:
            params["prompt"] = prompt
        params.update(extra_params or {})
        url = self.metadata.authorization_endpoint + "?" + urlencode(params, quote_via=quote)
        return AuthorizationRequest(url=url, state=state, code_verifier=verifier, redirect_uri=redirect_uri,
                                    client_id=client_id)

    def parse_callback(self, url: str, *, state: str) -> str:
        """The code from the redirect URI the browser came back to; raises the error it carries instead."""
        q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        if q.get("iss") and q["iss"].rstrip("/") != self.issuer:
            raise AgentAuthError("invalid_issuer", "the authorization response comes from another issuer")
        if q.get("state") != state:
            raise AgentAuthError("invalid_state", "the authorization response's state does not match the request")
        if "error" in q:
            # the same mapping as an answer of the token endpoint (access_denied: AccessDenied, invalid_scope:
            # InsufficientScope, ...), without an HTTP status
            raise error_from_answer(None, {"error": q["error"], "error_description": q.get("error_description")})
        if not q.get("code"):
            raise AgentAuthError("invalid_response", "the authorization response has no code")
        return q["code"]

    def redeem_code_flow(self, *, code: str, code_verifier: str, redirect_uri: str, client_id: str,
                         client_secret: str | None = None, resource: str | Sequence[str] | None = None) -> Flow[TokenSet]:
        actor, actor_type = yield from self.actor_token_flow()
        form: list[tuple[str, str]] = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
            ("actor_token", actor),
            ("actor_token_type", actor_type),
            ("client_id", client_id),
        ]
        if client_secret is not None:
            form.append(("client_secret", client_secret))
        for v in [resource] if isinstance(resource, str) else (resource or []):
            form.append(("resource", v))
        log.debug("code redemption by host %s with the actor token of %s", client_id, self.client_id)
        body = yield from self.token_flow(form, "redeem_code")
        return (yield from self.token_set_flow(body))


    # -- headless approval (CIBA, poll mode, requested_actor = this agent)

    def approval_request_flow(self, *, login_hint: str, scope: str | Sequence[str], binding_message: str,
                              description: str | None = None, resource: str | None = None,
                              max_age: int | None = None) -> Flow[ApprovalRequest]:
        """The backchannel authentication request (client authentication of this agent, ``requested_actor`` = this
        agent); the answer as an :class:`ApprovalRequest`."""
        scope_value = scope if isinstance(scope, str) else " ".join(scope)
        for name, value in (("login_hint", login_hint), ("scope", scope_value.strip()),
                            ("binding_message", binding_message)):
            if not isinstance(value, str) or not value:
                raise AgentAuthError("invalid_request", f"{name} is required")
        endpoint = self.metadata.backchannel_authentication_endpoint
        if not endpoint:
            raise AgentAuthError("invalid_configuration",
                                 "the realm names no backchannel_authentication_endpoint (CIBA)")
        form: list[tuple[str, str]] = [
            ("login_hint", login_hint),
            ("scope", scope_value.strip()),
            ("binding_message", binding_message),
            ("requested_actor", self.client_id),
        ]
        if description:
            form.append(("authorization_details", json.dumps([{"type": "agent_action", "description": description}])))
        if resource:
            form.append(("resource", resource))
        if max_age is not None:
            form.append(("max_age", str(int(max_age))))
        form.extend(self.client_auth().items())
        log.debug("approval request by %s for %s (binding message %s)", self.client_id, login_hint, binding_message)
        resp = yield Call("POST", endpoint, {"data": dict(form), "headers": {"Accept": "application/json"}},
                          purpose="backchannel")
        body = _json(resp)
        if resp.status_code != 200 or body is None:
            raise error_from(resp, context="backchannel")
        auth_req_id, expires_in, interval = body.get("auth_req_id"), body.get("expires_in"), body.get("interval")
        if not isinstance(auth_req_id, str) or not auth_req_id or not isinstance(expires_in, (int, float)):
            raise AgentAuthError("invalid_response", "the backchannel answer lacks auth_req_id or expires_in",
                                 status=resp.status_code)
        interval_s = float(interval) if isinstance(interval, (int, float)) and interval > 0 else DEFAULT_INTERVAL
        return ApprovalRequest(auth_req_id=auth_req_id, expires_at=_utc(time.time() + float(expires_in)),
                               interval=interval_s, login_hint=login_hint, binding_message=binding_message)

    def approval_poll_flow(self, request: ApprovalRequest) -> Flow[TokenSet]:
        """One poll of the token endpoint with the CIBA grant and this agent's actor token (a fresh signed actor JWT,
        or the cached client-credentials token)."""
        cached = self.actor_token_type == "client_credentials" and self._cc is not None
        actor, actor_type = yield from self.actor_token_flow()
        form: list[tuple[str, str]] = [
            ("grant_type", CIBA_GRANT),
            ("auth_req_id", request.auth_req_id),
            ("actor_token", actor),
            ("actor_token_type", actor_type),
        ]
        form.extend(self.client_auth().items())
        resp = yield self.token_call(form, "ciba_poll")
        body = _json(resp)
        if resp.status_code == 200 and body is not None and body.get("access_token"):
            return (yield from self.token_set_flow(body))
        if resp.status_code == 200:
            raise AgentAuthError("invalid_response", "the token endpoint answered without an access token",
                                 status=resp.status_code)
        err = error_from(resp, context="token")
        if cached and err.description and "Invalid actor_token: not an active" in err.description:
            # the cached actor token's session ended: the refusal used nothing up (the server checks the actor token
            # before the request's state); the next poll gets a new one
            self._cc = None
            raise AgentAuthError("authorization_pending", "the cached actor token was refused; polling again")
        raise err

    def wait_for_approval_flow(self, request: ApprovalRequest, timeout: float | None = None) -> Flow[TokenSet]:
        """Polls every ``interval`` seconds (5 more after each ``slow_down``) until the user decides: the delegated
        TokenSet; AccessDenied (denied), ApprovalExpired (expired), AgentAuthError ``authorization_pending`` after
        ``timeout`` seconds (the request stays valid)."""
        if not isinstance(request, ApprovalRequest):
            raise AgentAuthError("invalid_request", "wait_for_approval needs the ApprovalRequest of request_approval")
        deadline = None if timeout is None else time.time() + max(0.0, float(timeout))
        interval = request.interval
        expiry = request.expires_at.timestamp()
        while True:
            now = time.time()
            if deadline is not None and now + interval > deadline:
                yield Sleep(max(0.0, deadline - now))
                raise AgentAuthError("authorization_pending", f"The user has not decided within {timeout} s; the "
                                     f"request stays valid until {request.expires_at.isoformat()}")
            if now > expiry:
                # a poll after the expiry was answered as pending: the server should have said expired_token
                raise ApprovalExpired("expired_token", f"The approval request expired at "
                                      f"{request.expires_at.isoformat()} before the user decided")
            yield Sleep(interval)
            try:
                return (yield from self.approval_poll_flow(request))
            except AgentAuthError as e:
                if e.code == "authorization_pending":
                    continue
                if e.code == "slow_down":
                    interval += SLOW_DOWN
                    continue
                raise


class ConnectorCore:
    """One connector handle's state: alias, the user's token, the chosen connection, the cached resource token."""

    def __init__(self, agent: AgentCore, alias: str, subject_token: SubjectToken, connection_id: str | None) -> None:
        self.agent = agent
        self.alias = alias
        self.subject_token = subject_token
        self.connection_id = connection_id
        self.uri = agent.connector_uri(alias)
        self._token: TokenSet | None = None
        # already a connector-resource token of this agent (the requested_actor code flow with resource = the
        # connector's URI): used as it is, until it expires (it cannot be exchanged again: the agent is in its act)
        self._given = isinstance(subject_token, TokenSet) and self.uri in subject_token.aud \
            and subject_token.actor == agent.client_id
        if self._given:
            self._token = subject_token  # type: ignore[assignment]

    @property
    def connect_uri(self) -> str:
        return f"{self.uri}/connect?" + urlencode({"client_id": self.agent.client_id})

    def __repr__(self) -> str:
        return f"Connector(alias={self.alias!r}, connection_id={self.connection_id!r}, uri={self.uri!r})"

    def token_ready(self) -> bool:
        """True when the cached connector-resource token can be used as it is."""
        return not stale(self._token)

    def token_flow(self, *, fresh: bool = False) -> Flow[TokenSet]:
        """The connector-resource token, cached until ``RENEW_BEFORE`` seconds before it expires."""
        token = self._token
        if token is None or fresh or stale(token):
            if self._given:
                if token is not None and not token.expires_within(0) and not fresh:
                    return token
                raise AgentAuthError("expired_token", f"the token for connector {self.alias} has expired; get a new "
                                     "one (the host refreshes it, or pass the user's own token to connector())")
            token = self._token = yield from self.agent.exchange_flow(self.subject_token, resource=self.uri)
        return token

    def _headers(self, token: TokenSet, extra: Any = None) -> dict[str, str]:
        headers = dict(extra or {})
        headers["Authorization"] = f"Bearer {token.access_token}"
        if self.connection_id:
            headers[CONNECTION_HEADER] = self.connection_id
        return headers

    def _err(self, resp: httpx.Response, context: str) -> AgentAuthError:
        return error_from(resp, connector=self.alias, connection_id=self.connection_id, context=context)

    def request_flow(self, method: str, path: str, kwargs: dict[str, Any]) -> Flow[httpx.Response]:
        url = f"{self.uri}/proxy/{proxy_path(path)}"
        retried = False
        while True:
            token = yield from self.token_flow(fresh=retried)
            call_kwargs = dict(kwargs)
            call_kwargs["headers"] = self._headers(token, kwargs.get("headers"))
            resp: httpx.Response = yield Call(method.upper(), url, call_kwargs, purpose="proxy")
            log.debug("proxy %s %s/%s -> %s", method.upper(), self.alias, path.lstrip("/"), resp.status_code)
            if resp.status_code < 400 or resp.headers.get(CONNECTION_HEADER):
                return resp  # the upstream's answer (whatever its status): the proxy's own refusals name no connection
            body = _json(resp)
            if body is None or "error" not in body:
                return resp
            err = self._err(resp, "proxy")
            replayable = isinstance(kwargs.get("content"), (type(None), bytes, str))
            if (type(err) is AgentAuthError and err.code == "invalid_token" and not retried and replayable):
                retried = True  # the cached token expired or was refused: once more with a new one
                continue
            raise err

    def connection_flow(self) -> Flow[Connection]:
        token = yield from self.token_flow()
        resp = yield Call("GET", f"{self.uri}/connection", {"headers": self._headers(token)}, purpose="connection")
        if resp.status_code != 200:
            raise self._err(resp, "status")
        body = _json(resp)
        if body is None:
            raise AgentAuthError("invalid_response", "the connection status is not JSON", status=resp.status_code)
        return Connection.from_json(body)

    def wait_flow(self, timeout: float, interval: float) -> Flow[Connection]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return (yield from self.connection_flow())
            except ConnectionRequired:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                yield Sleep(min(interval, left))

    def upstream_token_flow(self) -> Flow[UpstreamToken]:
        token = yield from self.token_flow()
        form: list[tuple[str, str]] = [
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", token.access_token),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("requested_issuer", self.alias),
        ]
        if self.connection_id:
            form.append(("connection_id", self.connection_id))
        form.extend(self.agent.client_auth().items())
        resp = yield self.agent.token_call(form, "vault_exchange")
        body = _json(resp)
        if resp.status_code != 200 or body is None or not body.get("access_token"):
            raise self._err(resp, "vault")
        exp = _utc(time.time() + float(body["expires_in"])) if body.get("expires_in") is not None else None
        return UpstreamToken(access_token=str(body["access_token"]), connection_id=body.get("connection_id"),
                             expires_at=exp, token_type=str(body.get("token_type") or "Bearer"))
