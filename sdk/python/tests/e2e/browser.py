"""The user's side in headless Chromium (Playwright, sync API): Keycloak login, the agent consent screen, the
connector's connect page and the upstream's login. Selectors as in integration-tests/src/test/mcp/e2e.js."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Page

STEP_TIMEOUT_MS = 30_000


class UserBrowser:
    def __init__(self, page: Page, callbacks: list[str], screenshots: Path, prefix: str) -> None:
        self.page = page
        self.screenshots = screenshots
        self.prefix = prefix
        self.shots: list[Path] = []
        self._callbacks = callbacks  # URLs the host app's loopback redirect URI received (CallbackServer)
        page.set_default_timeout(STEP_TIMEOUT_MS)

    def another_browser_session(self) -> "UserBrowser":
        """A new browser context (no cookies): the user signs in again. Linking a second upstream account there keeps
        the first one's upstream session alive (Keycloak ends a browser's session when another user signs in)."""
        browser = self.page.context.browser
        assert browser is not None
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        return UserBrowser(context.new_page(), self._callbacks, self.screenshots, self.prefix)

    def screenshot(self, name: str) -> Path:
        path = self.screenshots / f"{self.prefix}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def authorize(self, url: str, username: str, password: str, *, consent: bool, shot: str | None = None) -> str:
        """Opens an authorization URL; signs in if asked; clicks Allow on the agent consent screen if ``consent``;
        returns the URL the browser was redirected to (the host's callback)."""
        before = len(self._callbacks)
        self.page.goto(url)
        deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
        consented = False
        while len(self._callbacks) == before:
            assert time.monotonic() < deadline, f"no redirect back to the host; page: {self._text()}"
            if self.page.locator("#kc-agent-consent-form").count():
                assert consent, "an agent consent screen where none was expected"
                assert not consented, "the consent screen again after Allow"
                title = self.page.locator("#agent-consent-title").inner_text()
                if shot:
                    self.screenshot(shot)
                self.page.click("#kc-agent-allow")
                consented = True
                assert title.strip(), "the consent screen has no title"
            elif self.page.locator("#kc-login").count() and self.page.locator("#username").count():
                self.page.fill("#username", username)
                self.page.fill("#password", password)
                self.page.click("#kc-login")
            self.page.wait_for_timeout(150)
        assert consented or not consent, "expected the agent consent screen"
        return self._callbacks[-1]

    def connect(self, connect_uri: str, upstream_user: str, upstream_password: str, *, username: str,
                password: str, upstream_realm: str, shot: str | None = None) -> str:
        """The connect flow: (Keycloak login if needed) the connect page, Allow, the upstream's login; returns the
        result page's message."""
        self.page.goto(connect_uri)
        self.page.locator("#kc-agent-connect-form, #kc-login").first.wait_for()
        if not self.page.locator("#kc-agent-connect-form").count():
            self.page.fill("#username", username)
            self.page.fill("#password", password)
            self.page.click("#kc-login")
            self.page.locator("#kc-agent-connect-form").wait_for()
        if shot:
            self.screenshot(shot)
        self.page.click("#kc-agent-connect-allow")
        self.page.wait_for_url(lambda u: f"/realms/{upstream_realm}/" in u)
        self.page.locator("#password").wait_for()
        if not self.page.locator("#username").is_visible():
            # prompt=login with an upstream session: Keycloak asks only the password of the signed-in account
            # ("Restart login" switches to another account)
            self.screenshot("upstream-reauth")
            self.page.click("#reset-login")
            self.page.locator("#username").wait_for()
        self.page.fill("#username", upstream_user)
        self.page.fill("#password", upstream_password)
        self.page.click("#kc-login")
        self.page.locator("#agent-connect-result-message").wait_for()
        ok = self.page.locator("#agent-connect-result").get_attribute("data-ok")
        message = re.sub(r"\s+", " ", self.page.locator("#agent-connect-result-message").inner_text()).strip()
        assert ok == "true", f"connect failed: {message}"
        return message

    def _text(self) -> str:
        try:
            return re.sub(r"\s+", " ", self.page.locator("body").inner_text())[:300]
        except Exception:  # noqa: BLE001 - diagnostics only
            return "(no page text)"


class CallbackServer:
    """The host app's redirect URI: a loopback listener (RFC 8252 section 7.3; agent-host allows http://127.0.0.1/*
    on any port) that keeps each URL it receives (code, state, iss) for the test."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        urls: list[str] = []
        self.urls = urls

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if not self.path.startswith("/sdk-python/callback"):
                    self.send_error(404)
                    return
                host = self.headers.get("Host", "127.0.0.1")
                urls.append(f"http://{host}{self.path}")
                body = b"<!doctype html><title>host app</title><p>The host app got its authorization response.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # the query holds a code: never logged
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self._server.server_address[1]}/sdk-python/callback"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
