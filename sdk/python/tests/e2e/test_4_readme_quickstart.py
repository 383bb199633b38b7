"""The README's quick start, run as it is written (the ```python block under "Quick start"), for a fresh user: its
print() and input() are the user's side, played in Chromium (sign in, Allow, connect an upstream account)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_code() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block under Quick start"
    return match.group(1)


def test_quickstart_is_at_most_20_lines():
    lines = [line for line in quickstart_code().splitlines() if line.strip()]
    assert 5 < len(lines) <= 20, len(lines)


@pytest.fixture
def fresh_user(cfg, admin):
    suffix = secrets.token_hex(4)
    name, password, upstream = f"sdk-py-qs-{suffix}", secrets.token_urlsafe(12), f"sdk-py-qs-{suffix}-up"
    user_id = admin.create_user(cfg.realm, name, password)
    upstream_id = None
    try:
        upstream_id = admin.create_user(cfg.upstream_realm, upstream, upstream)
        yield name, password, upstream, suffix
    finally:
        r = admin.call("GET", cfg.realm, f"/agent-auth/users/{user_id}/connections")
        for c in r.json() if r.status_code == 200 else []:
            admin.call("DELETE", cfg.realm, f"/agent-auth/users/{user_id}/connections/{c['id']}")
        admin.call("DELETE", cfg.realm, f"/users/{user_id}")
        if upstream_id:
            admin.call("DELETE", cfg.upstream_realm, f"/users/{upstream_id}")


def test_readme_quickstart_runs(cfg, fresh_user):
    name, password, upstream, suffix = fresh_user
    code = quickstart_code()
    assert "http://localhost:8080/realms/agents-demo" in code  # the demo issuer, as a reader types it
    code = code.replace("http://localhost:8080/realms/agents-demo", cfg.issuer)
    printed: list[tuple] = []
    landed: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=cfg.chromium, headless=True)
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        page.set_default_timeout(30_000)

        def user_print(*args):
            printed.append(args)
            if str(args[0]).startswith("Open,"):
                page.goto(args[1])
                page.fill("#username", name)
                page.fill("#password", password)
                page.click("#kc-login")
                page.locator("#kc-agent-consent-form").wait_for()
                page.screenshot(path=str(cfg.screenshots / f"py-qs-{suffix}-consent.png"), full_page=True)
                # nothing listens at http://localhost/callback: the address is what the user copies
                with page.expect_request(lambda r: r.url.startswith("http://localhost/callback")) as request:
                    page.click("#kc-agent-allow")
                landed.append(request.value.url)
            elif str(args[0]).startswith("Connect an account"):
                # a new tab of the same browser (signed in): the first one may still be settling on its error page
                tab = page.context.new_page()
                tab.goto(args[1])
                tab.locator("#kc-agent-connect-form").wait_for()
                tab.click("#kc-agent-connect-allow")
                tab.wait_for_url(lambda u: f"/realms/{cfg.upstream_realm}/" in u)
                tab.fill("#username", upstream)
                tab.fill("#password", upstream)
                tab.click("#kc-login")
                tab.locator("#agent-connect-result-message").wait_for()

        def user_input(prompt: str) -> str:
            assert landed, "input() before the browser came back"
            return landed[-1]

        try:
            exec(compile(code, str(README) + " (quick start)", "exec"),
                 {"__name__": "quickstart", "print": user_print, "input": user_input})
        finally:
            browser.close()
    heads = [str(p[0]) for p in printed]
    assert heads[0].startswith("Open,") and heads[1].startswith("Connect an account"), heads
    assert printed[1][1].startswith(f"{cfg.issuer}/agent-auth/connectors/demo-calendar/connect?")
    userinfo = printed[-1][0]
    assert isinstance(userinfo, dict) and userinfo["preferred_username"] == upstream, userinfo
