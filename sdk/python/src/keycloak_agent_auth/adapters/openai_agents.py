"""OpenAI Agents SDK adapter: ``ConnectionRequired`` as the SDK's human-in-the-loop value, a tool approval.

Install with ``pip install "keycloak-agent-auth[openai-agents]"``.

The OpenAI Agents SDK pauses a run for a person through tool approval: a ``FunctionTool`` whose ``needs_approval``
answers ``True`` for a call stops the run before the tool runs; ``RunResult.interruptions`` lists the
``ToolApprovalItem``s; the application calls ``RunState.approve(item)`` (or ``reject``) on ``result.to_state()``
and runs again with ``Runner.run(agent, state)``, which executes the approved call. That is exactly the shape of
"the user must connect an account first": so :class:`ConnectionGate` makes a tool whose ``needs_approval`` asks
the connection status endpoint (no upstream call) and answers ``True`` only when the user has no connected
account, remembering the ``ConnectionRequired`` (its ``connect_uri``) for that call id.

    gate = ConnectionGate(lambda ctx: agent.connector("demo-calendar", subject_token=ctx.context.user_token))

    @gate.tool
    async def read_calendar(ctx: RunContextWrapper[UserContext]) -> str:
        return (await gate.connector(ctx).get("userinfo")).text

    result = await Runner.run(my_agent, "What is on my calendar?", context=user)
    for item, err in gate.pending(result):            # err: ConnectionRequired, err.to_dict() is plain JSON
        tell_the_user(err.connect_uri)
    state = await gate.approve_when_connected(result)  # waits for the connection, then state.approve(item)
    result = await Runner.run(my_agent, state)

A call approved without waiting (the user clicked "done" too early) still cannot leak: the tool's own call raises
``ConnectionRequired`` again, and the tool's failure function hands the model its ``to_dict()`` JSON with the
link instead of an exception. Calls for users who are connected never interrupt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

try:
    from agents import FunctionTool, RunContextWrapper, RunState, ToolApprovalItem, function_tool
    from agents.result import RunResultBase
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'keycloak_agent_auth.adapters.openai_agents needs the OpenAI Agents SDK: '
        'pip install "keycloak-agent-auth[openai-agents]"'
    ) from e

from keycloak_agent_auth.errors import AgentAuthError, ConnectionRequired

__all__ = ["ConnectionGate", "connection_status"]


async def connection_status(handle: Any) -> Any:
    """The handle's connection (the connection status endpoint); raises ``ConnectionRequired`` when none."""
    for name in ("connection", "status", "get_connection"):
        method = getattr(handle, name, None)
        if callable(method):
            return await method()
    return await handle.wait_for_connection(timeout=0)


def _call_id(item: ToolApprovalItem) -> str | None:
    raw = item.raw_item
    value = raw.get("call_id") if isinstance(raw, dict) else getattr(raw, "call_id", None)
    return value if isinstance(value, str) else None


class ConnectionGate:
    """Tools that interrupt the run (as a tool approval) while the user has no connected account.

    ``connector`` maps the run context to the user's (async) connector handle, e.g.
    ``lambda ctx: agent.connector("demo-calendar", subject_token=ctx.context.user_token)``.

    The gate remembers which pending calls wait for a connection in memory: call :meth:`pending` and
    :meth:`approve_when_connected` in the process that ran the agent (a ``RunState`` resumed elsewhere can still be
    approved with ``state.approve(item)`` after the user connected).
    """

    def __init__(self, connector: Callable[[RunContextWrapper[Any]], Any], *, timeout: float = 300.0) -> None:
        self._connector = connector
        self.timeout = timeout
        self._pending: dict[str, ConnectionRequired] = {}
        self._handles: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"ConnectionGate(pending={sorted(self._pending)!r})"

    def connector(self, ctx: RunContextWrapper[Any]) -> Any:
        """The user's connector handle for this run context."""
        return self._connector(ctx)

    async def needs_approval(self, ctx: RunContextWrapper[Any], params: dict[str, Any], call_id: str) -> bool:
        """``needs_approval`` for a ``FunctionTool``: ``True`` only while the user has no connected account."""
        handle = self._connector(ctx)
        try:
            await connection_status(handle)
        except ConnectionRequired as err:
            self._pending[call_id] = err
            self._handles[call_id] = handle
            return True
        self._pending.pop(call_id, None)
        self._handles.pop(call_id, None)
        return False

    @staticmethod
    def failure(ctx: RunContextWrapper[Any], error: Exception) -> str:
        """The tool's failure function: an agent error reaches the model as its ``to_dict()`` JSON (plus
        ``instructions`` with the link for a ``ConnectionRequired``, as the MCP helpers' tool errors)."""
        cause = error
        while cause is not None and not isinstance(cause, AgentAuthError):
            cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
        if isinstance(cause, AgentAuthError):
            body = cause.to_dict()
            if isinstance(cause, ConnectionRequired) and cause.connect_uri:
                body["instructions"] = (
                    f"The user must connect their {cause.connector} account first: ask them to open "
                    f"{cause.connect_uri}, then try again."
                )
            return json.dumps(body)
        return f"An error occurred while running the tool: {type(error).__name__}"

    def tool(self, fn: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        """``function_tool`` with this gate's ``needs_approval`` and failure function (usable bare or with kwargs)."""

        def make(f: Callable[..., Any]) -> FunctionTool:
            kwargs.setdefault("failure_error_function", self.failure)
            return function_tool(f, needs_approval=self.needs_approval, **kwargs)

        return make(fn) if fn is not None else make

    def pending(self, result: RunResultBase | RunState) -> list[tuple[ToolApprovalItem, ConnectionRequired]]:
        """The interruptions of ``result`` that wait for a connection, each with its ``ConnectionRequired``."""
        items = result.get_interruptions() if isinstance(result, RunState) else result.interruptions
        out = []
        for item in items:
            call_id = _call_id(item)
            if call_id is not None and call_id in self._pending:
                out.append((item, self._pending[call_id]))
        return out

    async def approve_when_connected(
        self, result: RunResultBase | RunState, *, timeout: float | None = None
    ) -> RunState:
        """Wait until the user has connected (each pending call's connector), approve those calls, and return the
        ``RunState`` to pass to ``Runner.run``. Raises ``ConnectionRequired`` when the wait times out."""
        state = result if isinstance(result, RunState) else result.to_state()
        for item, _err in self.pending(state):
            call_id = _call_id(item)
            assert call_id is not None
            await self._handles[call_id].wait_for_connection(timeout=self.timeout if timeout is None else timeout)
            state.approve(item)
            self._pending.pop(call_id, None)
            self._handles.pop(call_id, None)
        return state

    def reject(self, result: RunResultBase | RunState, message: str | None = None) -> RunState:
        """Reject the pending calls (the user declined to connect); the model is told so."""
        state = result if isinstance(result, RunState) else result.to_state()
        for item, err in self.pending(state):
            state.reject(item, rejection_message=message or f"The user did not connect a {err.connector} account.")
            call_id = _call_id(item)
            self._pending.pop(call_id or "", None)
            self._handles.pop(call_id or "", None)
        return state
