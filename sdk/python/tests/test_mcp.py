"""Unit tests of keycloak_agent_auth.mcp: the token verifier (joserfc keys made here, the JWKS served by an httpx
transport) and the tool decorator with the real MCP SDK (FastMCP and ClientSession over in-memory streams), with a
scripted agent in place of the server (the end-to-end file runs it all against Keycloak over HTTP)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from mcp import types
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.fastmcp import FastMCP
from mcp.shared.exceptions import McpError
from mcp.shared.memory import create_connected_server_and_client_session

from keycloak_agent_auth import ConnectionRequired, GrantRevoked
from keycloak_agent_auth.mcp import McpAgentAuth, CallerToken, KeycloakTokenVerifier

ISSUER = "http://kc.test/realms/demo"
RESOURCE = "http://127.0.0.1:3999/mcp"
LINK = f"{ISSUER}/agent-auth/connectors/demo-calendar/connect?client_id=test-agent"


def keypair(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


class Realm:
    """A JWKS endpoint (discovery + keys) on an httpx MockTransport; counts key fetches."""

    def __init__(self) -> None:
        self.keys = [keypair("k1")]
        self.jwks_fetches = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/protocol/openid-connect/certs"})
        if request.url.path.endswith("/certs"):
            self.jwks_fetches += 1
            enc = {"kty": "RSA", "use": "enc", "kid": "enc1", "n": self.keys[0].as_dict()["n"], "e": "AQAB"}
            return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.keys] + [enc]})
        return httpx.Response(404)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))

    def token(self, key: RSAKey | None = None, **claims: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        body = {"iss": ISSUER, "sub": "user-1", "aud": [RESOURCE, "account"], "exp": now + 300, "iat": now,
                "typ": "Bearer", "azp": "mcp-client", "scope": "delegation:client:test-agent profile"}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


@pytest.fixture
def realm() -> Realm:
    return Realm()


async def test_verifier_accepts_a_token_for_its_resource(realm: Realm):
    v = KeycloakTokenVerifier(ISSUER, RESOURCE, http_client=realm.client())
    token = realm.token()
    got = await v.verify_token(token)
    assert isinstance(got, CallerToken)
    assert (got.subject, got.client_id, got.resource) == ("user-1", "mcp-client", RESOURCE)
    assert got.scopes == ["delegation:client:test-agent", "profile"]
    assert token not in repr(got) and token not in str(got) and "eyJ" not in repr(got)
    # a plain single-string aud works too
    assert await v.verify_token(realm.token(aud=RESOURCE)) is not None


@pytest.mark.parametrize("claims", [
    {"aud": ["http://localhost:3000/mcp"]},      # a token for another MCP server
    {"aud": f"{ISSUER}/agent-auth/connectors/demo-calendar"},  # a connector-resource token
    {"aud": None},
    {"iss": "http://kc.test/realms/other"},
    {"exp": int(time.time()) - 120},
    {"typ": "ID"},                               # an ID token
    {"sub": None},
])
async def test_verifier_refuses(realm: Realm, claims: dict[str, Any]):
    v = KeycloakTokenVerifier(ISSUER, RESOURCE, http_client=realm.client())
    assert await v.verify_token(realm.token(**claims)) is None


async def test_verifier_refuses_a_foreign_signature_and_refreshes_keys_once_on_rotation(realm: Realm):
    v = KeycloakTokenVerifier(ISSUER, RESOURCE, http_client=realm.client(), min_refresh_interval=0)
    assert await v.verify_token(realm.token()) is not None
    assert realm.jwks_fetches == 1
    stranger = keypair("k1")  # same kid, other key: bad signature, no refetch needed to refuse
    assert await v.verify_token(realm.token(key=stranger)) is None
    rotated = keypair("k2")
    realm.keys.append(rotated)
    assert await v.verify_token(realm.token(key=rotated)) is not None
    assert realm.jwks_fetches == 2
    assert await v.verify_token("not-a-jwt") is None


async def test_auth_settings_are_a_resource_server_of_the_realm():
    class Agent:
        issuer = ISSUER
        client_id = "test-agent"

    auth = McpAgentAuth(Agent(), resource=RESOURCE)
    s = auth.auth_settings()
    assert str(s.issuer_url) == ISSUER and str(s.resource_server_url) == RESOURCE
    assert s.required_scopes == ["delegation:client:test-agent"] and s.validate_token_resource is True
    kw = auth.fastmcp_settings()
    assert kw["token_verifier"] is auth.token_verifier
    with pytest.raises(ValueError):
        McpAgentAuth(Agent(), resource=RESOURCE, elicitation="sometimes")  # type: ignore[arg-type]
    # the default is the -32042 error, as in the TypeScript helper; connect_timeout 10 minutes (connectTimeoutMs)
    assert (auth.elicitation, auth.connect_timeout) == ("error", 600.0)


# ---------------------------------------------------------------- the tool decorator over a real MCP session


class ScriptedConnector:
    def __init__(self, agent: "ScriptedAgent") -> None:
        self.agent = agent

    async def get(self, path: str) -> httpx.Response:
        if not self.agent.connected:
            raise ConnectionRequired(description="no account", status=403, connector="demo-calendar",
                                     connect_uri=LINK)
        return httpx.Response(200, json={"preferred_username": "alice-work"})

    async def wait_for_connection(self, timeout: float = 300.0) -> dict[str, Any]:
        self.agent.waits.append(timeout)
        await asyncio.sleep(self.agent.wait_delay)
        if self.agent.connect_on_wait:
            self.agent.connected = True
        if not self.agent.connected:
            raise ConnectionRequired(status=403, connector="demo-calendar", connect_uri=LINK)
        return {"status": "ACTIVE"}


class ScriptedAgent:
    issuer = ISSUER
    client_id = "test-agent"

    def __init__(self) -> None:
        self.connected = False
        self.connect_on_wait = True
        self.wait_delay = 0.0
        self.waits: list[float] = []
        self.subject_tokens: list[str] = []

    def connector(self, alias: str, *, subject_token: str, connection_id: str | None = None) -> ScriptedConnector:
        self.subject_tokens.append(subject_token)
        return ScriptedConnector(self)


def server(agent: ScriptedAgent, elicitation: str | None = None) -> tuple[FastMCP, McpAgentAuth]:
    """``elicitation=None``: the helper's default (``"error"``, as in the TypeScript helper)."""
    options: dict[str, Any] = {} if elicitation is None else {"elicitation": elicitation}
    auth = McpAgentAuth(agent, resource=RESOURCE, connect_timeout=7, progress_interval=0.05, **options)
    mcp = FastMCP("unit")

    @mcp.tool()
    @auth.tool
    async def calendar() -> dict:
        """Read the calendar."""
        r = await auth.connector("demo-calendar").get("userinfo")
        return {"account": r.json()["preferred_username"], "caller": auth.caller().subject}

    @mcp.tool()
    @auth.tool
    async def revoked() -> dict:
        raise GrantRevoked("invalid_grant", "the grant was revoked", status=400)

    return mcp, auth


