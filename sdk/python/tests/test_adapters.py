"""Unit tests of the framework adapters with the real frameworks (LangGraph, OpenAI Agents SDK) and a scripted
connector handle in place of the server (the end-to-end file runs them against Keycloak)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command

from keycloak_agent_auth import ConnectionRequired, GrantRevoked
from keycloak_agent_auth.adapters.langgraph import (
    RESUME_DECLINED,
    acall_with_connection,
    call_with_connection,
    connection_interrupts,
    resume_connected,
)

LINK = "http://kc.test/realms/r/agent-auth/connectors/demo-calendar/connect?client_id=calendar-agent"


def needed() -> ConnectionRequired:
    return ConnectionRequired(description="no account", status=403, connector="demo-calendar", connect_uri=LINK)


class ScriptedConnector:
    """Answers ConnectionRequired until ``connect()``; counts calls and waits."""

    def __init__(self) -> None:
        self.connected = False
        self.calls = 0
        self.waits = 0

    def connect(self) -> None:
        self.connected = True

    async def get(self, path: str) -> dict[str, Any]:
        self.calls += 1
        if not self.connected:
            raise needed()
        return {"account": "alice-work", "path": path}

    async def connection(self) -> dict[str, Any]:
        if not self.connected:
            raise needed()
        return {"status": "ACTIVE"}

    async def wait_for_connection(self, timeout: float = 300.0) -> dict[str, Any]:
        self.waits += 1
        if not self.connected:
            raise needed()
        return {"status": "ACTIVE"}


class SyncScriptedConnector(ScriptedConnector):
    def get_sync(self, path: str) -> dict[str, Any]:
        self.calls += 1
        if not self.connected:
            raise needed()
        return {"account": "alice-work"}

    def wait_for_connection(self, timeout: float = 300.0) -> dict[str, Any]:  # type: ignore[override]
        self.waits += 1
        if not self.connected:
            raise needed()
        return {"status": "ACTIVE"}


# ---------------------------------------------------------------- LangGraph


def tool_graph(connector: ScriptedConnector):
    @tool
    async def read_calendar() -> dict:
        """Read the calendar."""
        return await acall_with_connection(connector, lambda: connector.get("userinfo"), timeout=5)

    model = GenericFakeChatModel(messages=iter([
        AIMessage(content="", tool_calls=[{"name": "read_calendar", "args": {}, "id": "call_1", "type": "tool_call"}]),
        AIMessage(content="done"),
    ]))

    async def agent(state: MessagesState) -> dict:
        return {"messages": [await model.ainvoke(state["messages"])]}

    g = StateGraph(MessagesState)
    g.add_node("agent", agent)
    g.add_node("tools", ToolNode([read_calendar]))
    g.add_edge(START, "agent")
    g.add_conditional_edges("agent", tools_condition, ["tools", END])
    g.add_edge("tools", "agent")
    return g.compile(checkpointer=InMemorySaver())


async def test_langgraph_interrupt_carries_the_error_as_plain_json_then_resume_retries():
    connector = ScriptedConnector()
    graph = tool_graph(connector)
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    state = await graph.ainvoke({"messages": [HumanMessage("calendar?")]}, config)
    raw = state["__interrupt__"]
    assert len(raw) == 1
    assert raw[0].value == needed().to_dict()
    json.dumps(raw[0].value)  # crosses the framework boundary as plain JSON
    errs = connection_interrupts(state)
    assert [(e.connector, e.connect_uri, e.code) for e in errs] == [("demo-calendar", LINK, "connection_required")]
    # the snapshot says the same
    assert [e.connect_uri for e in connection_interrupts(await graph.aget_state(config))] == [LINK]

    connector.connect()
    state = await graph.ainvoke(resume_connected(), config)
    assert "__interrupt__" not in state
    tool_msg = [m for m in state["messages"] if isinstance(m, ToolMessage)][-1]
    assert json.loads(tool_msg.content) == {"account": "alice-work", "path": "userinfo"}
    assert state["messages"][-1].content == "done"


async def test_langgraph_resume_before_the_user_connected_waits_then_retries():
    connector = ScriptedConnector()
    graph = tool_graph(connector)
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    await graph.ainvoke({"messages": [HumanMessage("calendar?")]}, config)

    # resumed while still unconnected: the node reruns, the call fails again, the adapter waits (the scripted
    # wait connects the user on the first poll) and retries
    async def wait(timeout: float = 300.0) -> dict[str, Any]:
        connector.waits += 1
        connector.connect()
        return {"status": "ACTIVE"}

    connector.wait_for_connection = wait  # type: ignore[method-assign]
    state = await graph.ainvoke(Command(resume={"connected": True}), config)
    assert connector.waits == 1
    assert connector.calls == 3  # first run, rerun on resume, retry after the wait
    assert "__interrupt__" not in state


async def test_langgraph_declined_raises_the_connection_required_in_the_node():
    connector = ScriptedConnector()
    graph = tool_graph(connector)
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    await graph.ainvoke({"messages": [HumanMessage("calendar?")]}, config)
    with pytest.raises(ConnectionRequired) as info:
        await graph.ainvoke(Command(resume=dict(RESUME_DECLINED)), config)
    assert info.value.connect_uri == LINK
    assert connector.waits == 0


def test_langgraph_sync_helper_and_other_errors_pass_through():
    # outside a graph, interrupt() cannot run: the helper is only for nodes; but a call that succeeds needs none
    c = SyncScriptedConnector()
    c.connect()
    assert call_with_connection(c, lambda: c.get_sync("x")) == {"account": "alice-work"}

    def revoked() -> None:
        raise GrantRevoked("invalid_grant", "grant revoked", status=400)

    with pytest.raises(GrantRevoked):
        call_with_connection(c, revoked)


def test_langgraph_sync_graph_interrupt_and_resume():
    connector = SyncScriptedConnector()

    def read(state: MessagesState) -> dict:
        result = call_with_connection(connector, lambda: connector.get_sync("userinfo"), timeout=5)
        return {"messages": [AIMessage(content=json.dumps(result))]}

    g = StateGraph(MessagesState)
    g.add_node("read", read)
    g.add_edge(START, "read")
    g.add_edge("read", END)
    graph = g.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    state = graph.invoke({"messages": [HumanMessage("calendar?")]}, config)
    assert [e.connect_uri for e in connection_interrupts(state)] == [LINK]
    connector.connect()
    state = graph.invoke(resume_connected(), config)
    assert json.loads(state["messages"][-1].content) == {"account": "alice-work"}
    assert connector.calls == 2


def test_connection_interrupts_ignores_other_interrupts():
    from langgraph.types import Interrupt

    items = [Interrupt(value={"question": "ok?"}, id="a"), Interrupt(value=needed().to_dict(), id="b"), "x"]
    assert [e.connect_uri for e in connection_interrupts(items)] == [LINK]
    assert connection_interrupts({"messages": []}) == []


# ---------------------------------------------------------------- OpenAI Agents SDK

from agents import Agent, ModelResponse, RunContextWrapper, Runner, Usage, set_tracing_disabled  # noqa: E402
from agents.models.interface import Model  # noqa: E402
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText  # noqa: E402

from keycloak_agent_auth.adapters.openai_agents import ConnectionGate  # noqa: E402

set_tracing_disabled(True)  # no OpenAI account: nothing to export traces to


class ScriptedModel(Model):
    """A model stand-in (the SDK ships none): calls ``tool`` once, then answers with the tool's output."""

    def __init__(self, tool_name: str) -> None:
        self.tool_name = tool_name

    async def get_response(self, system_instructions, input, model_settings, tools, output_schema, handoffs,
                           tracing, *, previous_response_id=None, conversation_id=None, prompt=None, **kw):
        items = input if isinstance(input, list) else [{"role": "user", "content": input}]
        outputs = [i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
        if outputs:
            text = f"calendar: {outputs[-1]['output']}"
            msg = ResponseOutputMessage(id="msg_1", type="message", role="assistant", status="completed",
                                        content=[ResponseOutputText(type="output_text", text=text, annotations=[])])
            return ModelResponse(output=[msg], usage=Usage(), response_id=None)
        call = ResponseFunctionToolCall(id="fc_1", type="function_call", call_id=f"call_{uuid.uuid4().hex[:8]}",
                                        name=self.tool_name, arguments="{}", status="completed")
        return ModelResponse(output=[call], usage=Usage(), response_id=None)

    def stream_response(self, *args, **kwargs):  # pragma: no cover - not used
        raise NotImplementedError


def gated_agent(connector: ScriptedConnector) -> tuple[Agent, ConnectionGate]:
    gate = ConnectionGate(lambda ctx: connector, timeout=5)

    @gate.tool
    async def read_calendar(ctx: RunContextWrapper[Any]) -> str:
        """Read the calendar."""
        return json.dumps(await gate.connector(ctx).get("userinfo"))

    return Agent(name="calendar", instructions="", tools=[read_calendar], model=ScriptedModel("read_calendar")), gate


async def test_openai_agents_connection_required_is_a_tool_approval_then_resume():
    connector = ScriptedConnector()
    agent, gate = gated_agent(connector)
    result = await Runner.run(agent, "calendar?")
    assert len(result.interruptions) == 1
    pending = gate.pending(result)
    assert len(pending) == 1
    item, err = pending[0]
    assert item.tool_name == "read_calendar"
    assert err.to_dict() == needed().to_dict()
    assert connector.calls == 0  # the tool did not run

    connector.connect()
    state = await gate.approve_when_connected(result)
    result = await Runner.run(agent, state)
    assert result.interruptions == []
    assert '"account": "alice-work"' in result.final_output
    assert connector.calls == 1
    assert gate.pending(state) == []


async def test_openai_agents_connected_user_is_not_interrupted():
    connector = ScriptedConnector()
    connector.connect()
    agent, gate = gated_agent(connector)
    result = await Runner.run(agent, "calendar?")
    assert result.interruptions == []
    assert "alice-work" in result.final_output


async def test_openai_agents_wait_times_out_with_the_error_and_reject_tells_the_model():
    connector = ScriptedConnector()
    agent, gate = gated_agent(connector)
    result = await Runner.run(agent, "calendar?")
    with pytest.raises(ConnectionRequired):
        await gate.approve_when_connected(result, timeout=0)
    state = gate.reject(result)
    result = await Runner.run(agent, state)
    assert result.interruptions == []
    assert "did not connect a demo-calendar account" in result.final_output
    assert connector.calls == 0


def test_openai_agents_failure_function_gives_the_model_the_link_not_an_exception():
    text = ConnectionGate.failure(None, needed())  # type: ignore[arg-type]
    body = json.loads(text)
    assert body["code"] == "connection_required" and body["connect_uri"] == LINK and LINK in body["instructions"]
    assert body["type"] == "ConnectionRequired" and body["message"] == f"connection_required (HTTP 403): no account (connect at {LINK})"
    wrapped = RuntimeError("tool failed")
    wrapped.__cause__ = GrantRevoked("invalid_grant", "revoked", status=400)
    assert json.loads(ConnectionGate.failure(None, wrapped))["type"] == "GrantRevoked"  # type: ignore[arg-type]
    assert "ValueError" in ConnectionGate.failure(None, ValueError("secret eyJabc.eyJdef.sig"))  # type: ignore[arg-type]
    assert "eyJ" not in ConnectionGate.failure(None, ValueError("secret eyJabc.eyJdef.sig"))  # type: ignore[arg-type]
