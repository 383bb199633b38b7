"""Unit tests of the SDK's own logic, without a network: error values and their mapping from answers, redaction,
PKCE and the authorization request, signed JWTs, key loading, and the caching/polling/retry logic of the flows
(driven through httpx.MockTransport with tokens really signed by joserfc). The protocol against the real server is
tested in tests/e2e."""

from __future__ import annotations

import asyncio
import hashlib
import json
import pickle
import secrets
import time
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from joserfc.util import urlsafe_b64encode

from keycloak_agent_auth import (
    AccessDenied,
    AgentAuth,
    AgentAuthError,
    AsyncAgentAuth,
    ConnectionNotFound,
    ConnectionRequired,
    GrantRevoked,
    InsufficientScope,
    NetworkError,
    TokenSet,
    UpstreamUnavailable,
    from_dict,
)
from keycloak_agent_auth._core import error_from, jwt_header, load_private_key, pick_alg, pkce_pair
from keycloak_agent_auth.errors import redact

ISSUER = "https://kc.example/realms/demo"
CONNECTOR = f"{ISSUER}/agent-auth/connectors/cal"
REALM_KEY = RSAKey.generate_key(2048, parameters={"kid": "realm-1", "alg": "RS256", "use": "sig"})
FAKE_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def resp(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


# ---------------------------------------------------------------------------------------------------------------
# errors as values


@pytest.mark.parametrize("status,body,context,cls,code", [
    (403, {"error": "connection_required", "error_description": "no account", "connect_uri": CONNECTOR + "/connect"},
     "proxy", ConnectionRequired, "connection_required"),
    (400, {"error": "connection_required", "error_description": "x", "connect_uri": CONNECTOR + "/connect"},
     "vault", ConnectionRequired, "connection_required"),
    (404, {"error": "connection_not_found", "error_description": "No active connection"}, "proxy",
     ConnectionNotFound, "connection_not_found"),
    (401, {"error": "invalid_token", "error_description": "The delegation is no longer valid: The delegation grant "
           "this token was issued under (agent a via host client h) is no longer active"}, "proxy", GrantRevoked,
     "invalid_token"),
    (400, {"error": "invalid_request", "error_description": "No active delegation grant from the user to agent a via "
           "host client h"}, "token", GrantRevoked, "invalid_request"),
    (400, {"error": "invalid_request", "error_description": "The delegation grant this token was issued under (agent "
           "b via host client h) is no longer active"}, "token", GrantRevoked, "invalid_request"),
    (400, {"error": "invalid_grant", "error_description": "The delegation grant this token was issued under is no "
           "longer active"}, "token", GrantRevoked, "invalid_grant"),
    (400, {"error": "invalid_request", "error_description": "Invalid subject_token: not an active access token"},
     "token", AgentAuthError, "invalid_request"),
    (401, {"error": "invalid_token", "error_description": "The token is not an active access token of this realm"},
     "proxy", AgentAuthError, "invalid_token"),
    (403, {"error": "access_denied", "error_description": "Connector cal is not in the grant"}, "proxy",
     AccessDenied, "access_denied"),
    (400, {"error": "invalid_target", "error_description": "Connector cal is not in the user's delegation grant"},
     "token", AccessDenied, "invalid_target"),
    (400, {"error": "invalid_target", "error_description": "Connector cal is not allowed for agent a"},
     "token", AccessDenied, "invalid_target"),
    (400, {"error": "invalid_target", "error_description": "Unknown resource"}, "token", AgentAuthError,
     "invalid_target"),
    (400, {"error": "unauthorized_client", "error_description": "Agent a does not allow host client h"}, "token",
     AccessDenied, "unauthorized_client"),
    (403, {"error": "insufficient_scope", "error_description": "Only a delegated token"}, "proxy",
     InsufficientScope, "insufficient_scope"),
    (400, {"error": "invalid_scope", "error_description": "outside the grant"}, "token", InsufficientScope,
     "invalid_scope"),
    (504, {"error": "upstream_timeout", "error_description": "The upstream did not answer within 10000 ms"},
     "proxy", UpstreamUnavailable, "upstream_timeout"),
    (502, {"error": "upstream_unreachable", "error_description": "x"}, "proxy", UpstreamUnavailable,
     "upstream_unreachable"),
    (503, {"error": "temporarily_unavailable", "error_description": "vault"}, "vault", UpstreamUnavailable,
     "temporarily_unavailable"),
    (502, None, "proxy", UpstreamUnavailable, "http_502"),
    (500, None, "token", AgentAuthError, "http_500"),
])
def test_error_mapping(status, body, context, cls, code):
    e = error_from(resp(status, body), connector="cal", connection_id="c1", context=context)
    assert type(e) is cls
    assert (e.code, e.status) == (code, status)
    d = json.loads(json.dumps(e.to_dict()))
    assert d["type"] == cls.__name__ and d["code"] == code and d["status"] == status
    back = from_dict(d)
    assert type(back) is cls and back.to_dict() == d
    assert type(pickle.loads(pickle.dumps(e))) is cls
    if cls is ConnectionRequired:
        assert e.connect_uri == CONNECTOR + "/connect" and e.connector == "cal"
        assert e.connect_uri in str(e)


def test_errors_are_exceptions_and_share_a_base():
    for cls in (ConnectionRequired, ConnectionNotFound, GrantRevoked, AccessDenied, InsufficientScope,
                UpstreamUnavailable, NetworkError):
        assert issubclass(cls, AgentAuthError) and issubclass(cls, Exception)
    with pytest.raises(AgentAuthError):
        raise GrantRevoked("invalid_token", "gone", status=401)


def test_no_token_in_an_error_even_if_the_description_had_one():
    e = error_from(resp(400, {"error": "invalid_request", "error_description": f"bad token {FAKE_JWT} here"}))
    for text in (str(e), repr(e), json.dumps(e.to_dict()), e.description):
        assert FAKE_JWT not in text and "[redacted]" in text
    assert redact(None) is None and redact("plain") == "plain"


# ---------------------------------------------------------------------------------------------------------------
# token sets, keys, PKCE, authorization request


def make_token(claims: dict[str, Any], key: RSAKey = REALM_KEY) -> str:
    base = {"iss": ISSUER, "iat": int(time.time()), "exp": int(time.time()) + 300, "jti": secrets.token_hex(8)}
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, base | claims, key)