@pytest.fixture
def caller():
    """An authenticated request context, as FastMCP's AuthContextMiddleware sets it over HTTP."""
    tok = CallerToken(token="caller-token-value", client_id="mcp-client", scopes=[], subject="user-1",
                      resource=RESOURCE, claims={"sub": "user-1"})
    reset = auth_context_var.set(AuthenticatedUser(tok))
    yield tok
    auth_context_var.reset(reset)


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


async def test_client_without_url_elicitation_gets_a_tool_error_with_the_link(caller):
    agent = ScriptedAgent()
    mcp, _ = server(agent)
    async with create_connected_server_and_client_session(mcp) as client:
        result = await client.call_tool("calendar", {})
    assert result.isError
    body = json.loads(text_of(result))
    assert body["type"] == "ConnectionRequired" and body["code"] == "connection_required"
    assert body["connect_uri"] == LINK and body["connector"] == "demo-calendar" and body["status"] == 403
    assert body["message"] == f"connection_required (HTTP 403): no account (connect at {LINK})"
    assert LINK in body["instructions"]
    assert agent.subject_tokens == ["caller-token-value"]  # the caller's token was exchanged
    assert agent.waits == []


async def test_url_elicitation_then_wait_then_the_same_call_succeeds(caller):
    agent = ScriptedAgent()
    mcp, _ = server(agent, elicitation="request")
    seen: list[types.ElicitRequestParams] = []

    async def on_elicit(ctx, params: types.ElicitRequestParams) -> types.ElicitResult:
        seen.append(params)
        return types.ElicitResult(action="accept")

    async with create_connected_server_and_client_session(mcp, elicitation_callback=on_elicit) as client:
        result = await client.call_tool("calendar", {})
    assert not result.isError, text_of(result)
    assert json.loads(text_of(result)) == {"account": "alice-work", "caller": "user-1"}
    assert len(seen) == 1 and isinstance(seen[0], types.ElicitRequestURLParams)
    assert seen[0].mode == "url" and seen[0].url == LINK and seen[0].elicitationId
    assert agent.waits == [7]


