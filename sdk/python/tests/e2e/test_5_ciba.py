"""Headless approval (CIBA, DESIGN section 12) against the real server, for a fresh user of its own: calendar-agent asks
with ``request_approval``; the user signs in on the self-service page in headless Chromium, opens the request
(Review) and clicks Allow while ``wait_for_approval`` polls in another thread: a delegated token with
``act.client_id = calendar-agent``. A second request denied: AccessDenied (the async client). A third nobody decides:
the caller's timeout gives AgentAuthError ``authorization_pending``."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, sync_playwright

from keycloak_agent_auth import AccessDenied, AgentAuthError, ApprovalRequest, AsyncAgentAuth

from .conftest import assert_no_token

# an approval waits for the browser steps plus the poll interval (5 s) and a slow_down or two
APPROVAL_TIMEOUT = 90


@pytest.fixture(scope="module")
def ciba_user(cfg, admin):
    username = f"sdk-py-ciba-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    user_id = admin.create_user(cfg.realm, username, password)
    try:
        yield {"username": username, "password": password, "id": user_id}
    finally:
        r = admin.call("DELETE", cfg.realm, f"/users/{user_id}")
        assert r.status_code in (204, 404), f"delete user {username}: HTTP {r.status_code}"


@pytest.fixture(scope="module")
def page(cfg):
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=cfg.chromium, headless=True)
        try:
            p = b.new_context(viewport={"width": 1100, "height": 900}).new_page()
            p.set_default_timeout(30_000)
            yield p
        finally:
            b.close()


def _login(page: Page, user: dict[str, str]) -> None:
    page.fill("#username", user["username"])
    page.fill("#password", user["password"])
    page.click("#kc-login")


def decide(cfg, page: Page, user: dict[str, str], binding: str, decision: str, shot: str) -> str:
    """The self-service page signed in as ``user``: the request with ``binding`` opened (Review), Allow or Deny."""
    page.goto(f"{cfg.issuer}/agent-auth/account/")
    page.locator("#username, #agent-account").first.wait_for()
    if page.locator("#username").count():
        _login(page, user)
    page.locator("#agent-account-approvals").wait_for()
    row = page.locator(".agent-account-approval").filter(has_text=binding)
    assert row.count() == 1, f"the self-service page lists {binding}"
    page.screenshot(path=str(cfg.screenshots / f"py-{shot}-self-service.png"), full_page=True)
    row.locator(".agent-account-approval-open").click()
    page.locator("#username, #kc-agent-consent-form").first.wait_for()
    if page.locator("#username").count():
        _login(page, user)
    page.locator("#kc-agent-consent-form").wait_for()
    assert binding in page.locator("#agent-approval-binding").inner_text()
    page.screenshot(path=str(cfg.screenshots / f"py-{shot}-approval.png"), full_page=True)
    page.click("#kc-agent-allow" if decision == "allow" else "#kc-agent-deny")
    page.locator("#agent-connect-result-message").wait_for()
    page.screenshot(path=str(cfg.screenshots / f"py-{shot}-result.png"), full_page=True)
    return re.sub(r"\s+", " ", page.locator("#agent-connect-result-message").inner_text()).strip()


def assert_no_auth_req_id(request: ApprovalRequest) -> None:
    assert len(request.auth_req_id) > 20
    for text in (repr(request), str(request), json.dumps(request.to_dict())):
        assert request.auth_req_id[:24] not in text
    assert_no_token(repr(request))


def test_allow_on_the_self_service_page_while_wait_for_approval_polls(cfg, agent, ciba_user, page):
    binding = f"PY-A-{secrets.token_hex(3)}"
    connector = agent.connector_uri(cfg.connector)
    request = agent.request_approval(login_hint=ciba_user["username"], scope="openid profile", binding_message=binding,
                                     description="Read your meetings of tomorrow and draft a summary (Python SDK test)",
                                     resource=connector)
    assert request.interval == 5 and not request.expired()
    assert_no_auth_req_id(request)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(agent.wait_for_approval, request)
        message = decide(cfg, page, ciba_user, binding, "allow", "ciba-allow")
        assert "approved" in message.lower(), message
        ts = waiting.result(timeout=APPROVAL_TIMEOUT)
    assert ts.actor == cfg.agent and ts.actor_chain == [cfg.agent]
    assert ts.subject == ciba_user["id"]
    assert connector in ts.aud
    assert "profile" in ts.scope and "email" not in ts.scope
    assert_no_token(repr(ts), json.dumps(ts.to_dict()))
    # redeemed once: waiting again is refused, no second token
    with pytest.raises(AgentAuthError) as again:
        agent.wait_for_approval(request, timeout=12)
    assert again.value.code == "invalid_grant"


def test_deny_is_access_denied_with_the_async_client(cfg, ciba_user, page):
    binding = f"PY-B-{secrets.token_hex(3)}"

    async def ask_and_wait() -> AgentAuthError:
        async with await AsyncAgentAuth.discover(cfg.issuer, client_id=cfg.agent,
                                                 client_secret=cfg.agent_secret) as a:
            request = await a.request_approval(login_hint=ciba_user["username"], scope="openid",
                                               binding_message=binding)
            requested.append(request)
            try:
                await a.wait_for_approval(request)
            except AgentAuthError as e:
                return e
            raise AssertionError("a token after Deny")

    requested: list[ApprovalRequest] = []
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(asyncio.run, ask_and_wait())
        # the self-service page lists the request once the worker has sent it
        for _ in range(100):
            if requested:
                break
            page.wait_for_timeout(100)
        assert requested, "no approval request sent"
        decide(cfg, page, ciba_user, binding, "deny", "ciba-deny")
        e = waiting.result(timeout=APPROVAL_TIMEOUT)
    assert isinstance(e, AccessDenied) and (e.code, e.status) == ("access_denied", 400)
    assert e.to_dict()["type"] == "AccessDenied"
    assert requested[0].auth_req_id[:24] not in json.dumps(e.to_dict()) + repr(e)


def test_nobody_decides_the_timeout_is_authorization_pending(cfg, agent, ciba_user):
    request = agent.request_approval(login_hint=ciba_user["username"], scope="openid",
                                     binding_message=f"PY-C-{secrets.token_hex(3)}")
    with pytest.raises(AgentAuthError) as raised:
        agent.wait_for_approval(request, timeout=7)
    assert type(raised.value) is AgentAuthError and raised.value.code == "authorization_pending"
    assert not request.expired()
