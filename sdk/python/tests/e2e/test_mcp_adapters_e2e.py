"""End-to-end: the MCP-server helper and the framework adapters against the real Keycloak (the demo realms).

* An MCP server (FastMCP over streamable HTTP on a free loopback port) built with ``McpAgentAuth`` for a temporary
  agent client whose resource URI is that server's URL (a copy of calendar-agent's policy: hosts mcp-client and
  agent-host, connector demo-calendar), driven by the official MCP Python client with its OAuth support: RFC 9728
  discovery, login and the agent consent screen in Chromium (consent by scope), tokens for other resources refused
  (401), a tool exchanging for the user (``act``), ``connection_required`` as a tool error with the link (client
  without ``elicitation.url``), for a client that declared it as JSON-RPC -32042 (the default,
  ``elicitation="error"``) and as ``elicitation/create`` mode ``url`` (the option ``elicitation="request"``) ->
  connect in Chromium -> the same call succeeds, the -32042 one hears ``notifications/elicitation/complete``.
* The LangGraph example (examples/python-calendar-agent): the host's ``requested_actor`` login with consent in
  Chromium, the connect interrupt, connect, resume, the calendar.
* The OpenAI Agents SDK adapter: the tool approval for the connection, connect, approve, the calendar.

Fresh users in both realms per test and the temporary agent are deleted at the end (fixtures ``cfg`` and ``admin``
from conftest.py; environment as described there).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import secrets
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from agents import Agent, ModelResponse, RunContextWrapper, Runner, Usage, set_tracing_disabled
from agents.models.interface import Model
from joserfc.jws import extract_compact
from mcp import ClientSession, types
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.server.fastmcp import FastMCP
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp.shared.exceptions import McpError
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText
from playwright.async_api import Page, async_playwright

from keycloak_agent_auth import AsyncAgentAuth, ConnectionRequired, from_dict
from keycloak_agent_auth.adapters.openai_agents import ConnectionGate
from keycloak_agent_auth.mcp import McpAgentAuth

pytestmark = pytest.mark.e2e
set_tracing_disabled(True)

EXAMPLE_DIR = Path(__file__).resolve().parents[4] / "examples" / "python-calendar-agent"
MCP_REDIRECT = "http://127.0.0.1:9/sdk-python-mcp/callback"  # answered by Playwright (page.route), never reached
STEP_MS = 60_000  # per browser step; generous for a loaded CI machine
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ")


def load_example(name: str = "calendar_agent"):
    """A module of examples/python-calendar-agent, as its README runs it."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLE_DIR / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a token the test holds, for assertions (the server under test verified it)."""
    return json.loads(extract_compact(token.encode()).payload)


# ------------------------------------------------------------------------------------------- the temporary agent


class McpAgent:
    def __init__(self, client_id: str, secret: str, port: int) -> None:
        self.client_id = client_id
        self.secret = secret
        self.port = port
        self.resource = f"http://127.0.0.1:{port}/mcp"
        self.name = f"Python MCP test agent {client_id[-8:]}"


def agent_rep(cfg: Any, a: McpAgent) -> dict[str, Any]:
    """calendar-agent's policy (realm-exports/agents-demo.json) with this agent's own resource URI."""
    return {
        "clientId": a.client_id, "name": a.name, "enabled": True, "protocol": "openid-connect",
        "publicClient": False, "clientAuthenticatorType": "client-secret", "secret": a.secret,
        "standardFlowEnabled": False, "directAccessGrantsEnabled": False, "serviceAccountsEnabled": True,
        "defaultClientScopes": ["basic", "acr", "roles", "web-origins", "service_account"],
        "optionalClientScopes": ["profile", "email", "address", "phone", "offline_access", "microprofile-jwt"],
        "attributes": {
            "standard.token.exchange.enabled": "true",
            "agent_auth.agent": "true",
            "agent_auth.allowed_scopes": "openid profile email",
            "agent_auth.allowed_audiences": "plain-service",
            "agent_auth.allowed_hosts": "agent-host mcp-client",
            "agent_auth.allowed_connectors": cfg.connector,
            "agent_auth.max_depth": "3",
            "agent_auth.grant_lifetime": "2592000",
            "agent_auth.refresh_allowed": "true",
            "agent_auth.resource_uris": a.resource,
            "agent_auth.resource_clients": "mcp-client agent-host",
        },
    }


