"""The example's graph offline: a scripted agent in place of Keycloak (the end-to-end run against the real server is
sdk/python/tests/e2e/test_mcp_adapters_e2e.py).

Run: ``pytest examples/python-calendar-agent`` (in the venv of the README)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import ToolMessage

import calendar_agent
from keycloak_agent_auth import ConnectionRequired

pytestmark = pytest.mark.asyncio  # also when run from outside sdk/python (no asyncio_mode=auto there)

LINK = "http://kc.test/realms/agents-demo/agent-auth/connectors/demo-calendar/connect?client_id=calendar-agent"


class ScriptedAgent:
    """Answers connection_required until the user "connects"; records the tokens it was handed."""

    def __init__(self) -> None:
        self.connected = False
        self.tokens: list[Any] = []
        self.proxy_calls = 0

    def connector(self, alias: str, *, subject_token: Any, connection_id: str | None = None) -> "ScriptedAgent":
        assert alias == "demo-calendar"
        self.tokens.append(subject_token)
        return self

    async def get(self, path: str) -> httpx.Response:
        assert path == "userinfo"
        self.proxy_calls += 1
        if not self.connected:
            raise ConnectionRequired(description="no account", status=403, connector="demo-calendar",
                                     connect_uri=LINK)
        return httpx.Response(200, json={"preferred_username": "alice-work", "name": "Alice Work"},
                              headers={"X-Connection-Id": "c-1"})

    async def wait_for_connection(self, timeout: float = 300.0) -> dict[str, Any]:
        if not self.connected:
            raise ConnectionRequired(status=403, connector="demo-calendar", connect_uri=LINK)
        return {"status": "ACTIVE"}


async def test_interrupt_with_the_link_then_resume_reads_the_calendar():
    agent = ScriptedAgent()
    links: list[str] = []

    async def on_connect(link: str) -> None:
        links.append(link)
        agent.connected = True  # the user opened the link and connected

    state = await calendar_agent.run(agent, "user-token", "What is on my calendar?", on_connect)  # type: ignore[arg-type]
    assert links == [LINK]
    assert calendar_agent.calendar_result(state) == {"connector": "demo-calendar", "connection_id": "c-1",
                                                     "account": "alice-work", "name": "Alice Work", "email": None}
    assert state["messages"][-1].content == "Here is what your calendar account says."
    assert set(agent.tokens) == {"user-token"}  # the token came from the run's config, never from the state
    assert all("user-token" not in json.dumps(m.content) for m in state["messages"])
    assert agent.proxy_calls == 2


async def test_a_connected_user_is_not_interrupted():
    agent = ScriptedAgent()
    agent.connected = True

    async def on_connect(link: str) -> None:
        raise AssertionError("no interrupt expected")

    state = await calendar_agent.run(agent, "user-token", "calendar?", on_connect)  # type: ignore[arg-type]
    tool_messages = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_messages) == 1 and calendar_agent.calendar_result(state)["account"] == "alice-work"
