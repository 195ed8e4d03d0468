"""What the browser tests share: Debian's Chromium driven by Playwright, one browser per test
module (the ``browser`` fixture of ``tests/conftest.py``) and a fresh context per page, so every
test still starts without cookies or storage but does not pay a browser launch.

A page made by :func:`new_page` records console errors, page errors and any request to a host
other than 127.0.0.1 (which it also blocks) in ``page.problems``. Importing this module skips
the importing test module when Chromium or the ``playwright`` package is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"no system Chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install playwright)"
)
expect = sync_api.expect

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)  # the first turn also loads the assistant
SCREENS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}


def new_page(browser: Any, screen: str | dict[str, int] = "desktop", *, theme: str = "light",
             mobile: bool = False, clipboard: bool = False) -> Any:
    """A page in a new browser context (its own cookies and storage) on ``screen`` (a name of
    :data:`SCREENS` or a viewport); ``mobile`` also emulates touch. Close it with
    ``page.context.close()`` (the ``new_page`` fixture does)."""
    context = browser.new_context(
        viewport=SCREENS[screen] if isinstance(screen, str) else screen, locale="en-US", color_scheme=theme,
        accept_downloads=True, has_touch=mobile, is_mobile=mobile,
    )
    if clipboard:
        context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.problems = []

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", None):
            route.continue_()
        else:
            page.problems.append(f"remote request: {route.request.url}")
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda m: page.problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    return page


def ask(page: Any, text: str, answers_before: int) -> Any:
    """Type a message, send it with Enter, wait for the answer to finish; return it."""
    box = page.locator("#composer-input")
    box.fill(text)
    box.press("Enter")
    done = page.locator("li.msg-assistant[aria-busy='false']")
    expect(done).to_have_count(answers_before + 1)
    return done.nth(answers_before)