class ServerThread(threading.Thread):
    """The MCP server of the test agent, on its own event loop."""

    def __init__(self, cfg: Any, a: McpAgent) -> None:
        super().__init__(daemon=True)
        self.cfg, self.a = cfg, a
        self.server: uvicorn.Server | None = None
        self.ready = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # noqa: BLE001 - reported to the fixture
            self.error = e
            self.ready.set()

    async def _main(self) -> None:
        agent = await AsyncAgentAuth.discover(self.cfg.issuer, client_id=self.a.client_id, client_secret=self.a.secret)
        mcp = build_server(agent, self.a)
        self.server = uvicorn.Server(uvicorn.Config(mcp.streamable_http_app(), host="127.0.0.1", port=self.a.port,
                                                    log_level="warning", lifespan="on"))
        task = asyncio.create_task(self.server.serve())
        while not self.server.started and not task.done():
            await asyncio.sleep(0.05)
        self.ready.set()
        await task
        await agent.aclose()


def build_server(agent: AsyncAgentAuth, a: McpAgent) -> FastMCP:
    """The example's MCP server (examples/python-calendar-agent/mcp_server.py) for the test agent, with the helper's
    default (``elicitation="error"``: URLElicitationRequiredError, -32042), plus a tool with the option
    ``elicitation="request"`` (an in-band elicitation/create that waits and runs the tool again)."""
    mcp, auth = load_example("mcp_server").build_server(agent, a.resource, port=a.port, connect_timeout=90)
    assert auth.elicitation == "error"
    inband = McpAgentAuth(agent, resource=a.resource, elicitation="request", connect_timeout=90,
                          verifier=auth.token_verifier)

    @mcp.tool()
    @inband.tool
    async def calendar_inband() -> dict:
        """The calendar, asking for the connection in-band (elicitation/create) when not connected."""
        r = await inband.connector("demo-calendar").get("userinfo")
        return {"account": r.json().get("preferred_username"), "status": r.status_code,
                "connection_id": r.headers.get("X-Connection-Id")}

    return mcp


@pytest.fixture(scope="session")
def mcp_agent(cfg, admin):
    port = free_port()
    a = McpAgent(f"py-mcp-agent-{secrets.token_hex(4)}", secrets.token_urlsafe(24), port)
    client_uuid = admin.create_client(cfg.realm, agent_rep(cfg, a))
    thread = ServerThread(cfg, a)
    try:
        thread.start()
        assert thread.ready.wait(60), "the MCP server did not start"
        assert thread.error is None, f"the MCP server failed: {thread.error!r}"
        yield a
    finally:
        if thread.server is not None:
            thread.server.should_exit = True
        thread.join(20)
        r = admin.call("DELETE", cfg.realm, f"/clients/{client_uuid}")
        assert r.status_code in (204, 404), f"delete the test agent: HTTP {r.status_code}"


class User:
    def __init__(self, username: str, password: str, user_id: str, upstream: str) -> None:
        self.username, self.password, self.id, self.upstream = username, password, user_id, upstream


