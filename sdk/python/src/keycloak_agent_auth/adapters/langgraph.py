"""LangGraph adapter: ``ConnectionRequired`` as a LangGraph interrupt, resume without hand-written plumbing.

Install with ``pip install "keycloak-agent-auth[langgraph]"``. Inside a node or a tool (the graph needs a
checkpointer, as every LangGraph interrupt does)::

    from keycloak_agent_auth.adapters.langgraph import acall_with_connection

    @tool
    async def read_calendar(config: RunnableConfig) -> dict:
        calendar = agent.connector("demo-calendar", subject_token=config["configurable"]["user_token"])
        return await acall_with_connection(calendar, lambda: calendar.get("userinfo"))

The first time the user has no connected account, the node stops with
``interrupt(ConnectionRequired.to_dict())``: ``graph.invoke(...)["__interrupt__"]`` (or the state's
``interrupts``) carries ``{"type": "ConnectionRequired", "code": "connection_required", "status": 403,
"description": ..., "message": ..., "connector": ..., "connect_uri": ...}`` (the JSON the TypeScript SDK's
``AgentAuthError.fromJSON`` reads too); :func:`connection_interrupts` reads them back as ``ConnectionRequired``
values. Show the link, and once the user has opened it resume with ``Command(resume=True)`` (or :data:`RESUME_CONNECTED`).
LangGraph runs the node again from its start: the call is retried; if it still needs the connection, the adapter
waits (``wait_for_connection``, polling the connection status endpoint, no upstream call) up to ``timeout`` seconds
and retries once more. Resuming with ``False`` / ``{"connected": False}`` (the user declined) raises the
``ConnectionRequired`` in the node instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

try:
    from langgraph.types import Command, Interrupt, interrupt
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'keycloak_agent_auth.adapters.langgraph needs LangGraph: pip install "keycloak-agent-auth[langgraph]"'
    ) from e

from keycloak_agent_auth.errors import ConnectionRequired, from_dict

__all__ = [
    "RESUME_CONNECTED",
    "RESUME_DECLINED",
    "acall_with_connection",
    "call_with_connection",
    "connection_interrupts",
    "resume_connected",
]

T = TypeVar("T")

RESUME_CONNECTED: dict[str, Any] = {"connected": True}
"""The resume value that says the user has opened the connect link (``Command(resume=RESUME_CONNECTED)``)."""

RESUME_DECLINED: dict[str, Any] = {"connected": False}
"""The resume value that says the user declined: the node raises the ``ConnectionRequired``."""


def _declined(answer: Any) -> bool:
    if answer is False or answer is None:
        return True
    if isinstance(answer, dict):
        return answer.get("connected") is False or bool(answer.get("cancelled") or answer.get("declined"))
    return False


def _ask(err: ConnectionRequired) -> None:
    """Interrupt the graph with the error as a plain value; returns when the graph is resumed."""
    answer = interrupt(err.to_dict())
    if _declined(answer):
        raise err


def call_with_connection(connector: Any, fn: Callable[[], T], *, timeout: float = 300.0) -> T:
    """``fn()``; on ``ConnectionRequired``: interrupt, and on resume wait for the connection and call again.

    ``connector`` is the (sync) connector handle ``fn`` uses; its ``wait_for_connection(timeout=)`` is what the
    resume waits on.
    """
    try:
        return fn()
    except ConnectionRequired as err:
        _ask(err)
    connector.wait_for_connection(timeout=timeout)
    return fn()


async def acall_with_connection(connector: Any, fn: Callable[[], Awaitable[T]], *, timeout: float = 300.0) -> T:
    """The async form of :func:`call_with_connection` (an ``AsyncAgentAuth`` connector handle)."""
    try:
        return await fn()
    except ConnectionRequired as err:
        _ask(err)
    await connector.wait_for_connection(timeout=timeout)
    return await fn()


def connection_interrupts(result: Any) -> list[ConnectionRequired]:
    """The ``ConnectionRequired`` values a run stopped on.

    ``result`` is what ``graph.invoke``/``ainvoke`` returned (its ``"__interrupt__"`` list), a ``StateSnapshot``
    (``graph.get_state(config)``, its ``interrupts``), or an iterable of ``Interrupt``.
    """
    items: Iterable[Any]
    if isinstance(result, dict):
        items = result.get("__interrupt__", ())
    elif hasattr(result, "interrupts"):
        items = result.interrupts
    else:
        items = result
    out: list[ConnectionRequired] = []
    for item in items:
        value = item.value if isinstance(item, Interrupt) else item
        if isinstance(value, dict) and value.get("type") == ConnectionRequired.kind:
            err = from_dict(value)
            if isinstance(err, ConnectionRequired):
                out.append(err)
    return out


def resume_connected() -> Command:
    """``Command(resume=RESUME_CONNECTED)``: resume after the user opened the connect link."""
    return Command(resume=dict(RESUME_CONNECTED))
