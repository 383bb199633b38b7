"""End-to-end fixtures: a real Keycloak with the extension (the demo realms), fresh users, headless Chromium.

Environment:
  KEYCLOAK_URL    default http://localhost:8080
  REALM           default agents-demo;  UPSTREAM_REALM default upstream-saas
  CHROMIUM        default /usr/bin/chromium (Playwright drives it through executable_path; no `playwright install`)
  SCREENSHOT_DIR  default sdk/python/target/screenshots
  ADMIN_USER / ADMIN_PASSWORD   default admin / admin (realm master)

Isolation: every run creates its own user in REALM (``sdk-py-<random>``), two users in UPSTREAM_REALM, and one
temporary agent client with a key; it deletes them at the end. alice, bob and the demo clients are never changed.
The modules run in order as one story (test_1_*, test_2_*, test_3_*); ``Story`` carries state between them.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey

HERE = Path(__file__).resolve().parent


@dataclass
class Config:
    keycloak_url: str = os.environ.get("KEYCLOAK_URL", "http://localhost:8080").rstrip("/")
    realm: str = os.environ.get("REALM", "agents-demo")
    upstream_realm: str = os.environ.get("UPSTREAM_REALM", "upstream-saas")
    chromium: str = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    screenshots: Path = Path(os.environ.get("SCREENSHOT_DIR", str(HERE.parent.parent / "target" / "screenshots")))
    admin_user: str = os.environ.get("ADMIN_USER", "admin")
    admin_password: str = os.environ.get("ADMIN_PASSWORD", "admin")
    agent: str = "calendar-agent"
    agent_secret: str = "calendar-agent-secret"
    downstream: str = "research-agent"
    downstream_secret: str = "research-agent-secret"
    host: str = "agent-host"
    host_secret: str = "agent-host-secret"
    connector: str = "demo-calendar"
    # the host app's redirect URI: set by the callback_server fixture (a loopback listener on a free port)
    redirect_uri: str = ""

    @property
    def issuer(self) -> str:
        return f"{self.keycloak_url}/realms/{self.realm}"


class Admin:
    """Keycloak's admin REST API as admin of realm master (a new admin token when the last is 40 s old)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.http = httpx.Client(timeout=30.0)
        self._token: str | None = None
        self._at = 0.0

    def token(self) -> str:
        if self._token is None or time.time() - self._at > 40:
            r = self.http.post(f"{self.cfg.keycloak_url}/realms/master/protocol/openid-connect/token",
                               data={"grant_type": "password", "client_id": "admin-cli",
                                     "username": self.cfg.admin_user, "password": self.cfg.admin_password})
            assert r.status_code == 200, f"admin token: HTTP {r.status_code} {r.text[:200]}"
            self._token, self._at = r.json()["access_token"], time.time()
        return self._token

    def call(self, method: str, realm: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, f"{self.cfg.keycloak_url}/admin/realms/{realm}{path}", json=body,
                                 headers={"Authorization": f"Bearer {self.token()}"})

    def create_user(self, realm: str, username: str, password: str) -> str:
        r = self.call("POST", realm, "/users", {
            "username": username, "enabled": True, "email": f"{username}@example.org", "emailVerified": True,
            "firstName": "SDK", "lastName": username, "requiredActions": [],
            "credentials": [{"type": "password", "value": password, "temporary": False}],
        })
        assert r.status_code == 201, f"create user {username} in {realm}: HTTP {r.status_code} {r.text[:300]}"
        return r.headers["location"].rsplit("/", 1)[1]

    def create_client(self, realm: str, rep: dict[str, Any]) -> str:
        r = self.call("POST", realm, "/clients", rep)
        assert r.status_code == 201, f"create client {rep['clientId']}: HTTP {r.status_code} {r.text[:300]}"
        return r.headers["location"].rsplit("/", 1)[1]

    def close(self) -> None:
        self.http.close()


@dataclass
class Story:
    """State handed from one step of the story to the next (never printed: it holds tokens)."""

    cfg: Config
    suffix: str
    username: str
    password: str
    user_id: str
    upstream_users: list[str]
    key_agent: str
    key: RSAKey
    data: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Story(username={self.username!r})"


@pytest.fixture(scope="session")
def cfg() -> Config:
    c = Config()
    c.screenshots.mkdir(parents=True, exist_ok=True)
    return c


@pytest.fixture(scope="session")
def callback_server(cfg: Config):
    from .browser import CallbackServer

    server = CallbackServer()
    cfg.redirect_uri = server.redirect_uri
    yield server
    server.close()


@pytest.fixture(scope="session")
def admin(cfg: Config):
    a = Admin(cfg)
    yield a
    a.close()