@pytest.fixture
def user(cfg, admin):
    """A fresh user in the demo realm and a fresh account in the upstream realm (deleted with its connections)."""
    suffix = secrets.token_hex(4)
    username, password = f"sdk-py-mcp-{suffix}", secrets.token_urlsafe(12)
    user_id = admin.create_user(cfg.realm, username, password)
    upstream = f"sdk-py-mcp-{suffix}-up"
    upstream_id = None
    try:
        upstream_id = admin.create_user(cfg.upstream_realm, upstream, upstream)
        yield User(username, password, user_id, upstream)
    finally:
        r = admin.call("GET", cfg.realm, f"/agent-auth/users/{user_id}/connections")
        for c in r.json() if r.status_code == 200 else []:
            admin.call("DELETE", cfg.realm, f"/agent-auth/users/{user_id}/connections/{c['id']}")
        for realm, ident in ((cfg.realm, user_id), (cfg.upstream_realm, upstream_id)):
            if ident:
                d = admin.call("DELETE", realm, f"/users/{ident}")
                assert d.status_code in (204, 404), f"delete user {ident}: HTTP {d.status_code}"


# ------------------------------------------------------------------------------------------------ the browser


class Browser:
    """The user's side in headless Chromium (async Playwright): Keycloak login, the agent consent screen, the
    connector's connect page, the upstream's login. Selectors as in integration-tests/src/test/mcp/e2e.js."""

    def __init__(self, page: Page, cfg: Any, prefix: str) -> None:
        self.page, self.cfg, self.prefix = page, cfg, prefix
        self.callbacks: list[str] = []
        self.shots: list[Path] = []

    async def intercept(self, redirect_uri: str) -> None:
        async def answer(route):
            self.callbacks.append(route.request.url)
            await route.fulfill(status=200, content_type="text/html", body="<p>MCP client callback</p>")

        await self.page.route(re.compile("^" + re.escape(redirect_uri)), answer)

    async def shot(self, name: str) -> Path:
        path = self.cfg.screenshots / f"{self.prefix}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    async def authorize(self, url: str, u: User, *, done: Any, agent_name: str) -> dict[str, Any]:
        """Opens an authorization URL, signs in, allows the agent; returns what the consent screen said once
        ``done()`` (the redirect back happened) is true."""
        await self.page.goto(url)
        deadline = time.monotonic() + STEP_MS / 1000
        seen: dict[str, Any] = {"consent": None}
        while not done():
            assert time.monotonic() < deadline, f"no redirect back; page: {await self.text()}"
            if await self.page.locator("#kc-agent-consent-form").count():
                assert seen["consent"] is None, "the consent screen again after Allow"
                seen["consent"] = re.sub(r"\s+", " ", await self.page.locator("#agent-consent-title").inner_text())
                await self.shot("consent")
                await self.page.click("#kc-agent-allow")
                await self.page.locator("#kc-agent-consent-form").wait_for(state="detached")
            elif await self.page.locator("#kc-login").count() and await self.page.locator("#username").count():
                await self.page.fill("#username", u.username)
                await self.page.fill("#password", u.password)
                await self.page.click("#kc-login")
                await self.page.locator("#kc-login").wait_for(state="detached")
            await self.page.wait_for_timeout(150)
        assert seen["consent"] and agent_name in seen["consent"], f"consent screen: {seen['consent']!r}"
        return seen

    async def connect(self, connect_uri: str, u: User, agent_name: str) -> str:
        await self.page.goto(connect_uri)
        await self.page.locator("#kc-agent-connect-form, #kc-login").first.wait_for()
        if not await self.page.locator("#kc-agent-connect-form").count():
            await self.page.fill("#username", u.username)
            await self.page.fill("#password", u.password)
            await self.page.click("#kc-login")
            await self.page.locator("#kc-agent-connect-form").wait_for()
        request = re.sub(r"\s+", " ", await self.page.locator("#agent-connect-request").inner_text())
        assert agent_name in request, f"the connect page does not name {agent_name}: {request}"
        await self.shot("connect")
        await self.page.click("#kc-agent-connect-allow")
        await self.page.wait_for_url(lambda url: f"/realms/{self.cfg.upstream_realm}/" in url)
        await self.page.locator("#username").wait_for()
        await self.page.fill("#username", u.upstream)
        await self.page.fill("#password", u.upstream)
        await self.page.click("#kc-login")
        await self.page.locator("#agent-connect-result-message").wait_for()
        message = re.sub(r"\s+", " ", await self.page.locator("#agent-connect-result-message").inner_text()).strip()
        ok = await self.page.locator("#agent-connect-result").get_attribute("data-ok")
        await self.shot("connect-result")
        assert ok == "true" and u.upstream in message, f"connect result: {message}"
        return message

    async def text(self) -> str:
        try:
            return re.sub(r"\s+", " ", await self.page.locator("body").inner_text())[:300]
        except Exception:  # noqa: BLE001 - diagnostics only
            return "(no page text)"


