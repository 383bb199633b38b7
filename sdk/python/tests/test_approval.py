"""Headless approval (CIBA) without a network: the backchannel request ``request_approval`` builds, the poll loop of
``wait_for_approval`` (authorization_pending, slow_down, access_denied, expired_token, timeout), the actor token on
each poll (the cached client-credentials token; a fresh actor+jwt per poll with a key), and no auth_req_id in
anything printable. The sans-IO flows are driven here by hand: every Sleep the loop asks for is recorded and moves a
fake clock instead of waiting. The sync and async shells are run once each over httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Callable
from urllib.parse import parse_qs

import httpx
import pytest
from joserfc import jws
from joserfc.jwk import KeySet, RSAKey

from keycloak_agent_auth import (
    AccessDenied,
    AgentAuth,
    AgentAuthError,
    ApprovalExpired,
    ApprovalRequest,
    AsyncAgentAuth,
    InsufficientScope,
    from_dict,
)
from keycloak_agent_auth._core import CIBA_GRANT, AgentCore, Call, Sleep
from keycloak_agent_auth.models import ProviderMetadata

from .test_core import ISSUER, REALM_KEY, make_token

BACKCHANNEL = f"{ISSUER}/protocol/openid-connect/ext/ciba/auth"
TOKEN = f"{ISSUER}/protocol/openid-connect/token"
AUTH_REQ_ID = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..secret-auth-req-id-value.tag"
CONNECTOR = f"{ISSUER}/agent-auth/connectors/demo-calendar"
METADATA = {"issuer": ISSUER, "token_endpoint": TOKEN, "authorization_endpoint": f"{ISSUER}/protocol/openid-connect/auth",
            "jwks_uri": f"{ISSUER}/protocol/openid-connect/certs", "backchannel_authentication_endpoint": BACKCHANNEL}


def resp(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body)


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


class Realm:
    """The server's side: the backchannel endpoint, the token endpoint (client credentials; CIBA polls answered from
    ``answers`` in turn, the last repeating: an OAuth error code, or ``"token"``), the JWKS. Records each form."""

    def __init__(self, answers: list[str] | None = None, *, interval: Any = 5, expires_in: int = 600,
                 backchannel: Callable[[dict[str, list[str]]], httpx.Response] | None = None) -> None:
        self.answers = answers or ["token"]
        self.interval = interval
        self.expires_in = expires_in
        self.backchannel = backchannel
        self.forms: list[dict[str, list[str]]] = []
        self.polls: list[dict[str, list[str]]] = []
        self.cc = 0

    def __call__(self, method: str, url: str, form: dict[str, list[str]]) -> httpx.Response:
        if url.endswith("/.well-known/openid-configuration"):
            return resp(200, METADATA)
        if url.endswith("/certs"):
            return resp(200, KeySet([REALM_KEY]).as_dict(private=False))
        self.forms.append(form)
        if url == BACKCHANNEL:
            if self.backchannel:
                return self.backchannel(form)
            body = {"auth_req_id": AUTH_REQ_ID, "expires_in": self.expires_in}
            if self.interval is not None:
                body["interval"] = self.interval
            return resp(200, body)
        assert url == TOKEN
        if form["grant_type"] == ["client_credentials"]:
            self.cc += 1
            return resp(200, {"access_token": make_token({"azp": "calendar-agent", "n": self.cc}), "expires_in": 300})
        assert form["grant_type"] == [CIBA_GRANT]
        answer = self.answers[min(len(self.polls), len(self.answers) - 1)]
        self.polls.append(form)
        if answer == "token":
            at = make_token({"sub": "user-1", "aud": CONNECTOR, "scope": "openid profile",
                             "act": {"sub": "sa", "client_id": "calendar-agent", "iss": ISSUER}})
            return resp(200, {"access_token": at, "token_type": "Bearer", "expires_in": 300,
                              "refresh_token": "refresh-secret", "scope": "openid profile"})
        return resp(400, {"error": answer, "error_description": f"answer {answer}"})


def drive(flow: Any, realm: Realm, clock: Clock, sleeps: list[float]) -> Any:
    """Runs a sans-IO flow: Calls go to ``realm``, Sleeps move ``clock`` and are recorded."""
    try:
        op = next(flow)
        while True:
            if isinstance(op, Call):
                data = op.kwargs.get("data") or {}
                form = {k: (v if isinstance(v, list) else [v]) for k, v in data.items()}
                result: Any = realm(op.method, op.url, form)
            else:
                assert isinstance(op, Sleep)
                sleeps.append(op.seconds)
                clock.t += op.seconds
                result = None
            op = flow.send(result)
    except StopIteration as stop:
        return stop.value


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    import keycloak_agent_auth._core as core

    monkeypatch.setattr(core.time, "time", c)
    return c


def core_agent(**kw: Any) -> AgentCore:
    if "private_key" not in kw:
        kw["client_secret"] = "calendar-agent-secret"
    return AgentCore(ProviderMetadata.from_json(METADATA), client_id="calendar-agent", **kw)


def request(agent: AgentCore, realm: Realm, clock: Clock, **kw: Any) -> ApprovalRequest:
    args = {"login_hint": "alice", "scope": "openid profile", "binding_message": "CAL-4711"} | kw
    return drive(agent.approval_request_flow(**args), realm, clock, [])


def test_the_backchannel_request_names_the_agent_the_binding_message_the_action_and_the_resource(clock):
    realm = Realm()
    agent = core_agent()
    r = request(agent, realm, clock, scope=["openid", "profile"], description="Read tomorrow's meetings",
                resource=CONNECTOR, max_age=300)
    form = realm.forms[0]
    assert form["login_hint"] == ["alice"] and form["scope"] == ["openid profile"]
    assert form["binding_message"] == ["CAL-4711"] and form["requested_actor"] == ["calendar-agent"]
    assert form["resource"] == [CONNECTOR] and form["max_age"] == ["300"]
    assert json.loads(form["authorization_details"][0]) == [{"type": "agent_action",
                                                              "description": "Read tomorrow's meetings"}]
    assert form["client_id"] == ["calendar-agent"] and form["client_secret"] == ["calendar-agent-secret"]
    assert r.auth_req_id == AUTH_REQ_ID and r.interval == 5 and r.binding_message == "CAL-4711"
    assert abs(r.expires_at.timestamp() - clock.t - 600) < 1
    bare = Realm()
    request(core_agent(), bare, clock)
    assert not {"resource", "authorization_details", "max_age"} & set(bare.forms[0])


def test_no_auth_req_id_in_repr_str_or_to_dict(clock):
    r = request(core_agent(), Realm(), clock)
    for text in (repr(r), str(r), json.dumps(r.to_dict()), f"{r}", repr([r])):
        assert "secret-auth-req-id" not in text, text
    assert "[redacted]" in repr(r)


def test_refusals_are_error_values_and_missing_arguments_fail_before_any_request(clock):
    realm = Realm(backchannel=lambda f: resp(400, {"error": "invalid_scope", "error_description": "Invalid scopes"}))
    with pytest.raises(InsufficientScope) as raised:
        request(core_agent(), realm, clock, scope="openid email")
    assert (raised.value.code, raised.value.status) == ("invalid_scope", 400)
    realm = Realm(backchannel=lambda f: resp(400, {"error": "invalid_binding_message", "error_description": "x"}))
    with pytest.raises(AgentAuthError) as raised:
        request(core_agent(), realm, clock, binding_message="has space")
    assert raised.value.code == "invalid_binding_message"
    empty = Realm()
    for bad in ({"login_hint": ""}, {"scope": " "}, {"binding_message": ""}):
        with pytest.raises(AgentAuthError) as raised:
            request(core_agent(), empty, clock, **bad)
        assert raised.value.code == "invalid_request"
    assert empty.forms == []
    no_ciba = AgentCore(ProviderMetadata.from_json({k: v for k, v in METADATA.items()
                                                    if k != "backchannel_authentication_endpoint"}),
                        client_id="a", client_secret="s")
    with pytest.raises(AgentAuthError) as raised:
        request(no_ciba, empty, clock)
    assert raised.value.code == "invalid_configuration"


def test_polls_after_the_interval_through_authorization_pending_with_the_cached_actor_token(clock):
    realm = Realm(["authorization_pending", "authorization_pending", "token"])
    agent = core_agent()
    r = request(agent, realm, clock)
    sleeps: list[float] = []
    ts = drive(agent.wait_for_approval_flow(r), realm, clock, sleeps)
    assert sleeps == [5, 5, 5]
    assert len(realm.polls) == 3 and realm.cc == 1
    for p in realm.polls:
        assert p["auth_req_id"] == [AUTH_REQ_ID]
        assert p["actor_token_type"] == ["urn:ietf:params:oauth:token-type:access_token"]
        assert p["client_id"] == ["calendar-agent"]
    assert len({p["actor_token"][0] for p in realm.polls}) == 1
    assert ts.actor == "calendar-agent" and ts.subject == "user-1"
    assert ts.aud == [CONNECTOR] and ts.scope == ["openid", "profile"]
    assert ts.refresh_token == "refresh-secret" and "refresh-secret" not in repr(ts)


def test_slow_down_adds_five_seconds_to_every_later_poll(clock):
    realm = Realm(["slow_down", "authorization_pending", "slow_down", "token"], interval=2)
    agent = core_agent()
    r = request(agent, realm, clock)
    sleeps: list[float] = []
    drive(agent.wait_for_approval_flow(r), realm, clock, sleeps)
    assert sleeps == [2, 7, 7, 12]


def test_without_an_interval_in_the_answer_the_client_waits_five_seconds(clock):
    realm = Realm(interval=None)
    agent = core_agent()
    r = request(agent, realm, clock)
    assert r.interval == 5
    sleeps: list[float] = []
    drive(agent.wait_for_approval_flow(r), realm, clock, sleeps)
    assert sleeps == [5]


@pytest.mark.parametrize("answer,cls", [("access_denied", AccessDenied), ("expired_token", ApprovalExpired),
                                        ("invalid_grant", AgentAuthError)])
def test_denied_expired_and_other_refusals_end_the_wait_at_once(clock, answer, cls):
    realm = Realm(["authorization_pending", answer])
    agent = core_agent()
    r = request(agent, realm, clock)
    with pytest.raises(AgentAuthError) as raised:
        drive(agent.wait_for_approval_flow(r), realm, clock, [])
    e = raised.value
    assert type(e) is cls and (e.code, e.status) == (answer, 400)
    assert len(realm.polls) == 2
    assert "secret-auth-req-id" not in json.dumps(e.to_dict()) + repr(e)
    assert type(from_dict(e.to_dict())) is cls


def test_timeout_is_authorization_pending_without_a_poll_too_early_and_the_request_stays_usable(clock):
    realm = Realm(["authorization_pending", "authorization_pending", "token"])
    agent = core_agent()
    r = request(agent, realm, clock)
    start = clock.t
    sleeps: list[float] = []
    with pytest.raises(AgentAuthError) as raised:
        drive(agent.wait_for_approval_flow(r, timeout=12), realm, clock, sleeps)
    assert type(raised.value) is AgentAuthError and raised.value.code == "authorization_pending"
    assert sleeps == [5, 5, 2] and clock.t - start == pytest.approx(12)
    assert len(realm.polls) == 2
    assert drive(agent.wait_for_approval_flow(r), realm, clock, []).actor == "calendar-agent"


def test_a_request_past_its_expiry_still_pending_at_the_server_ends_as_approval_expired(clock):
    realm = Realm(["authorization_pending"], expires_in=12)
    agent = core_agent()
    r = request(agent, realm, clock)
    with pytest.raises(ApprovalExpired) as raised:
        drive(agent.wait_for_approval_flow(r), realm, clock, [])
    assert raised.value.code == "expired_token"
    assert len(realm.polls) == 3  # at 5, 10 and 15 s (the first after the expiry at 12 s); no more


def test_with_a_private_key_each_poll_carries_a_fresh_actor_jwt(clock):
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    realm = Realm(["authorization_pending", "slow_down", "token"])
    agent = core_agent(private_key=key)
    r = request(agent, realm, clock)
    assert realm.forms[0]["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    drive(agent.wait_for_approval_flow(r), realm, clock, [])
    assert len(realm.polls) == 3 and realm.cc == 0
    jtis = set()
    for p in realm.polls:
        assert p["actor_token_type"] == ["urn:ietf:params:oauth:token-type:jwt"]
        claims = json.loads(jws.extract_compact(p["actor_token"][0].encode()).payload)
        assert claims["aud"] == f"{ISSUER}/agent-auth/actor" and claims["iss"] == "calendar-agent"
        jtis.add(claims["jti"])
    assert len(jtis) == 3


def test_a_refused_cached_actor_token_is_replaced_on_the_next_poll(clock):
    realm = Realm(["token"])
    agent = core_agent()
    r = request(agent, realm, clock)
    drive(agent.actor_token_flow(), realm, clock, [])
    refused = {"done": False}
    original = realm.__call__

    def once_refused(method: str, url: str, form: dict[str, list[str]]) -> httpx.Response:
        if form.get("grant_type") == [CIBA_GRANT] and not refused["done"]:
            refused["done"] = True
            return resp(400, {"error": "invalid_grant",
                              "error_description": "Invalid actor_token: not an active access token of this realm"})
        return original(method, url, form)

    ts = drive(agent.wait_for_approval_flow(r), once_refused, clock, [])  # type: ignore[arg-type]
    assert ts.actor == "calendar-agent" and realm.cc == 2


def test_a_wait_needs_the_approval_request():
    with pytest.raises(AgentAuthError) as raised:
        next(core_agent().wait_for_approval_flow({"auth_req_id": "x"}))  # type: ignore[arg-type]
    assert raised.value.code == "invalid_request"


# ---------------------------------------------------------------------------------------------------------------
# the shells (real sleeps: an interval of 0.05 s)


def transport(realm: Realm) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode()) if request.method == "POST" else {}
        return realm(request.method, str(request.url), form)
    return handle


def test_the_sync_client():
    realm = Realm(["authorization_pending", "token"], interval=0.05)
    with AgentAuth.discover(ISSUER, client_id="calendar-agent", client_secret="s",
                            http_client=httpx.Client(transport=httpx.MockTransport(transport(realm)))) as agent:
        r = agent.request_approval(login_hint="alice", scope="openid", binding_message="S-1", resource=CONNECTOR)
        assert realm.forms[0]["resource"] == [CONNECTOR]
        ts = agent.wait_for_approval(r, timeout=10)
        assert ts.actor == "calendar-agent" and len(realm.polls) == 2


def test_the_async_client():
    realm = Realm(["authorization_pending", "access_denied"], interval=0.05)

    async def run() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(transport(realm)))
        async with await AsyncAgentAuth.discover(ISSUER, client_id="calendar-agent", client_secret="s",
                                                 http_client=http) as agent:
            r = await agent.request_approval(login_hint="alice", scope="openid", binding_message="A-1")
            with pytest.raises(AccessDenied):
                await agent.wait_for_approval(r)
            # a cancelled wait (asyncio.wait_for) leaves the request as it was
            realm.answers = ["authorization_pending"]
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(agent.wait_for_approval(r), 0.2)
        await http.aclose()

    asyncio.run(run())
    assert len(realm.polls) >= 3