async def test_url_elicitation_declined_or_not_connected_in_time_is_a_tool_error(caller):
    agent = ScriptedAgent()
    agent.connect_on_wait = False
    mcp, _ = server(agent, elicitation="request")

    async def accept(ctx, params):
        return types.ElicitResult(action="accept")

    async def decline(ctx, params):
        return types.ElicitResult(action="decline")

    async with create_connected_server_and_client_session(mcp, elicitation_callback=decline) as client:
        declined = await client.call_tool("calendar", {})
    async with create_connected_server_and_client_session(mcp, elicitation_callback=accept) as client:
        late = await client.call_tool("calendar", {})
    assert declined.isError and "decline" in json.loads(text_of(declined))["instructions"]
    assert late.isError and "not connected in time" in json.loads(text_of(late))["instructions"]
    assert LINK in json.loads(text_of(late))["instructions"]
    assert json.loads(text_of(late))["type"] == "ConnectionRequired"


async def test_error_mode_answers_url_elicitation_required_32042(caller):
    agent = ScriptedAgent()
    mcp, _ = server(agent)  # the default: elicitation="error"

    async def on_elicit(ctx, params):  # declares elicitation.url; never called in this mode
        raise AssertionError("no elicitation/create expected")

    async with create_connected_server_and_client_session(mcp, elicitation_callback=on_elicit) as client:
        with pytest.raises(McpError) as info:
            await client.call_tool("calendar", {})
    assert info.value.error.code == types.URL_ELICITATION_REQUIRED == -32042
    elicitations = info.value.error.data["elicitations"]
    assert [(e["mode"], e["url"]) for e in elicitations] == [("url", LINK)]
    # the error's message carries the link, as the TypeScript helper's
    assert LINK in info.value.error.message


async def test_other_agent_errors_are_tool_errors_with_their_json(caller):
    mcp, _ = server(ScriptedAgent())
    async with create_connected_server_and_client_session(mcp) as client:
        result = await client.call_tool("revoked", {})
    assert result.isError
    assert json.loads(text_of(result)) == GrantRevoked("invalid_grant", "the grant was revoked", status=400).to_dict()


async def test_the_decorated_tool_keeps_its_parameters_and_declares_no_output_schema(caller):
    agent = ScriptedAgent()
    auth = McpAgentAuth(agent, resource=RESOURCE)
    mcp = FastMCP("unit")

    @mcp.tool()
    @auth.tool
    async def pick(connection_id: str | None = None, limit: int = 3) -> dict:
        """Pick."""
        return {"connection_id": connection_id, "limit": limit}

    async with create_connected_server_and_client_session(mcp) as client:
        tools = (await client.list_tools()).tools
        result = await client.call_tool("pick", {"connection_id": "c1", "limit": 5})
    schema = tools[0].inputSchema
    assert set(schema["properties"]) == {"connection_id", "limit"}
    assert tools[0].outputSchema is None
    assert json.loads(text_of(result)) == {"connection_id": "c1", "limit": 5}