@pytest.fixture
async def browser(cfg, request):
    cfg.screenshots.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=cfg.chromium, headless=True)
        page = await (await b.new_context()).new_page()
        page.set_default_timeout(STEP_MS)
        yield Browser(page, cfg, request.node.name.replace("test_", "py-"))
        await b.close()


# ----------------------------------------------------------------------------------------- the MCP client side


class MemoryStorage:
    """The MCP client's token storage; mcp-client is pre-registered (public, PKCE), so no registration happens."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info = OAuthClientInformationFull(
            client_id="mcp-client", redirect_uris=[MCP_REDIRECT], token_endpoint_auth_method="none",
            grant_types=["authorization_code", "refresh_token"], response_types=["code"])

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class McpUser:
    """An MCP client user: the SDK's OAuth (401 -> RFC 9728 -> PKCE + resource) with the browser for the login."""

    def __init__(self, a: McpAgent, u: User, browser: Browser) -> None:
        self.a, self.u, self.browser = a, u, browser
        self.storage = MemoryStorage()
        self.auth_urls: list[str] = []
        self.consent: dict[str, Any] | None = None

        async def redirect(url: str) -> None:
            self.auth_urls.append(url)
            before = len(browser.callbacks)
            self.consent = await browser.authorize(url, u, done=lambda: len(browser.callbacks) > before,
                                                   agent_name=a.name)

        async def callback() -> tuple[str, str | None]:
            q = parse_qs(urlsplit(browser.callbacks[-1]).query)
            assert "error" not in q, f"authorization error: {q}"
            return q["code"][0], q.get("state", [None])[0]

        self.provider = OAuthClientProvider(
            server_url=a.resource,
            client_metadata=OAuthClientMetadata(redirect_uris=[MCP_REDIRECT], token_endpoint_auth_method="none",
                                                grant_types=["authorization_code", "refresh_token"],
                                                response_types=["code"], client_name="py-sdk-e2e"),
            storage=self.storage, redirect_handler=redirect, callback_handler=callback, timeout=120)

    def session(self, elicitation_callback: Any = None, message_handler: Any = None):
        return _Session(self, elicitation_callback, message_handler)

    @property
    def access_token(self) -> str:
        assert self.storage.tokens is not None
        return self.storage.tokens.access_token


class _Session:
    def __init__(self, owner: McpUser, elicitation_callback: Any, message_handler: Any) -> None:
        self.owner, self.cb, self.handler = owner, elicitation_callback, message_handler

    async def __aenter__(self) -> ClientSession:
        self._http = httpx.AsyncClient(auth=self.owner.provider, timeout=httpx.Timeout(120.0, connect=10.0))
        self._transport = streamable_http_client(self.owner.a.resource, http_client=self._http)
        read, write, _ = await self._transport.__aenter__()
        self._session = ClientSession(read, write, elicitation_callback=self.cb, message_handler=self.handler)
        s = await self._session.__aenter__()
        await s.initialize()
        return s

    async def __aexit__(self, *exc: Any) -> None:
        await self._session.__aexit__(*exc)
        await self._transport.__aexit__(*exc)
        await self._http.aclose()


def tool_json(result: types.CallToolResult) -> dict[str, Any]:
    text = "".join(c.text for c in result.content if isinstance(c, types.TextContent))
    assert not JWT_SHAPE.search(text), "a token in a tool result"
    return json.loads(text)


async def raw_mcp_post(a: McpAgent, token: str | None) -> httpx.Response:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "raw", "version": "0"}}}
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(a.resource, json=body, headers=headers)