def test_token_set_repr_redacts():
    at = make_token({"sub": "u1"})
    ts = TokenSet(access_token=at, expires_at=__import__("datetime").datetime.now(), scope=["openid"], aud=["x"],
                  act={"client_id": "b", "act": {"client_id": "a"}}, claims={"sub": "u1"}, refresh_token="r-secret")
    for text in (repr(ts), str(ts), json.dumps(ts.to_dict())):
        assert at not in text and "r-secret" not in text
    assert ts.actor_chain == ["b", "a"] and ts.actor == "b" and ts.subject == "u1"
    assert ts.to_dict()["has_refresh_token"] is True


def test_pkce_s256():
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    assert challenge == urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    assert pkce_pair()[0] != verifier


@pytest.mark.parametrize("make,alg", [
    (lambda: RSAKey.generate_key(2048, parameters={"kid": "r"}), "RS256"),
    (lambda: ECKey.generate_key("P-256", parameters={"kid": "e"}), "ES256"),
    (lambda: ECKey.generate_key("P-384"), "ES384"),
    (lambda: OKPKey.generate_key("Ed25519"), "EdDSA"),
])
def test_private_key_forms(make, alg):
    key = make()
    for form in (key, key.as_dict(private=True), json.dumps(key.as_dict(private=True)), key.as_pem(private=True),
                 key.as_pem(private=True).decode()):
        loaded = load_private_key(form)
        assert pick_alg(loaded, None) == alg
        assert loaded.thumbprint() == key.thumbprint()
    assert load_private_key(key, key_id="other").kid == "other"
    with pytest.raises(ValueError):
        load_private_key(key.as_dict(private=False))


