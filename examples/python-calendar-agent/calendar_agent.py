"""A LangGraph agent that reads the user's calendar through Keycloak's brokered proxy.

The agent is the demo realm's ``calendar-agent``. Its one tool, ``read_calendar``, calls the connector
``demo-calendar`` (``proxy/userinfo``: the user's linked upstream-saas account stands in for a calendar API) with
the Python SDK; the agent never holds the upstream token. When the user has not connected an account yet, the tool
stops the graph with a LangGraph interrupt carrying the connect link (``ConnectionRequired.to_dict()``); once the
user has connected, ``Command(resume=...)`` runs the tool again and the graph answers.

No LLM key needed: the model is LangChain's own ``GenericFakeChatModel`` scripted to call the tool, then answer.
Pass ``model=`` to :func:`build_graph` (a chat model with ``.bind_tools([read_calendar])`` applied) for a real one.

Run it against the demo (``./run-demo.sh``), see README.md::

    python calendar_agent.py            # prints a login link, then the connect link, then the calendar
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import uuid
import webbrowser
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from keycloak_agent_auth import AgentAuthError, AsyncAgentAuth, TokenSet
from keycloak_agent_auth.adapters.langgraph import acall_with_connection, connection_interrupts, resume_connected

KEYCLOAK_URL = os.environ.get("KEYCLOAK_URL", "http://localhost:8080").rstrip("/")
REALM = os.environ.get("REALM", "agents-demo")
AGENT_ID = os.environ.get("AGENT_CLIENT_ID", "calendar-agent")
AGENT_SECRET = os.environ.get("AGENT_CLIENT_SECRET", "calendar-agent-secret")
HOST_ID = os.environ.get("HOST_CLIENT_ID", "agent-host")
HOST_SECRET = os.environ.get("HOST_CLIENT_SECRET", "agent-host-secret")
CONNECTOR = os.environ.get("CONNECTOR", "demo-calendar")


def scripted_model() -> BaseChatModel:
    """LangChain's fake chat model: first a call of ``read_calendar``, then a closing answer."""
    return GenericFakeChatModel(messages=iter([
        AIMessage(content="", tool_calls=[{"name": "read_calendar", "args": {}, "id": f"call_{uuid.uuid4().hex[:8]}",
                                           "type": "tool_call"}]),
        AIMessage(content="Here is what your calendar account says."),
    ]))


def build_graph(agent: AsyncAgentAuth, *, model: BaseChatModel | None = None, connect_timeout: float = 300.0,
                checkpointer: Any = None):
    """The agent graph: ``agent`` (the model) -> ``tools`` (``read_calendar``) -> ``agent`` -> end.

    The user's token travels in the run's config: ``{"configurable": {"thread_id": ..., "user_token": <str or
    TokenSet>}}``; the graph never stores it in its state.
    """

    @tool
    async def read_calendar(config: RunnableConfig) -> dict:
        """Read the user's calendar account (the connected demo-calendar account's profile)."""
        calendar = agent.connector(CONNECTOR, subject_token=config["configurable"]["user_token"])
        response = await acall_with_connection(calendar, lambda: calendar.get("userinfo"), timeout=connect_timeout)
        profile = response.json()
        return {
            "connector": CONNECTOR,
            "connection_id": response.headers.get("X-Connection-Id"),
            "account": profile.get("preferred_username"),
            "name": profile.get("name"),
            "email": profile.get("email"),
        }

    llm = model or scripted_model()

    async def call_model(state: MessagesState) -> dict:
        return {"messages": [await llm.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", call_model)
    graph.add_node("tools", ToolNode([read_calendar]))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=checkpointer or InMemorySaver())


def calendar_result(state: dict[str, Any]) -> dict[str, Any] | None:
    """The last ``read_calendar`` answer in a finished run's messages."""
    for message in reversed(state.get("messages", [])):
        if isinstance(message, ToolMessage) and message.name == "read_calendar":
            content = message.content
            return json.loads(content) if isinstance(content, str) else content
    return None


async def run(agent: AsyncAgentAuth, user_token: str | TokenSet, question: str,
              on_connect: Callable[[str], Awaitable[None]], *, connect_timeout: float = 300.0) -> dict[str, Any]:
    """One conversation turn: run the graph; on a connect interrupt call ``on_connect(link)`` and resume."""
    graph = build_graph(agent, connect_timeout=connect_timeout)
    config = {"configurable": {"thread_id": str(uuid.uuid4()), "user_token": user_token}}
    state = await graph.ainvoke({"messages": [HumanMessage(question)]}, config)
    while needed := connection_interrupts(state):
        for err in needed:
            await on_connect(err.connect_uri)
        state = await graph.ainvoke(resume_connected(), config)
    return state


async def login(agent: AsyncAgentAuth, open_url: Callable[[str], Awaitable[None]], *, port: int = 0,
                timeout: float = 300.0) -> TokenSet:
    """The host app's side of ``requested_actor`` (DESIGN section 4): the user signs in and allows the agent on
    the consent screen; the token comes back for the connector (``resource`` = its URI, ``act`` = the agent)."""
    got: dict[str, str] = {}
    done = threading.Event()

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if not self.path.startswith("/callback?") or "url" in got:
                self.send_error(404)  # e.g. the browser's /favicon.ico
                return
            got["url"] = f"http://127.0.0.1:{self.server.server_port}{self.path}"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"<!doctype html><title>calendar agent</title><p>Signed in. You can close this tab.</p>")
            done.set()

        def log_message(self, *args: Any) -> None:  # quiet: the URL carries the code
            pass

    server = HTTPServer(("127.0.0.1", port), Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        redirect_uri = f"http://127.0.0.1:{server.server_port}/callback"
        connector_uri = f"{agent.issuer}/agent-auth/connectors/{CONNECTOR}"
        request = agent.authorization_url(client_id=HOST_ID, redirect_uri=redirect_uri, scope="openid",
                                          resource=connector_uri)
        await open_url(request.url)
        if not await asyncio.to_thread(done.wait, timeout):
            raise TimeoutError("no sign-in within the time allowed")
        code = agent.parse_callback(got["url"], state=request.state)
        return await agent.redeem_code(code=code, code_verifier=request.code_verifier, redirect_uri=redirect_uri,
                                       client_id=HOST_ID, client_secret=HOST_SECRET, resource=connector_uri)
    finally:
        server.shutdown()
        server.server_close()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("question", nargs="?", default="What is on my calendar?")
    parser.add_argument("--no-browser", action="store_true", help="only print the links")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the user (default 300)")
    args = parser.parse_args()

    async def show(kind: str, url: str) -> None:
        print(f"\n{kind}:\n  {url}\n", flush=True)
        if not args.no_browser:
            webbrowser.open(url)

    async with await AsyncAgentAuth.discover(f"{KEYCLOAK_URL}/realms/{REALM}", client_id=AGENT_ID,
                                             client_secret=AGENT_SECRET) as agent:
        try:
            token = await login(agent, lambda url: show("Sign in and allow the agent (e.g. alice / alice)", url),
                                timeout=args.timeout)
            print(f"Signed in: {token.subject} delegates to {token.actor}", flush=True)

            async def on_connect(link: str) -> None:
                await show("Connect your calendar account (e.g. alice-work / alice-work), then come back", link)
                print("Waiting until the account is connected ...", flush=True)

            state = await run(agent, token, args.question, on_connect, connect_timeout=args.timeout)
        except AgentAuthError as e:
            print(json.dumps(e.to_dict(), indent=2), file=sys.stderr)
            return 1
    print(state["messages"][-1].content)
    print(json.dumps(calendar_result(state), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
