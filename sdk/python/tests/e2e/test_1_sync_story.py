"""The whole story with the sync client, against the real server, for a fresh user (see conftest.py).

Order matters: each test hands state to the next through ``story.data``.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import sync_playwright

from keycloak_agent_auth import (
    AgentAuth,
    AgentAuthError,
    ConnectionNotFound,
    ConnectionRequired,
    TokenSet,
    UpstreamToken,
    from_dict,
)
from keycloak_agent_auth._core import jwt_header, pkce_pair

from .browser import UserBrowser
from .conftest import account_api, assert_no_token, jwt_claims

UNKNOWN_CONNECTION = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def browser(cfg, story, callback_server):
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=cfg.chromium, headless=True)
        try:
            context = b.new_context(viewport={"width": 1100, "height": 900})
            yield UserBrowser(context.new_page(), callback_server.urls, cfg.screenshots, f"py-{story.suffix}")
        finally:
            b.close()


def assert_redacted(ts: TokenSet) -> None:
    for text in (repr(ts), str(ts), json.dumps(ts.to_dict())):
        assert ts.access_token not in text
        assert_no_token(text)
    assert "[redacted]" in repr(ts)


def test_actor_token_client_credentials_is_cached(agent, cfg):
    first = agent.actor_token()
    assert agent.actor_token() == first, "the client-credentials token is cached"
    claims = jwt_claims(first)
    assert claims["azp"] == cfg.agent
    assert claims["iss"] == cfg.issuer
    assert "act" not in claims
    assert first not in repr(agent)


def test_actor_token_signed_actor_jwt(key_agent, story, cfg):
    one, two = key_agent.actor_token(), key_agent.actor_token()
    assert jwt_header(one)["typ"] == "actor+jwt"
    assert jwt_header(one)["kid"] == story.key.kid
    c1, c2 = jwt_claims(one), jwt_claims(two)
    assert c1["iss"] == c1["sub"] == story.key_agent
    assert c1["aud"] == f"{cfg.issuer}/agent-auth/actor"
    assert 0 < c1["exp"] - c1["iat"] <= 300
    assert c1["jti"] != c2["jti"], "a fresh jti per actor token"


def test_requested_actor_code_flow_with_consent(agent, browser, story, cfg):
    req = agent.authorization_url(client_id=cfg.host, redirect_uri=cfg.redirect_uri, scope="openid profile")
    q = {k: v[0] for k, v in parse_qs(urlsplit(req.url).query).items()}
    assert q["requested_actor"] == cfg.agent and q["code_challenge_method"] == "S256"
    assert req.code_verifier not in repr(req)
    back = browser.authorize(req.url, story.username, story.password, consent=True, shot="consent")
    code = agent.parse_callback(back, state=req.state)
    ts = agent.redeem_code(code=code, code_verifier=req.code_verifier, redirect_uri=cfg.redirect_uri,
                           client_id=cfg.host, client_secret=cfg.host_secret)
    assert ts.subject == story.user_id
    assert ts.act == {"sub": ts.act["sub"], "client_id": cfg.agent, "iss": cfg.issuer} | (
        {"act": ts.act["act"]} if "act" in ts.act else {})
    assert ts.actor == cfg.agent
    assert "profile" in ts.scope
    assert ts.expires_at.timestamp() > time.time()
    assert_redacted(ts)
    story.data["code_flow"] = ts


def test_user_signs_in_to_the_host(browser, story, cfg):
    """The user's own token at agent-host (SSO, no agent): the subject token of every exchange below."""
    verifier, challenge = pkce_pair()
    url = f"{cfg.issuer}/protocol/openid-connect/auth?" + urlencode({
        "client_id": cfg.host, "response_type": "code", "redirect_uri": cfg.redirect_uri,
        "scope": "openid profile email", "state": "plain", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    back = browser.authorize(url, story.username, story.password, consent=False)
    code = parse_qs(urlsplit(back).query)["code"][0]
    r = httpx.post(f"{cfg.issuer}/protocol/openid-connect/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": cfg.redirect_uri,
        "code_verifier": verifier, "client_id": cfg.host, "client_secret": cfg.host_secret})
    assert r.status_code == 200, r.text[:300]
    story.data["user_token"] = r.json()["access_token"]
    claims = jwt_claims(story.data["user_token"])
    assert claims["sub"] == story.user_id and "act" not in claims


def test_exchange_gives_act(agent, story, cfg):
    ts = agent.exchange(subject_token=story.data["user_token"], scope="openid profile")
    assert ts.subject == story.user_id
    assert ts.act["client_id"] == cfg.agent and ts.act["iss"] == cfg.issuer
    assert "act" not in ts.act
    assert set(ts.scope) <= {"openid", "profile"} and "profile" in ts.scope
    assert isinstance(ts.aud, list)
    assert ts.claims["azp"] == cfg.agent
    assert 0 < ts.expires_at.timestamp() - time.time() <= 3600
    assert_redacted(ts)
    story.data["delegated"] = ts


def test_exchange_with_a_refresh_token_then_refresh(agent, story, cfg):
    ts = agent.exchange(subject_token=story.data["user_token"], scope="openid", requested_token_type="refresh_token")
    assert ts.refresh_token and ts.refresh_token not in repr(ts)
    refreshed = agent.refresh(ts.refresh_token)
    assert refreshed.actor == cfg.agent and refreshed.subject == story.user_id
    assert refreshed.access_token != ts.access_token
    assert set(refreshed.scope) <= set(ts.scope)
    story.data["refresh_token"] = refreshed.refresh_token or ts.refresh_token


def test_chain_hop_to_the_downstream_agent(research, story, cfg):
    hop = research.exchange(subject_token=story.data["delegated"])
    assert hop.actor_chain == [cfg.downstream, cfg.agent]
    assert hop.act["act"]["client_id"] == cfg.agent
    assert hop.subject == story.user_id


def test_exchange_with_actor_jwt_and_private_key_jwt(key_agent, story):
    ts = key_agent.exchange(subject_token=story.data["user_token"], scope="openid")
    assert ts.actor == story.key_agent
    assert ts.subject == story.user_id
    assert ts.claims["azp"] == story.key_agent


def test_connection_required(agent, story, cfg):
    conn = agent.connector(cfg.connector, subject_token=story.data["user_token"])
    token = conn.token()
    assert token.aud == [conn.uri] and token.actor == cfg.agent
    assert conn.token() is token, "the connector-resource token is cached"
    with pytest.raises(ConnectionRequired) as raised:
        conn.get("userinfo")
    e = raised.value
    assert (e.code, e.status, e.connector) == ("connection_required", 403, cfg.connector)
    assert e.connect_uri.startswith(f"{cfg.issuer}/agent-auth/connectors/{cfg.connector}/connect?")
    assert e.connect_uri == conn.connect_uri
    d = json.loads(json.dumps(e.to_dict()))
    assert d["type"] == "ConnectionRequired" and d["connect_uri"] == e.connect_uri
    back = from_dict(d)
    assert isinstance(back, ConnectionRequired) and back.connect_uri == e.connect_uri
    assert_no_token(str(e), repr(e), json.dumps(d))
    with pytest.raises(ConnectionRequired):
        conn.connection()  # the status endpoint says the same, without calling the upstream
    t0 = time.monotonic()
    with pytest.raises(ConnectionRequired):
        conn.wait_for_connection(timeout=1.0, interval=0.3)
    assert 0.9 <= time.monotonic() - t0 < 10
    story.data["conn"] = conn
    story.data["connect_uri"] = e.connect_uri


def test_connect_in_the_browser_then_the_same_call_succeeds(browser, story, cfg):
    conn = story.data["conn"]
    first = story.upstream_users[0]
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(conn.wait_for_connection, 90.0, 0.5)  # the agent waits while the user connects
        browser.connect(story.data["connect_uri"], first, first, username=story.username, password=story.password,
                        upstream_realm=cfg.upstream_realm, shot="connect")
        connection = waiting.result(timeout=120)
    assert (connection.connector, connection.account, connection.status) == (cfg.connector, first, "ACTIVE")
    r = conn.get("userinfo")
    assert r.status_code == 200, r.text[:200]
    assert r.json()["preferred_username"] == first
    assert r.headers["x-connection-id"] == connection.connection_id
    story.data["connection_1"] = connection.connection_id


def test_second_account_and_a_chosen_connection(agent, browser, story, cfg):
    second = story.upstream_users[1]
    other = browser.another_browser_session()
    try:
        other.connect(story.data["connect_uri"], second, second, username=story.username, password=story.password,
                      upstream_realm=cfg.upstream_realm, shot="connect-second")
    finally:
        other.page.context.close()
    r = account_api(cfg, story.data["user_token"], "GET", "connections")
    assert r.status_code == 200, r.text[:200]
    ids = {c["account"]: c["id"] for c in r.json() if c["connector"] == cfg.connector}
    assert set(ids) == {story.upstream_users[0], second}
    assert ids[story.upstream_users[0]] == story.data["connection_1"]
    for account, cid in ids.items():
        chosen = agent.connector(cfg.connector, subject_token=story.data["user_token"], connection_id=cid)
        r = chosen.get("userinfo")
        assert r.status_code == 200, f"{account}: HTTP {r.status_code} {r.headers} {r.text[:200]}"
        assert r.json()["preferred_username"] == account
        c = chosen.connection()
        assert (c.connection_id, c.account, c.status) == (cid, account, "ACTIVE")
    story.data["connection_2"] = ids[second]


def test_unknown_connection_id(agent, story, cfg):
    conn = agent.connector(cfg.connector, subject_token=story.data["user_token"], connection_id=UNKNOWN_CONNECTION)
    for call in (lambda: conn.get("userinfo"), conn.connection):
        with pytest.raises(ConnectionNotFound) as raised:
            call()
        assert (raised.value.code, raised.value.status) == ("connection_not_found", 404)
        assert raised.value.to_dict()["connection_id"] == UNKNOWN_CONNECTION


def test_vault_exchange_upstream_token(agent, story, cfg):
    conn = agent.connector(cfg.connector, subject_token=story.data["user_token"],
                           connection_id=story.data["connection_1"])
    assert conn.connection().delivery_mode == "proxy_exchange"
    up = conn.upstream_token()
    assert isinstance(up, UpstreamToken) and up.connection_id == story.data["connection_1"]
    assert up.access_token not in repr(up) and up.access_token not in str(up)
    r = httpx.get(f"{cfg.keycloak_url}/realms/{cfg.upstream_realm}/protocol/openid-connect/userinfo",
                  headers={"Authorization": f"Bearer {up.access_token}"})
    assert r.status_code == 200 and r.json()["preferred_username"] == story.upstream_users[0]


def test_unknown_connector_is_an_error_value(agent, story):
    conn = agent.connector("no-such-connector-" + story.suffix, subject_token=story.data["user_token"])
    with pytest.raises(AgentAuthError) as raised:
        conn.get("userinfo")
    assert raised.value.code == "invalid_target" and raised.value.status == 400
    assert type(raised.value) is AgentAuthError, repr(raised.value)  # not AccessDenied: no such connector


def test_logs_carry_no_token(agent, story, cfg, caplog):
    caplog.set_level(logging.DEBUG)
    ts = agent.exchange(subject_token=story.data["user_token"], scope="openid")
    conn = agent.connector(cfg.connector, subject_token=story.data["user_token"])
    assert conn.get("userinfo").status_code == 200
    conn.connection()
    sdk_lines = [r for r in caplog.records if r.name.startswith("keycloak_agent_auth")]
    assert sdk_lines, "the SDK logs its calls at debug level"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert ts.access_token not in text and story.data["user_token"] not in text
    assert conn.token().access_token not in text
    assert_no_token(text)