def _agent_rep(cfg: Config, client_id: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """A temporary agent with a registered key, its agent_auth.* policy mirroring calendar-agent's
    (realm-exports/agents-demo.json) minus the MCP resource URI and downstream agents."""
    return {
        "clientId": client_id,
        "name": "SDK Python test agent",
        "description": "Temporary agent of the Python SDK's end-to-end tests (actor+jwt, private_key_jwt)",
        "enabled": True,
        "protocol": "openid-connect",
        "publicClient": False,
        "bearerOnly": False,
        "standardFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "serviceAccountsEnabled": True,
        "clientAuthenticatorType": "client-jwt",
        "attributes": {
            "standard.token.exchange.enabled": "true",
            "use.jwks.string": "true",
            "jwks.string": json.dumps(jwks),
            "token.endpoint.auth.signing.alg": "RS256",
            "agent_auth.agent": "true",
            "agent_auth.allowed_scopes": "openid profile email",
            "agent_auth.allowed_audiences": "plain-service",
            "agent_auth.allowed_hosts": cfg.host,
            "agent_auth.allowed_connectors": cfg.connector,
            "agent_auth.max_depth": "3",
            "agent_auth.grant_lifetime": "2592000",
            "agent_auth.refresh_allowed": "true",
        },
        "defaultClientScopes": ["basic", "acr", "roles", "web-origins", "service_account"],
        "optionalClientScopes": ["profile", "email", "address", "phone", "offline_access", "microprofile-jwt"],
    }


@pytest.fixture(scope="session")
def story(cfg: Config, admin: Admin):
    suffix = secrets.token_hex(4)
    username = f"sdk-py-{suffix}"
    password = secrets.token_urlsafe(12)
    created: list[tuple[str, str, str]] = []  # (kind, realm, id)
    try:
        user_id = admin.create_user(cfg.realm, username, password)
        created.append(("users", cfg.realm, user_id))
        upstream_users = []
        for n in (1, 2):
            name = f"sdk-py-{suffix}-up{n}"
            created.append(("users", cfg.upstream_realm, admin.create_user(cfg.upstream_realm, name, name)))
            upstream_users.append(name)
        key = RSAKey.generate_key(2048, parameters={"kid": f"sdk-py-{suffix}", "use": "sig", "alg": "RS256"})
        key_agent = f"sdk-py-agent-{suffix}"
        created.append(("clients", cfg.realm, admin.create_client(
            cfg.realm, _agent_rep(cfg, key_agent, {"keys": [key.as_dict(private=False)]}))))
        # the user's consent to the temporary agent through agent-host (the admin API's pre-authorisation)
        r = admin.call("POST", cfg.realm, f"/agent-auth/users/{user_id}/delegations",
                       {"agent": key_agent, "host": cfg.host, "scopes": ["openid", "profile"]})
        assert r.status_code == 201, f"grant {username} -> {key_agent}: HTTP {r.status_code} {r.text[:300]}"
        yield Story(cfg=cfg, suffix=suffix, username=username, password=password, user_id=user_id,
                    upstream_users=upstream_users, key_agent=key_agent, key=key)
    finally:
        if created and created[0][0] == "users":
            # the user's connections first: the vault revokes them upstream (RFC 7009), then deletes them
            r = admin.call("GET", cfg.realm, f"/agent-auth/users/{created[0][2]}/connections")
            for c in r.json() if r.status_code == 200 else []:
                admin.call("DELETE", cfg.realm, f"/agent-auth/users/{created[0][2]}/connections/{c['id']}")
        for kind, realm, ident in reversed(created):
            if kind == "clients":
                # an update that ends the client's agent role first: the extension then removes the agent's
                # delegation:client:<agent> scope from agent-host at once (a deletion alone leaves it to the next
                # sync), and with it the scopes of agents deleted earlier
                rep = admin.call("GET", realm, f"/clients/{ident}")
                if rep.status_code == 200:
                    body = rep.json()
                    body["attributes"] = dict(body.get("attributes") or {}, **{"agent_auth.agent": "false"})
                    admin.call("PUT", realm, f"/clients/{ident}", body)
            r = admin.call("DELETE", realm, f"/{kind}/{ident}")
            assert r.status_code in (204, 404), f"delete {kind} {ident} in {realm}: HTTP {r.status_code}"


@pytest.fixture(scope="session")
def agent(cfg: Config):
    """calendar-agent: client credentials (actor token of type access_token)."""
    from keycloak_agent_auth import AgentAuth

    with AgentAuth.discover(cfg.issuer, client_id=cfg.agent, client_secret=cfg.agent_secret) as a:
        yield a


@pytest.fixture(scope="session")
def research(cfg: Config):
    """research-agent, calendar-agent's downstream agent (the chain hop)."""
    from keycloak_agent_auth import AgentAuth

    with AgentAuth.discover(cfg.issuer, client_id=cfg.downstream, client_secret=cfg.downstream_secret) as a:
        yield a


@pytest.fixture(scope="session")
def key_agent(cfg: Config, story: Story):
    """The temporary agent with a key: signed actor+jwt, private_key_jwt client authentication."""
    from keycloak_agent_auth import AgentAuth

    with AgentAuth.discover(cfg.issuer, client_id=story.key_agent, private_key=story.key) as a:
        yield a


def account_api(cfg: Config, user_token: str, method: str, path: str) -> httpx.Response:
    """The user's own API ({issuer}/agent-auth/account/...), with the user's (not delegated) token."""
    return httpx.request(method, f"{cfg.issuer}/agent-auth/account/{path}",
                         headers={"Authorization": f"Bearer {user_token}"}, timeout=30.0)


def jwt_claims(token: str) -> dict[str, Any]:
    """Claims of a JWT for assertions only (joserfc, not verified: the server verified it)."""
    from joserfc import jws

    return json.loads(jws.extract_compact(token.encode()).payload)


TOKEN_SHAPE = __import__("re").compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ")


def assert_no_token(*texts: str) -> None:
    for t in texts:
        assert not TOKEN_SHAPE.search(t), "a token-shaped string in: " + t[:80]