def test_actor_jwt_and_client_assertion():
    key = RSAKey.generate_key(2048, parameters={"kid": "agent-key"})
    agent = offline_agent(private_key=key)
    actor = agent.actor_token()
    header = jwt_header(actor)
    assert header == {"alg": "RS256", "typ": "actor+jwt", "kid": "agent-key"}
    claims = jwt.decode(actor, key).claims
    assert claims["iss"] == claims["sub"] == "agent"
    assert claims["aud"] == f"{ISSUER}/agent-auth/actor"
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert jwt.decode(agent.actor_token(), key).claims["jti"] != claims["jti"]
    form = agent._core.client_auth()
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assertion = jwt.decode(form["client_assertion"], key)
    assert assertion.header["typ"] == "JWT" and assertion.claims["aud"] == ISSUER
    assert "client_secret" not in form


def test_authorization_url_and_callback():
    agent = offline_agent()
    req = agent.authorization_url(client_id="host", redirect_uri="http://127.0.0.1/cb", scope=["openid", "profile"],
                                  resource=CONNECTOR)
    q = {k: v[0] for k, v in parse_qs(urlsplit(req.url).query).items()}
    assert req.url.startswith(f"{ISSUER}/protocol/openid-connect/auth?")
    assert q == {"client_id": "host", "response_type": "code", "redirect_uri": "http://127.0.0.1/cb",
                 "scope": "openid profile", "state": req.state, "code_challenge": q["code_challenge"],
                 "code_challenge_method": "S256", "requested_actor": "agent", "resource": CONNECTOR}
    assert q["code_challenge"] == urlsafe_b64encode(hashlib.sha256(req.code_verifier.encode()).digest()).decode()
    assert req.code_verifier not in repr(req)
    cb = f"http://127.0.0.1/cb?state={req.state}&code=abc&iss={ISSUER}"
    assert agent.parse_callback(cb, state=req.state) == "abc"
    with pytest.raises(AgentAuthError) as bad_state:
        agent.parse_callback(cb, state="other")
    assert bad_state.value.code == "invalid_state"
    with pytest.raises(AgentAuthError) as bad_iss:
        agent.parse_callback(f"http://127.0.0.1/cb?state={req.state}&code=abc&iss=https://evil", state=req.state)
    assert bad_iss.value.code == "invalid_issuer"
    with pytest.raises(AccessDenied):
        agent.parse_callback(f"http://127.0.0.1/cb?state={req.state}&error=access_denied", state=req.state)


# ---------------------------------------------------------------------------------------------------------------
# flows over a mock transport: caching, renewal, retry, polling


