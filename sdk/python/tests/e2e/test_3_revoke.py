"""The user revokes calendar-agent's grant (their own account API): every later use is a GrantRevoked value, from
the sync and the async client, on the proxy, the status endpoint, the vault exchange, a new exchange and a chain
hop; the temporary agent's separate grant keeps working (a revoked grant is not a network error, nor global)."""

from __future__ import annotations

import json

import pytest

from keycloak_agent_auth import AsyncAgentAuth, GrantRevoked, from_dict

from .conftest import account_api, assert_no_token


def test_user_revokes_the_grant(story, cfg, agent):
    conn = story.data["conn"]
    assert conn.get("userinfo").status_code == 200  # the cached connector token works before
    r = account_api(cfg, story.data["user_token"], "GET", "delegations")
    assert r.status_code == 200, r.text[:200]
    grants = [g for g in r.json() if g["agent"] == cfg.agent and g["host"] == cfg.host]
    assert len(grants) == 1, [(g["agent"], g["host"]) for g in r.json()]
    r = account_api(cfg, story.data["user_token"], "DELETE", f"delegations/{grants[0]['id']}")
    assert r.status_code == 204, r.text[:200]


def _check(e: GrantRevoked, code: str, status: int) -> None:
    assert (e.code, e.status) == (code, status), repr(e)
    d = json.loads(json.dumps(e.to_dict()))
    assert d["type"] == "GrantRevoked"
    assert isinstance(from_dict(d), GrantRevoked)
    assert_no_token(str(e), repr(e), json.dumps(d))


def test_sync_client_sees_grant_revoked(story, cfg, agent, research):
    conn = story.data["conn"]  # holds a connector-resource token issued before the revocation
    with pytest.raises(GrantRevoked) as proxy:
        conn.get("userinfo")
    _check(proxy.value, "invalid_token", 401)
    assert proxy.value.description.startswith("The delegation is no longer valid")
    with pytest.raises(GrantRevoked) as status:
        conn.connection()
    _check(status.value, "invalid_token", 401)
    with pytest.raises(GrantRevoked) as vault:
        conn.upstream_token()
    _check(vault.value, "invalid_request", 400)
    with pytest.raises(GrantRevoked) as exchange:
        agent.exchange(subject_token=story.data["user_token"])
    _check(exchange.value, "invalid_request", 400)
    with pytest.raises(GrantRevoked) as hop:
        research.exchange(subject_token=story.data["delegated"])
    _check(hop.value, "invalid_request", 400)
    with pytest.raises(GrantRevoked) as refresh:
        agent.refresh(story.data["refresh_token"])
    assert refresh.value.status == 400 and refresh.value.code in ("invalid_grant", "invalid_request")
    fresh = agent.connector(cfg.connector, subject_token=story.data["user_token"])
    with pytest.raises(GrantRevoked):
        fresh.get("userinfo")  # a new handle cannot even get its connector token


def test_async_client_sees_grant_revoked(story, cfg):
    import asyncio

    async def run() -> None:
        async with await AsyncAgentAuth.discover(cfg.issuer, client_id=cfg.agent,
                                                 client_secret=cfg.agent_secret) as agent:
            with pytest.raises(GrantRevoked) as exchange:
                await agent.exchange(subject_token=story.data["user_token"])
            _check(exchange.value, "invalid_request", 400)
            conn = agent.connector(cfg.connector, subject_token=story.data["user_token"])
            with pytest.raises(GrantRevoked):
                await conn.get("userinfo")
            with pytest.raises(GrantRevoked):
                await conn.wait_for_connection(timeout=5, interval=0.5)  # not retried: a revoked grant is final

    asyncio.run(run())


def test_other_grants_still_work(story, key_agent):
    ts = key_agent.exchange(subject_token=story.data["user_token"], scope="openid")
    assert ts.actor == story.key_agent
