"""The same calendar agent as an MCP server (FastMCP, streamable HTTP), with ``keycloak_agent_auth.mcp``.

``calendar-agent``'s resource URI in the demo realm is ``http://localhost:3000/mcp``; an MCP client (e.g. the MCP
Inspector, or ``mcp.client`` with OAuth as ``client_id`` ``mcp-client``) finds Keycloak through the RFC 9728
metadata, brings the user to the agent consent screen (scope ``delegation:client:calendar-agent``) and calls:

* ``whoami``: the agent exchanges the caller's token for the user (RFC 8693, ``act``) and reports the claims;
* ``calendar``: the user's connected demo-calendar account through the proxy; when none is connected, a client that
  declared ``elicitation.url`` gets the connect link as a URL elicitation: by default (``ELICITATION=error``, the
  SDK's default in both languages) the JSON-RPC error -32042 ``URLElicitationRequiredError``, then
  ``notifications/elicitation/complete`` once the user has connected, and the client calls again; with
  ``ELICITATION=request`` an in-band ``elicitation/create`` after which the same call finishes once the user has
  connected. Any other client gets a tool error whose text carries the link (the error's ``to_dict()`` JSON, the
  same as the TypeScript SDK's ``toJSON()``, plus ``instructions``).

    python mcp_server.py          # http://localhost:3000/mcp  (port 3000 must be free: stop examples/mcp-calendar)
"""

from __future__ import annotations

import asyncio
import os

import uvicorn
from mcp.server.fastmcp import FastMCP

from keycloak_agent_auth import AsyncAgentAuth
from keycloak_agent_auth.mcp import McpAgentAuth

KEYCLOAK_URL = os.environ.get("KEYCLOAK_URL", "http://localhost:8080").rstrip("/")
REALM = os.environ.get("REALM", "agents-demo")
AGENT_ID = os.environ.get("AGENT_CLIENT_ID", "calendar-agent")
AGENT_SECRET = os.environ.get("AGENT_CLIENT_SECRET", "calendar-agent-secret")
CONNECTOR = os.environ.get("CONNECTOR", "demo-calendar")
PORT = int(os.environ.get("PORT", "3000"))
RESOURCE = os.environ.get("RESOURCE", f"http://localhost:{PORT}/mcp")
ELICITATION = os.environ.get("ELICITATION", "error")


def build_server(agent: AsyncAgentAuth, resource: str = RESOURCE, *, port: int = PORT,
                 connect_timeout: float = 600.0, elicitation: str = ELICITATION) -> tuple[FastMCP, McpAgentAuth]:
    auth = McpAgentAuth(agent, resource=resource, connect_timeout=connect_timeout,
                        elicitation=elicitation)  # type: ignore[arg-type]
    mcp = FastMCP("calendar-agent", host="127.0.0.1", port=port, **auth.fastmcp_settings())

    @mcp.tool()
    @auth.tool
    async def whoami() -> dict:
        """Who the agent acts for: the exchanged token's claims (never the token)."""
        delegated = await auth.exchange()
        return {"delegated": delegated.to_dict(), "caller": {"sub": auth.caller().subject}}

    @mcp.tool()
    @auth.tool
    async def calendar(connection_id: str | None = None) -> dict:
        """The user's calendar account (demo-calendar, through Keycloak's proxy). connection_id picks one of
        several connected accounts."""
        r = await auth.connector(CONNECTOR, connection_id).get("userinfo")
        profile = r.json()
        return {"status": r.status_code, "connector": CONNECTOR, "connection_id": r.headers.get("X-Connection-Id"),
                "account": profile.get("preferred_username"), "name": profile.get("name")}

    return mcp, auth


async def main() -> None:
    async with await AsyncAgentAuth.discover(f"{KEYCLOAK_URL}/realms/{REALM}", client_id=AGENT_ID,
                                             client_secret=AGENT_SECRET) as agent:
        mcp, _ = build_server(agent)
        print(f"MCP server for {AGENT_ID} at {RESOURCE}", flush=True)
        await uvicorn.Server(uvicorn.Config(mcp.streamable_http_app(), host="127.0.0.1", port=PORT,
                                            log_level="info")).serve()


if __name__ == "__main__":
    asyncio.run(main())