# ------------------------------------------------------------------------------------------------------ tests


async def test_mcp_helper_story(cfg, admin, mcp_agent: McpAgent, user: User, browser: Browser):
    a = mcp_agent
    connector_uri = f"{cfg.issuer}/agent-auth/connectors/{cfg.connector}"
    await browser.intercept(MCP_REDIRECT)

    # RFC 9728 metadata and the 401 that points to it
    async with httpx.AsyncClient(timeout=30) as http:
        prm = (await http.get(f"http://127.0.0.1:{a.port}/.well-known/oauth-protected-resource/mcp")).json()
    assert prm["resource"] == a.resource
    assert [s.rstrip("/") for s in prm["authorization_servers"]] == [cfg.issuer]
    assert prm["scopes_supported"] == [f"delegation:client:{a.client_id}"]
    anonymous = await raw_mcp_post(a, None)
    assert anonymous.status_code == 401
    assert "resource_metadata=" in anonymous.headers["www-authenticate"]

    # the MCP client's own OAuth: login and consent by scope in Chromium; a client without elicitation
    mcp_user = McpUser(a, user, browser)
    async with mcp_user.session() as s:
        names = {t.name for t in (await s.list_tools()).tools}
        assert {"whoami", "calendar", "calendar_inband"} <= names
        auth_q = parse_qs(urlsplit(mcp_user.auth_urls[0]).query)
        assert auth_q["resource"] == [a.resource] and auth_q["code_challenge_method"] == ["S256"]
        assert f"delegation:client:{a.client_id}" in auth_q["scope"][0].split()
        caller = claims_of(mcp_user.access_token)
        assert caller["aud"] in (a.resource, [a.resource]) and caller["may_act"]["client_id"] == a.client_id

        # a tool that exchanges for the user: the agent acts with act
        me = tool_json(await s.call_tool("whoami", {}))
        assert me["delegated"]["act"]["client_id"] == a.client_id
        assert me["delegated"]["sub"] == user.id == me["caller"]["sub"]

        # tokens for other resources, valid signatures of the same realm, are refused with 401
        agent = await AsyncAgentAuth.discover(cfg.issuer, client_id=a.client_id, client_secret=a.secret)
        async with agent:
            others = {
                "connector": (await agent.exchange(subject_token=mcp_user.access_token,
                                                   resource=connector_uri)).access_token,
                "audience plain-service": (await agent.exchange(subject_token=mcp_user.access_token,
                                                                audience="plain-service")).access_token,
                "agent's own": await agent.actor_token(),
            }
        for what, token in others.items():
            assert a.resource not in json.dumps(claims_of(token).get("aud")), what
            r = await raw_mcp_post(a, token)
            assert r.status_code == 401, f"{what}: HTTP {r.status_code}"
            assert 'error="invalid_token"' in r.headers["www-authenticate"], what

        # not connected yet, a client without elicitation.url: a tool error whose text carries the link
        r = await s.call_tool("calendar", {})
        assert r.isError
        err = tool_json(r)
        assert err["type"] == "ConnectionRequired" and err["status"] == 403
        assert err["code"] == "connection_required" and err["connector"] == cfg.connector
        link = err["connect_uri"]
        assert link.startswith(f"{connector_uri}/connect?")
        assert parse_qs(urlsplit(link).query)["client_id"] == [a.client_id]
        assert link in err["message"] and link in err["instructions"]
        # the same JSON the TypeScript SDK reads back (AgentAuthError.fromJSON): a ConnectionRequired value
        assert from_dict(err).to_dict() == {k: v for k, v in err.items() if k != "instructions"}

    # a client that declared elicitation.url
    elicited: list[types.ElicitRequestParams] = []
    connecting: list[asyncio.Task] = []

    async def on_elicit(ctx, params: types.ElicitRequestParams) -> types.ElicitResult:
        elicited.append(params)
        # the user opens the link while the tool waits
        connecting.append(asyncio.create_task(browser.connect(params.url, user, a.name)))
        return types.ElicitResult(action="accept")

    completed: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ServerNotification) and isinstance(message.root, types.ElicitCompleteNotification):
            completed.append(message.root.params.elicitationId)

    async with mcp_user.session(on_elicit, on_message) as s:
        # by default the tool answers JSON-RPC -32042 with the URL elicitation
        with pytest.raises(McpError) as info:
            await s.call_tool("calendar", {})
        assert info.value.error.code == types.URL_ELICITATION_REQUIRED
        strict_elicitations = info.value.error.data["elicitations"]
        assert [(e["mode"], e["url"]) for e in strict_elicitations] == [("url", link)]
        assert link in info.value.error.message
        assert elicited == []

        # the option elicitation="request": elicitation/create mode url -> the user connects in Chromium -> the
        # same tools/call answers
        started = time.monotonic()
        result = await s.call_tool("calendar_inband", {})
        assert not result.isError, tool_json(result)
        cal = tool_json(result)
        assert cal["account"] == user.upstream and cal["status"] == 200
        assert len(elicited) == 1 and elicited[0].mode == "url" and elicited[0].url == link
        assert elicited[0].elicitationId
        await connecting[0]
        print(f"elicitation -> connected -> result in {time.monotonic() - started:.1f}s")
        # both elicitations are reported complete: the in-band one, and the -32042 one by the background wait
        deadline = time.monotonic() + 15
        while len(completed) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert sorted(completed) == sorted([elicited[0].elicitationId, strict_elicitations[0]["elicitationId"]])

        again = tool_json(await s.call_tool("calendar", {}))
        assert again["account"] == user.upstream

    # and the client without elicitation: the account now, by default and by its connection id
    async with mcp_user.session() as s:
        plain = tool_json(await s.call_tool("calendar", {}))
        chosen = tool_json(await s.call_tool("calendar", {"connection_id": cal["connection_id"]}))
        unknown = await s.call_tool("calendar", {"connection_id": "no-such-connection"})
    assert plain["account"] == chosen["account"] == user.upstream and chosen["connection_id"] == cal["connection_id"]
    assert unknown.isError and tool_json(unknown)["code"] == "connection_not_found"
    assert tool_json(unknown)["type"] == "ConnectionNotFound"
    assert tool_json(unknown)["connection_id"] == "no-such-connection"

    # the user revokes the grant: the caller's token still gets in (it is a valid token for this server), but the
    # agent can no longer act: GrantRevoked as a tool error, for the exchange and for the proxy
    grants = admin.call("GET", cfg.realm, f"/agent-auth/users/{user.id}/delegations").json()
    mine = [g for g in grants if g["agent"] == a.client_id and g.get("active") is not False]
    assert [g["host"] for g in mine] == ["mcp-client"] and mine[0]["origin"] == "consent_scope"
    revoked = admin.call("DELETE", cfg.realm, f"/agent-auth/users/{user.id}/delegations/{mine[0]['id']}")
    assert revoked.status_code == 204
    async with mcp_user.session() as s:
        who = await s.call_tool("whoami", {})
        cal_after = await s.call_tool("calendar", {})
    for result in (who, cal_after):
        assert result.isError
        body = tool_json(result)
        assert body["type"] == "GrantRevoked" and body["code"] in ("invalid_request", "invalid_grant", "invalid_token")