class FakeServer:
    """Answers like the server does, with tokens really signed by REALM_KEY; counts requests by purpose."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.cc_lifetime = 300
        self.connector_lifetime = 300
        self.proxy: list[Callable[[httpx.Request], httpx.Response]] = []
        self.status: list[Callable[[httpx.Request], httpx.Response]] = []
        self.forms: list[dict[str, list[str]]] = []

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            self.count("discovery")
            return resp(200, {"issuer": ISSUER, "token_endpoint": f"{ISSUER}/protocol/openid-connect/token",
                              "authorization_endpoint": f"{ISSUER}/protocol/openid-connect/auth",
                              "jwks_uri": f"{ISSUER}/protocol/openid-connect/certs"})
        if path.endswith("/certs"):
            self.count("jwks")
            return resp(200, KeySet([REALM_KEY]).as_dict(private=False))
        if path.endswith("/token"):
            form = parse_qs(request.content.decode())
            self.forms.append(form)
            grant = form["grant_type"][0]
            self.count(grant.rsplit(":", 1)[-1])
            now = int(time.time())
            if grant == "client_credentials":
                return resp(200, {"access_token": make_token({"azp": "agent", "exp": now + self.cc_lifetime}),
                                  "expires_in": self.cc_lifetime})
            if "requested_issuer" in form:
                return resp(200, {"access_token": "upstream-opaque", "expires_in": 60, "connection_id": "c1"})
            aud = form.get("resource", ["svc"])
            at = make_token({"sub": "u1", "aud": aud, "scope": "openid profile", "exp": now + self.connector_lifetime,
                             "act": {"sub": "sa", "client_id": "agent", "iss": ISSUER}})
            return resp(200, {"access_token": at, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                              "scope": "openid profile"})
        if "/proxy/" in path:
            self.count("proxy")
            return self.proxy.pop(0)(request) if self.proxy else resp(200, {"ok": True}, {"X-Connection-Id": "c1"})
        if path.endswith("/connection"):
            self.count("connection")
            return self.status.pop(0)(request)
        return resp(404, {"error": "not_found"})


def offline_agent(server: FakeServer | None = None, **kw: Any) -> AgentAuth:
    server = server or FakeServer()
    if "private_key" not in kw:
        kw["client_secret"] = "s3cret"
    return AgentAuth.discover(ISSUER, client_id="agent", http_client=httpx.Client(transport=httpx.MockTransport(server)),
                              **kw)


def near_expiry(ts: TokenSet, seconds_left: float) -> TokenSet:
    """The same token set as if issued long ago: ``seconds_left`` until it expires."""
    import dataclasses
    from datetime import datetime, timezone

    exp = time.time() + seconds_left
    return dataclasses.replace(ts, expires_at=datetime.fromtimestamp(exp, tz=timezone.utc),
                               claims=ts.claims | {"iat": int(exp) - 300, "exp": int(exp)})


def test_client_credentials_cached_and_renewed_30s_before_expiry():
    server = FakeServer()
    agent = offline_agent(server)
    first = agent.actor_token()
    assert agent.actor_token() == first and server.counts["client_credentials"] == 1
    assert server.counts["jwks"] == 1
    agent._core._cc = near_expiry(agent._core._cc, 35)
    assert agent.actor_token() == first and server.counts["client_credentials"] == 1
    agent._core._cc = near_expiry(agent._core._cc, 25)
    assert agent.actor_token() != first and server.counts["client_credentials"] == 2
    assert server.forms[0]["client_secret"] == ["s3cret"] and server.forms[0]["client_id"] == ["agent"]


def test_short_lived_tokens_are_renewed_within_half_their_lifetime():
    server = FakeServer()
    server.cc_lifetime = 20  # shorter than the 30 s margin: kept for 10 s, not renewed at every call
    agent = offline_agent(server)
    agent.actor_token()
    agent.actor_token()
    assert server.counts["client_credentials"] == 1


def test_exchange_sends_actor_token_and_parses_the_token_set():
    server = FakeServer()
    agent = offline_agent(server)
    ts = agent.exchange(subject_token="user-token", resource=["r1", "r2"], audience="svc", scope=["openid", "profile"])
    form = server.forms[-1]
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:token-exchange"]
    assert form["subject_token"] == ["user-token"] and form["resource"] == ["r1", "r2"]
    assert form["actor_token_type"] == ["urn:ietf:params:oauth:token-type:access_token"]
    assert form["scope"] == ["openid profile"] and form["audience"] == ["svc"]
    assert ts.aud == ["r1", "r2"] and ts.scope == ["openid", "profile"] and ts.actor == "agent"


def test_a_token_that_does_not_verify_is_refused():
    other = RSAKey.generate_key(2048, parameters={"kid": "realm-1"})
    server = FakeServer()

    def forged(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return resp(200, {"access_token": make_token({"sub": "u1"}, other)})
        return server(request)

    agent = AgentAuth.discover(ISSUER, client_id="agent", client_secret="s",
                               http_client=httpx.Client(transport=httpx.MockTransport(forged)))
    with pytest.raises(AgentAuthError) as raised:
        agent.exchange(subject_token="u")
    assert raised.value.code == "invalid_token_response"


def test_connector_token_cached_and_proxy_headers():
    server = FakeServer()
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return resp(401, {"message": "upstream says no"}, {"X-Connection-Id": "c9"})

    server.proxy = [upstream]
    conn = offline_agent(server).connector("cal", subject_token="user-token", connection_id="c9")
    r = conn.get("/events", params={"q": "1"}, headers={"Accept": "application/json"})
    assert r.status_code == 401, "an upstream answer (X-Connection-Id) is returned, not raised"
    assert seen[0].url.path == "/realms/demo/agent-auth/connectors/cal/proxy/events"
    assert seen[0].headers["x-connection-id"] == "c9" and seen[0].headers["accept"] == "application/json"
    assert seen[0].headers["authorization"].startswith("Bearer ey")
    conn.get("events")
    assert server.counts["token-exchange"] == 1 and server.counts["proxy"] == 2
    assert server.forms[-1]["resource"] == [CONNECTOR]
    assert conn.connect_uri == f"{CONNECTOR}/connect?client_id=agent"


@pytest.mark.parametrize("path", ["../../protocol/openid-connect/userinfo", "a/../../x", "./x", "%2e%2e/x", "a/%2E%2e/x",
                                  "a\\..\\x", "a/.\t./x", "a\n/x"])
def test_a_proxy_path_that_would_resolve_elsewhere_is_refused_before_anything_is_sent(path):
    server = FakeServer()
    conn = offline_agent(server).connector("cal", subject_token="user-token")
    with pytest.raises(AgentAuthError) as raised:
        conn.get(path)
    assert raised.value.code == "invalid_request" and "user-token" not in str(raised.value)
    assert server.counts.get("token-exchange", 0) == 0 and server.counts.get("proxy", 0) == 0


def test_ordinary_proxy_paths_go_through():
    server = FakeServer()
    conn = offline_agent(server).connector("cal", subject_token="user-token")
    for path in ["userinfo", "/calendars/v1.2/events", "a..b/c.", "search?q=../x"]:
        assert conn.get(path).status_code == 200, path
    assert server.counts["proxy"] == 4


def test_connector_token_renewed_near_expiry():
    server = FakeServer()
    conn = offline_agent(server).connector("cal", subject_token="u")
    conn.get("a")
    conn._core._token = near_expiry(conn._core._token, 40)
    conn.get("b")
    assert server.counts["token-exchange"] == 1
    conn._core._token = near_expiry(conn._core._token, 20)
    conn.get("c")
    assert server.counts["token-exchange"] == 2


def test_proxy_retries_once_with_a_new_token_on_invalid_token():
    server = FakeServer()
    refused = lambda r: resp(401, {"error": "invalid_token", "error_description": "The token is not active"})  # noqa
    server.proxy = [refused]
    conn = offline_agent(server).connector("cal", subject_token="u")
    assert conn.get("x").status_code == 200
    assert server.counts["token-exchange"] == 2 and server.counts["proxy"] == 2
    server.proxy = [refused, refused]
    with pytest.raises(AgentAuthError) as raised:
        conn.get("x")
    assert raised.value.code == "invalid_token" and type(raised.value) is AgentAuthError


def test_proxy_grant_revoked_is_not_retried():
    server = FakeServer()
    server.proxy = [lambda r: resp(401, {"error": "invalid_token",
                                         "error_description": "The delegation is no longer valid: gone"})]
    with pytest.raises(GrantRevoked):
        offline_agent(server).connector("cal", subject_token="u").get("x")
    assert server.counts["proxy"] == 1


def test_wait_for_connection_polls_until_connected():
    server = FakeServer()
    required = lambda r: resp(403, {"error": "connection_required", "error_description": "none",  # noqa: E731
                                    "connect_uri": CONNECTOR + "/connect?client_id=agent"})
    server.status = [required, required, lambda r: resp(200, {
        "connector": "cal", "connection_id": "c1", "account": "alice-work", "status": "ACTIVE",
        "scopes": ["openid"], "delivery_mode": "proxy"})]
    conn = offline_agent(server).connector("cal", subject_token="u")
    c = conn.wait_for_connection(timeout=5, interval=0.01)
    assert (c.account, c.connection_id, c.status, c.scopes) == ("alice-work", "c1", "ACTIVE", ["openid"])
    assert server.counts["connection"] == 3 and server.counts["token-exchange"] == 1


def test_wait_for_connection_times_out_with_connection_required():
    server = FakeServer()
    server.status = [lambda r: resp(403, {"error": "connection_required", "connect_uri": "u"})] * 100
    conn = offline_agent(server).connector("cal", subject_token="u")
    t0 = time.monotonic()
    with pytest.raises(ConnectionRequired) as raised:
        conn.wait_for_connection(timeout=0.2, interval=0.05)
    assert 0.2 <= time.monotonic() - t0 < 2 and raised.value.connect_uri == "u"


def test_upstream_token_is_the_vault_exchange():
    server = FakeServer()
    up = offline_agent(server).connector("cal", subject_token="u", connection_id="c1").upstream_token()
    form = server.forms[-1]
    assert form["requested_issuer"] == ["cal"] and form["connection_id"] == ["c1"] and "actor_token" not in form
    assert up.connection_id == "c1" and "upstream-opaque" not in repr(up)


def test_network_error_is_its_own_value():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(NetworkError) as raised:
        AgentAuth.discover(ISSUER, client_id="a", client_secret="s",
                           http_client=httpx.Client(transport=httpx.MockTransport(down)))
    assert raised.value.code == "network_error" and raised.value.status is None
    assert not isinstance(raised.value, (UpstreamUnavailable, GrantRevoked))
    assert raised.value.to_dict()["type"] == "NetworkError"


def test_discovery_checks_the_issuer():
    def elsewhere(request: httpx.Request) -> httpx.Response:
        return resp(200, {"issuer": "https://evil", "token_endpoint": "t", "authorization_endpoint": "a",
                          "jwks_uri": "j"})

    with pytest.raises(AgentAuthError) as raised:
        AgentAuth.discover(ISSUER, client_id="a", client_secret="s",
                           http_client=httpx.Client(transport=httpx.MockTransport(elsewhere)))
    assert raised.value.code == "discovery_failed" and "https://evil" in raised.value.description


def test_exactly_one_credential():
    with pytest.raises(ValueError):
        offline_agent(private_key=RSAKey.generate_key(2048), client_secret="s")


def test_async_client_shares_the_flows():
    server = FakeServer()
    server.status = [lambda r: resp(403, {"error": "connection_required", "connect_uri": "u"}),
                     lambda r: resp(200, {"connector": "cal", "connection_id": "c1", "account": "w",
                                          "status": "ACTIVE"})]

    async def run() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(server))
        async with await AsyncAgentAuth.discover(ISSUER, client_id="agent", client_secret="s",
                                                 http_client=http) as agent:
            assert await agent.actor_token() == await agent.actor_token()
            ts = await agent.exchange(subject_token="u")
            assert ts.actor == "agent"
            conn = agent.connector("cal", subject_token="u")
            assert (await conn.wait_for_connection(timeout=5, interval=0.01)).account == "w"
            assert (await conn.get("x")).json() == {"ok": True}
        await http.aclose()

    asyncio.run(run())
    assert server.counts["client_credentials"] == 1


def test_parallel_first_calls_share_one_actor_token_and_one_exchange():
    server = FakeServer()

    async def run() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(server))
        async with await AsyncAgentAuth.discover(ISSUER, client_id="agent", client_secret="s",
                                                 http_client=http) as agent:
            conn = agent.connector("cal", subject_token="u")
            answers = await asyncio.gather(*(conn.get(f"x{i}") for i in range(6)))
            assert all(a.status_code == 200 for a in answers)
        await http.aclose()

    asyncio.run(run())
    assert (server.counts["client_credentials"], server.counts["token-exchange"], server.counts["proxy"]) == (1, 1, 6)


def test_parallel_threads_share_one_exchange():
    from concurrent.futures import ThreadPoolExecutor

    server = FakeServer()
    conn = offline_agent(server).connector("cal", subject_token="u")
    with ThreadPoolExecutor(6) as pool:
        assert all(r.status_code == 200 for r in pool.map(lambda i: conn.get(f"x{i}"), range(6)))
    assert (server.counts["client_credentials"], server.counts["token-exchange"]) == (1, 1)
