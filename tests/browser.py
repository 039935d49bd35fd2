"""Headless Chromium for the page tests: Playwright driving Debian's chromium, offline by design.

`PageWatch` records every request a page makes, every failed or 4xx/5xx response, every request to
a host other than the server and every console error, so a test can assert the page is clean.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium (the system's, never a downloaded one)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class PageWatch:
    """Everything a page asked for and everything that went wrong."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base = page, urlsplit(base_url).netloc
        self.requests: list[str] = []
        self.foreign: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._request)
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        page.on("response", self._response)
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def _request(self, request) -> None:
        self.requests.append(request.url)
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob", "about") and parts.netloc != self.base:
            self.foreign.append(request.url)

    def _response(self, response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url} {response.status}")

    def paths(self, prefix: str) -> list[str]:
        """Paths (with query) of the requests whose path starts with `prefix`."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.path.startswith(prefix):
                out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        return out

    def assert_clean(self) -> None:
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert self.failed == [], f"failed requests: {self.failed}"
        assert self.errors == [], f"console errors: {self.errors}"


def login(context: BrowserContext, base: str, username: str, password: str,
          path: str) -> tuple[Page, PageWatch]:
    """Log in through the login form and land on `path`; returns the page and its watch."""
    page = context.new_page()
    watch = PageWatch(page, base)
    page.goto(f"{base}/login?next={path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation(url=f"{base}{path}"):
        page.click("#wg-login button[type=submit]")
    try:
        page.wait_for_selector("body[data-ready='1']", state="attached", timeout=30_000)
    except Exception as exc:
        raise AssertionError(f"page not ready: errors={watch.errors} failed={watch.failed} "
                             f"foreign={watch.foreign}") from exc
    return page, watch


def screenshot(page: Page, name: str) -> Path:
    """Save the page as tests/artifacts/<name>.png and copy it to docs/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    shutil.copyfile(path, SCREENSHOTS / f"{name}.png")
    return path


def wait_js(page: Page, expression: str, timeout_ms: int = 10_000, arg=None):
    """Poll a JavaScript expression until it is truthy (the pages' CSP forbids the eval that
    Playwright's wait_for_function needs); returns its value."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        value = page.evaluate(expression, arg) if arg is not None else page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(50)