async def host_login(example: Any, agent: AsyncAgentAuth, u: User, browser: Browser, agent_name: str):
    """The example's requested_actor login (agent-host), the browser signing in and allowing the agent."""

    async def open_url(url: str) -> None:
        await browser.authorize(url, u, done=lambda: browser.page.url.startswith("http://127.0.0.1:"),
                                agent_name=agent_name)

    return await example.login(agent, open_url, timeout=60)


async def test_adapters_langgraph_example_interrupt_connect_resume(cfg, mcp_agent: McpAgent, user: User,
                                                                   browser: Browser):
    example = load_example()
    a = mcp_agent
    async with await AsyncAgentAuth.discover(cfg.issuer, client_id=a.client_id, client_secret=a.secret) as agent:
        token = await host_login(example, agent, user, browser, a.name)
        assert token.actor == a.client_id and token.subject == user.id

        interrupts: list[str] = []
        connecting: list[asyncio.Task] = []

        async def on_connect(link: str) -> None:
            # shown to the user; the graph resumes at once and the adapter waits for the connection
            interrupts.append(link)
            connecting.append(asyncio.create_task(browser.connect(link, user, a.name)))

        state = await example.run(agent, token, "What is on my calendar?", on_connect, connect_timeout=90)
        await asyncio.gather(*connecting)
    assert len(interrupts) == 1
    assert interrupts[0].startswith(f"{cfg.issuer}/agent-auth/connectors/{cfg.connector}/connect?")
    result = example.calendar_result(state)
    assert result["account"] == user.upstream and result["connector"] == cfg.connector and result["connection_id"]
    assert state["messages"][-1].content == "Here is what your calendar account says."