async def test_verifier_raises_when_the_realm_keys_cannot_be_read():
    from keycloak_agent_auth.mcp import KeysUnavailable

    down = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    v = KeycloakTokenVerifier(ISSUER, RESOURCE, http_client=down)
    with pytest.raises(KeysUnavailable) as info:
        await v.verify_token(Realm().token())
    assert "eyJ" not in str(info.value)


async def test_progress_notifications_while_waiting_for_the_user(caller):
    agent = ScriptedAgent()
    agent.wait_delay = 0.4
    mcp, _ = server(agent, elicitation="request")
    progress: list[tuple[float, str | None]] = []

    async def on_elicit(ctx, params):
        return types.ElicitResult(action="accept")

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async with create_connected_server_and_client_session(mcp, elicitation_callback=on_elicit) as client:
        result = await client.call_tool("calendar", {}, progress_callback=on_progress)
    assert not result.isError
    assert len(progress) >= 2, progress
    assert [v for v, _ in progress] == sorted(v for v, _ in progress)
    assert "demo-calendar" in (progress[0][1] or "")


@pytest.mark.parametrize("link,trusted", [
    (LINK, True),
    ("http://KC.test/realms/demo/agent-auth/connectors/demo-calendar/connect", True),
    ("http://evil.test/realms/demo/agent-auth/connectors/demo-calendar/connect?client_id=test-agent", False),
    (f"{ISSUER}/agent-auth/connectors/other/connect?client_id=test-agent", False),
    (f"{ISSUER}/agent-auth/connectors/demo-calendar/connect/../../../../account", False),
    (f"{ISSUER}/agent-auth/connectors/demo-calendar/connect#x", False),
    ("http://user@kc.test/realms/demo/agent-auth/connectors/demo-calendar/connect", False),
    ("https://kc.test/realms/demo/agent-auth/connectors/demo-calendar/connect", False),
    ("not a url", False),
])
def test_only_the_realms_own_connect_link_is_passed_on(link: str, trusted: bool):
    from keycloak_agent_auth.mcp import trusted_connect_uri

    err = ConnectionRequired(status=403, connector="demo-calendar", connect_uri=link)
    assert (trusted_connect_uri(err, ISSUER) == link) is trusted


async def test_an_untrusted_link_never_reaches_the_client(caller):
    agent = ScriptedAgent()
    mcp, auth = server(agent)
    evil = "http://evil.test/realms/demo/agent-auth/connectors/demo-calendar/connect"

    @mcp.tool()
    @auth.tool
    async def phished() -> dict:
        raise ConnectionRequired(status=403, connector="demo-calendar", connect_uri=evil)

    async def on_elicit(ctx, params):
        raise AssertionError("no elicitation with an untrusted link")

    async with create_connected_server_and_client_session(mcp, elicitation_callback=on_elicit) as client:
        result = await client.call_tool("phished", {})
    assert result.isError
    text = text_of(result)
    assert "evil.test" not in text and json.loads(text)["connect_uri"] is None


async def test_error_mode_sends_elicitation_complete_once_the_user_connected(caller):
    agent = ScriptedAgent()
    agent.wait_delay = 0.2
    mcp, _ = server(agent, elicitation="error")
    completed: list[str] = []

    async def on_message(message) -> None:
        if isinstance(message, types.ServerNotification) and isinstance(message.root, types.ElicitCompleteNotification):
            completed.append(message.root.params.elicitationId)

    async def on_elicit(ctx, params):
        raise AssertionError("no elicitation/create expected")

    async with create_connected_server_and_client_session(mcp, elicitation_callback=on_elicit,
                                                          message_handler=on_message) as client:
        with pytest.raises(McpError) as info:
            await client.call_tool("calendar", {})
        elicitation_id = info.value.error.data["elicitations"][0]["elicitationId"]
        for _ in range(50):
            if completed:
                break
            await asyncio.sleep(0.05)
    assert completed == [elicitation_id]
    assert agent.waits == [7]
