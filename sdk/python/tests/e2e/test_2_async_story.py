"""The same story with the async client (AsyncAgentAuth), on the user and accounts the sync story set up."""

from __future__ import annotations

import asyncio
import json

import pytest

from keycloak_agent_auth import AccessDenied, AsyncAgentAuth, ConnectionNotFound
from keycloak_agent_auth._core import jwt_header

from .conftest import assert_no_token, jwt_claims

pytestmark = pytest.mark.asyncio


async def test_async_actor_tokens_exchange_and_chain(cfg, story):
    async with await AsyncAgentAuth.discover(cfg.issuer, client_id=cfg.agent, client_secret=cfg.agent_secret) as agent:
        first = await agent.actor_token()
        assert await agent.actor_token() == first
        assert jwt_claims(first)["azp"] == cfg.agent
        ts = await agent.exchange(subject_token=story.data["user_token"], scope=["openid", "profile"])
        assert ts.actor == cfg.agent and ts.subject == story.user_id
        assert "profile" in ts.scope
        assert ts.access_token not in repr(ts)
    async with await AsyncAgentAuth.discover(cfg.issuer, client_id=cfg.downstream,
                                             client_secret=cfg.downstream_secret) as research:
        hop = await research.exchange(subject_token=ts)
        assert hop.actor_chain == [cfg.downstream, cfg.agent]
    async with await AsyncAgentAuth.discover(cfg.issuer, client_id=story.key_agent, private_key=story.key) as keyed:
        actor = await keyed.actor_token()
        assert jwt_header(actor)["typ"] == "actor+jwt"
        signed = await keyed.exchange(subject_token=story.data["user_token"])
        assert signed.actor == story.key_agent


async def test_async_connector_calls(cfg, story):
    async with await AsyncAgentAuth.discover(cfg.issuer, client_id=cfg.agent, client_secret=cfg.agent_secret) as agent:
        conn = agent.connector(cfg.connector, subject_token=story.data["user_token"])
        connected = await conn.wait_for_connection(timeout=5, interval=0.5)  # connected already: returns at once
        assert connected.account in story.upstream_users and connected.status == "ACTIVE"
        r = await conn.get("userinfo")
        assert r.status_code == 200 and r.json()["preferred_username"] == connected.account
        # parallel calls share one cached connector-resource token
        answers = await asyncio.gather(*(conn.get("userinfo") for _ in range(4)))
        assert {a.json()["preferred_username"] for a in answers} == {connected.account}
        for cid, account in ((story.data["connection_1"], story.upstream_users[0]),
                             (story.data["connection_2"], story.upstream_users[1])):
            chosen = agent.connector(cfg.connector, subject_token=story.data["user_token"], connection_id=cid)
            assert (await chosen.get("userinfo")).json()["preferred_username"] == account
            assert (await chosen.connection()).account == account
            up = await chosen.upstream_token()
            assert up.connection_id == cid and up.access_token not in repr(up)
        unknown = conn.with_connection("00000000-0000-4000-8000-000000000000")
        with pytest.raises(ConnectionNotFound) as raised:
            await unknown.get("userinfo")
        assert raised.value.code == "connection_not_found"


async def test_async_connector_not_in_the_grant_is_access_denied(cfg, story):
    """The temporary agent's grant (admin API, no connector) does not cover demo-calendar, though its policy does:
    the exchange for the connector's token is refused (400 invalid_target), an AccessDenied value as the proxy's 403
    access_denied for the same reason would be."""
    async with await AsyncAgentAuth.discover(cfg.issuer, client_id=story.key_agent, private_key=story.key) as keyed:
        conn = keyed.connector(cfg.connector, subject_token=story.data["user_token"])
        with pytest.raises(AccessDenied) as raised:
            await conn.get("userinfo")
        e = raised.value
        assert (e.code, e.status) == ("invalid_target", 400)
        assert "is not in the user's delegation grant" in e.description
        d = json.loads(json.dumps(e.to_dict()))
        assert d["type"] == "AccessDenied"
        assert_no_token(str(e), repr(e), json.dumps(d))