class ScriptedModel(Model):
    """A model stand-in (the OpenAI Agents SDK ships none): calls ``tool`` once, then repeats its output."""

    def __init__(self, tool_name: str) -> None:
        self.tool_name = tool_name

    async def get_response(self, system_instructions, input, model_settings, tools, output_schema, handoffs,
                           tracing, *, previous_response_id=None, conversation_id=None, prompt=None, **kw):
        items = input if isinstance(input, list) else []
        outputs = [i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
        if outputs:
            msg = ResponseOutputMessage(id="msg_1", type="message", role="assistant", status="completed",
                                        content=[ResponseOutputText(type="output_text", annotations=[],
                                                                    text=f"calendar: {outputs[-1]['output']}")])
            return ModelResponse(output=[msg], usage=Usage(), response_id=None)
        call = ResponseFunctionToolCall(id="fc_1", type="function_call", call_id=f"call_{secrets.token_hex(4)}",
                                        name=self.tool_name, arguments="{}", status="completed")
        return ModelResponse(output=[call], usage=Usage(), response_id=None)

    def stream_response(self, *args, **kwargs):  # pragma: no cover - not used
        raise NotImplementedError


async def test_adapters_openai_agents_approval_connect_resume(cfg, mcp_agent: McpAgent, user: User,
                                                              browser: Browser):
    example = load_example()
    a = mcp_agent
    async with await AsyncAgentAuth.discover(cfg.issuer, client_id=a.client_id, client_secret=a.secret) as agent:
        token = await host_login(example, agent, user, browser, a.name)
        gate = ConnectionGate(lambda ctx: agent.connector(cfg.connector, subject_token=ctx.context["user_token"]),
                              timeout=90)

        @gate.tool
        async def read_calendar(ctx: RunContextWrapper[dict]) -> str:
            """The user's calendar account."""
            r = await gate.connector(ctx).get("userinfo")
            return json.dumps({"account": r.json().get("preferred_username")})

        bot = Agent(name="calendar", instructions="", tools=[read_calendar], model=ScriptedModel("read_calendar"))
        context = {"user_token": token}
        result = await Runner.run(bot, "What is on my calendar?", context=context)
        pending = gate.pending(result)
        assert len(pending) == 1 and len(result.interruptions) == 1
        item, err = pending[0]
        assert isinstance(err, ConnectionRequired) and item.tool_name == "read_calendar"
        assert err.connect_uri.startswith(f"{cfg.issuer}/agent-auth/connectors/{cfg.connector}/connect?")
        json.dumps(err.to_dict())

        connecting = asyncio.create_task(browser.connect(err.connect_uri, user, a.name))
        state = await gate.approve_when_connected(result)  # waits (status endpoint) while the user connects
        await connecting
        result = await Runner.run(bot, state)
    assert result.interruptions == []
    assert json.loads(result.final_output.removeprefix("calendar: ")) == {"account": user.upstream}
