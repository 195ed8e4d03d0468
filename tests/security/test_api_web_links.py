"""Issue 14, Low: the web chat's link renderer. ``safeHref`` accepted ``/\\host`` (the browser
reads it as ``//host``: off-site), and a bare URL sent the renderer into endless recursion,
cutting the reply. Real Chromium, through Playwright, as tests/test_web_chat.py does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse
from tests.test_api import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"no system Chromium at {CHROMIUM}", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

RENDER = """(source) => {
  const box = document.createElement("div");
  box.append(window.Mara.renderMarkdown(source));
  return {hrefs: [...box.querySelectorAll("a")].map((a) => a.getAttribute("href")), text: box.textContent};
}"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("web-links") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(settings)) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(server.url + "/")
        page.wait_for_function("() => Boolean(window.Mara && window.Mara.renderMarkdown)")
        try:
            yield page
        finally:
            browser.close()


def test_backslash_link_to_another_host_stays_text(page: Any) -> None:
    shown = page.evaluate(RENDER, "[report](/\\\\evil.example/x) and [ok](/v1/artifacts/a.csv)")
    assert shown["hrefs"] == ["/v1/artifacts/a.csv"]


def test_a_bare_url_renders_once_and_the_reply_goes_on(page: Any) -> None:
    shown = page.evaluate(RENDER, "See https://example.com/guide for details.")
    assert shown["hrefs"] == ["https://example.com/guide"]
    assert shown["text"] == "See https://example.com/guide for details."
