"""The web chat in a real browser: Playwright driving Debian's headless Chromium (``tests/browser.py``).

Needs the ``playwright`` Python package and ``/usr/bin/chromium`` (no browser download: the
test launches the system Chromium; one browser for the module, a new context per test). The screenshot lands in ``test-artifacts/web_chat.png``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from assistant.demo_data import build_demo_data
from assistant.keys import KeyStore
from foundation.settings import MaraSettings
from tests.browser import ARTIFACTS, ask, expect
from tests.test_api import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("web") / "ws"
    home.mkdir()
    build_demo_data(home / "warehouse.duckdb", customers=2000)
    return home


@pytest.fixture(scope="module")
def live(demo_home: Path) -> Iterator[str]:
    """No API key in the workspace, loopback: the API is open, no sign-in."""
    settings = MaraSettings(home=demo_home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(settings)) as server:
        yield server.url


def serve_copy(demo_home: Path, folder: Path, key: str | None = None) -> Iterator[dict[str, str]]:
    """Serve a copy of the demo warehouse (its own conversations) on loopback: open, or with an API
    key named ``key`` (the web chat must sign in); yields the URL (and the key's secret)."""
    home = folder / "ws"
    home.mkdir()
    shutil.copy(demo_home / "warehouse.duckdb", home / "warehouse.duckdb")
    secret = KeyStore.for_home(home).create(key)[1] if key else ""
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(settings)) as server:
        yield {"url": server.url, "key": secret}


@pytest.fixture(scope="module")
def secured(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A copy of the demo workspace with an API key: the web chat must sign in."""
    yield from serve_copy(demo_home, tmp_path_factory.mktemp("web-secured"), key="marketer")


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page({"width": 1280, "height": 1000})


def numbers(cells: list[str]) -> list[float]:
    return [float(re.sub(r"[^0-9.\-]", "", c)) for c in cells]


def test_full_chat_with_table_chart_follow_up_and_sorting(page: Any, live: str) -> None:
    page.goto(live)
    expect(page.locator("#mode-badge")).to_contain_text(re.compile("offline", re.I))

    first = ask(page, "revenue by country", 0)
    expect(first.locator(".md")).to_contain_text("by country")
    expect(first.locator("table.data")).to_be_visible()
    expect(first.locator("table.data tbody tr").first).to_be_visible()
    expect(first.locator(".card-chart .chart-view svg")).to_be_visible()
    expect(first.locator(".step-ok .step-name")).to_have_text("query_data")
    conversation_id = page.evaluate("sessionStorage.getItem('mara.conversation_id')")
    assert conversation_id

    # the demo's orders end on 2026-10-31: ask about a month inside the data
    second = ask(page, "and in September 2026?", 1)
    expect(second.locator(".md")).to_contain_text("September 2026")
    expect(second.locator("table.data")).to_be_visible()
    expect(second.locator(".card-chart .chart-view svg")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('mara.conversation_id')") == conversation_id
    stored = page.evaluate(
        "async (id) => (await fetch(`/v1/conversations/${id}`)).json()", conversation_id
    )
    assert [m["content"] for m in stored["messages"] if m["role"] == "user"] == [
        "revenue by country",
        "and in September 2026?",
    ]

    table = second.locator("table.data")
    headers = table.locator("thead th")
    revenue = headers.filter(has_text="revenue")
    revenue.locator("button").click()
    expect(revenue).to_have_attribute("aria-sort", "ascending")
    column = [h.strip() for h in headers.all_inner_texts()].index("revenue")
    cells = table.locator(f"tbody tr td:nth-child({column + 1})")
    values = numbers(cells.all_inner_texts())
    assert len(values) > 1 and values == sorted(values)
    revenue.locator("button").click()
    expect(revenue).to_have_attribute("aria-sort", "descending")
    assert numbers(cells.all_inner_texts()) == sorted(values, reverse=True)

    second.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web_chat.png"))
    assert page.problems == []


def test_sign_in_with_a_key_keeps_an_http_only_session(page: Any, secured: dict[str, str]) -> None:
    page.goto(secured["url"])
    dialog = page.locator("#signin")
    expect(dialog).to_be_visible()
    expect(page.locator("#sign-out")).to_be_hidden()

    page.locator("#signin-key").fill("mara_000000000000_not-a-valid-key-at-all")
    page.locator("#signin-key").press("Enter")
    expect(page.locator("#signin-error")).to_contain_text("not valid")
    expect(dialog).to_be_visible()

    page.locator("#signin-key").fill(secured["key"])
    page.locator("#signin-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#sign-out")).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["mara_session"]["httpOnly"] and cookies["mara_session"]["sameSite"] == "Strict"
    assert "mara_session" not in page.evaluate("document.cookie")
    assert secured["key"] not in cookies["mara_session"]["value"]

    answer = ask(page, "How many customers do we have?", 0)
    expect(answer.locator(".md")).to_contain_text("customers")
    expect(answer.locator(".step-ok .step-name")).to_have_text("query_data")

    page.reload()  # the session survives a reload, and so does the conversation
    expect(page.locator("#sign-out")).to_be_visible()
    expect(dialog).to_be_hidden()
    expect(page.locator("li.msg-user")).to_have_count(1)

    page.locator("#sign-out").click()
    expect(dialog).to_be_visible()
    assert "mara_session" not in {c["name"] for c in page.context.cookies()}
    assert [p for p in page.problems if "401" not in p] == []


@pytest.fixture(scope="module")
def fresh(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A copy of the demo workspace with no conversations yet (an open, loopback API)."""
    for served in serve_copy(demo_home, tmp_path_factory.mktemp("web-sidebar")):
        yield served["url"]


def sidebar_items(page: Any) -> Any:
    return page.locator("#conversation-list .conv-item")


def test_conversation_sidebar_lists_opens_renames_and_deletes(page: Any, fresh: str) -> None:
    page.goto(fresh)
    expect(page.locator("#conversation-list")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#conversation-empty")).to_be_visible()
    items = sidebar_items(page)
    expect(items).to_have_count(0)

    # a first question: its conversation appears at the top, titled by the question, highlighted
    first = ask(page, "How many customers do we have?", 0)
    expect(first.locator(".md")).to_contain_text("customers")
    expect(items).to_have_count(1)
    expect(items.first.locator(".conv-title")).to_have_text("How many customers do we have?")
    expect(items.first.locator(".conv-time")).to_have_text(re.compile(r"just now|min ago"))
    expect(items.first.locator(".conv-open")).to_have_attribute("aria-current", "true")
    first_id = page.evaluate("sessionStorage.getItem('mara.conversation_id')")

    # a new chat, another question: two entries, the newest on top and current
    page.get_by_role("button", name="Start a new chat").click()
    expect(page.locator("#empty-state")).to_be_visible()
    expect(page.locator("li.msg")).to_have_count(0)
    expect(page.locator(".conv-open[aria-current]")).to_have_count(0)
    second = ask(page, "revenue by country", 0)
    expect(second.locator("table.data")).to_be_visible()
    expect(items).to_have_count(2)
    expect(page.locator("#conversation-list .conv-title")).to_have_text(
        ["revenue by country", "How many customers do we have?"]
    )
    expect(items.first).to_have_class(re.compile("is-current"))
    second_id = page.evaluate("sessionStorage.getItem('mara.conversation_id')")
    assert second_id and second_id != first_id

    # rename inline: a double-click opens the title box, Escape cancels
    title_box = page.get_by_role("textbox", name="Conversation title")
    items.first.locator(".conv-open").dblclick()
    expect(title_box).to_be_focused()
    expect(title_box).to_have_value("revenue by country")
    title_box.fill("Discarded title")
    title_box.press("Escape")
    expect(title_box).to_have_count(0)
    expect(page.locator("#conversation-list .conv-title", has_text="Discarded")).to_have_count(0)
    # the pencil button opens it too, and Enter saves
    older = items.filter(has_text="How many customers")
    older.hover()
    older.get_by_role("button", name=re.compile("^Rename")).click()
    expect(title_box).to_be_focused()
    title_box.fill("Customer count")
    title_box.press("Enter")
    expect(items.filter(has_text="Customer count")).to_have_count(1)

    page.reload()  # the title is stored; the open conversation comes back after a reload
    expect(items).to_have_count(2)
    expect(items.filter(has_text="Customer count")).to_have_count(1)
    expect(items.filter(has_text="How many customers")).to_have_count(0)
    expect(page.locator("li.msg-user .bubble")).to_have_text(["revenue by country"])

    # open the first conversation: its stored messages, tool steps collapsed
    items.filter(has_text="Customer count").locator(".conv-open").click()
    expect(page.locator("li.msg-user .bubble")).to_have_text(["How many customers do we have?"])
    expect(page.locator("li.msg-assistant .md")).to_contain_text("customers")
    expect(page.locator("li.msg-assistant .step-name").first).to_have_text("query_data")
    expect(page.locator("li.msg-assistant details.step[open]")).to_have_count(0)
    expect(items.filter(has_text="Customer count")).to_have_class(re.compile("is-current"))
    assert page.evaluate("sessionStorage.getItem('mara.conversation_id')") == first_id
    # and a follow-up continues it (it moves to the top, still one entry)
    ask(page, "and by country?", 1)
    expect(items).to_have_count(2)
    expect(items.first.locator(".conv-title")).to_have_text("Customer count")

    page.screenshot(path=str(_artifacts() / "web_chat_sidebar.png"))

    # delete "revenue by country": Cancel keeps it, Delete removes it for good
    doomed = items.filter(has_text="revenue by country")
    doomed.hover()
    doomed.get_by_role("button", name=re.compile("^Delete")).click()
    dialog = page.locator("#confirm-delete")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("revenue by country")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(items).to_have_count(2)
    doomed.hover()
    doomed.get_by_role("button", name=re.compile("^Delete")).click()
    dialog.get_by_role("button", name="Delete").click()
    expect(items).to_have_count(1)
    expect(page.locator("#toast")).to_contain_text("deleted")
    page.reload()
    expect(page.locator("#conversation-list")).to_have_attribute("aria-busy", "false")
    expect(items).to_have_count(1)
    expect(items.first.locator(".conv-title")).to_have_text("Customer count")
    gone = page.evaluate("async (id) => (await fetch(`/v1/conversations/${id}`)).status", second_id)
    assert gone == 404
    assert [p for p in page.problems if "404" not in p] == []

    # a narrow (phone) screen: the sidebar hides behind the toggle
    page.set_viewport_size({"width": 600, "height": 900})
    sidebar = page.locator("#sidebar")
    toggle = page.locator("#sidebar-toggle")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(sidebar).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(items).to_have_count(1)
    sidebar.evaluate("el => Promise.all(el.getAnimations().map((a) => a.finished))")  # slid in
    page.screenshot(path=str(_artifacts() / "web_chat_sidebar_narrow.png"))
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    toggle.click()
    expect(sidebar).to_be_visible()
    items.first.locator(".conv-open").click()  # opening a conversation closes the drawer
    expect(sidebar).to_be_hidden()
    expect(page.locator("li.msg-user")).to_have_count(2)

    # a failing list call shows a small, non-blocking message; the chat still works
    page.route(
        re.compile(r".*/v1/conversations\?limit=.*"),
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body='{"error": {"message": "Service unavailable."}}',
        ),
    )
    page.reload()
    expect(page.locator("#toast")).to_contain_text("Could not load your conversations")
    expect(page.locator("#composer-input")).to_be_editable()


def _artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def test_a_long_tool_shows_its_progress_while_it_runs(page: Any, live: str) -> None:
    """Training a churn model takes seconds: its tool card says which step it is on."""
    page.goto(live)
    page.evaluate(
        """() => {
          window.stepTexts = [];
          new MutationObserver(() => document.querySelectorAll('.step-time')
              .forEach((e) => window.stepTexts.push(e.textContent)))
            .observe(document.body, { subtree: true, childList: true, characterData: true });
        }"""
    )
    answer = ask(page, "Which customers are likely to churn next quarter?", 0)
    expect(answer.locator(".step-ok .step-name")).to_have_text("predict_churn")
    shown = page.evaluate("window.stepTexts")
    assert any(t.startswith("features as of") for t in shown), shown
    assert any(t.startswith("training on") for t in shown), shown
    assert not answer.locator(".step-time").inner_text().startswith("training")  # ends as a duration
    assert page.problems == []


def test_thumbs_up_under_an_answer_is_stored_with_its_turn(page: Any, live: str, demo_home: Path) -> None:
    from assistant.audit import AuditLog
    from assistant.evaluation.feedback import list_feedback

    page.goto(live)
    answer = ask(page, "How many customers do we have?", 0)
    answer.get_by_role("button", name="Good answer").click()
    expect(answer.locator(".feedback")).to_have_text("Thanks for the feedback.")
    rated = [(f["turn"], f["rating"], f["question"]) for f in list_feedback(AuditLog(demo_home / "audit.sqlite"))]
    assert (1, "up", "How many customers do we have?") in rated
    assert page.problems == []


RESULT_CARDS = "li.msg-assistant .artifacts > .card, li.msg-assistant .citations .chip"


def test_result_cards_come_back_after_a_reload_and_from_the_sidebar(page: Any, fresh: str) -> None:
    """Tables and charts are stored with their turn: a reload or reopening the conversation from the
    sidebar shows the same cards, not just the text that mentions them."""
    page.goto(fresh)
    first = ask(page, "revenue by country", 0)
    expect(first.locator("table.data")).to_be_visible()
    ask(page, "How many customers do we have?", 1)
    cards = page.locator(RESULT_CARDS)
    shown = cards.count()
    assert shown >= 3
    conversation_id = page.evaluate("sessionStorage.getItem('mara.conversation_id')")
    stored = page.evaluate("async (id) => (await fetch(`/v1/conversations/${id}`)).json()", conversation_id)
    kinds = [c["type"] for m in stored["messages"] for c in m.get("cards", [])]
    assert kinds.count("table") == 2 and "chart" in kinds
    table = next(c["data"] for m in stored["messages"] for c in m.get("cards", []) if c["type"] == "table")
    assert table["rows"] and table["artifact_id"]

    page.reload()
    expect(page.locator("li.msg-user")).to_have_count(2)
    expect(cards).to_have_count(shown)
    expect(page.locator("li.msg-assistant").first.locator(".card-chart .chart-view svg")).to_be_visible()
    expect(page.locator("li.msg-assistant").first.locator("table.data tbody tr").first).to_be_visible()

    page.get_by_role("button", name="Start a new chat").click()
    expect(page.locator("li.msg")).to_have_count(0)
    page.locator("#conversation-list .conv-item").filter(has_text="revenue by country").locator(".conv-open").click()
    expect(page.locator("li.msg-user")).to_have_count(2)
    expect(cards).to_have_count(shown)
    assert page.problems == []


def test_the_app_never_scrolls_out_of_view(page: Any, live: str) -> None:
    """Only the conversation scrolls: after three answers the document is exactly the window's
    height, wheeling past the end leaves the app in place, and the visually-hidden labels stay
    inside the conversation box (they used to hang below it and stretch the page)."""
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(live)
    for n, question in enumerate(["revenue by country", "How many customers do we have?", "How many orders per month?"]):
        ask(page, question, n)
    assert page.evaluate("document.documentElement.scrollHeight") == page.evaluate("window.innerHeight")
    page.mouse.move(700, 450)
    page.mouse.wheel(0, 5000)
    page.wait_for_timeout(300)
    assert page.evaluate("window.scrollY") == 0
    escaped = page.evaluate(
        """() => {
          const box = document.querySelector('#conversation');
          return [...box.querySelectorAll('.visually-hidden')]
            .filter((e) => !box.contains(e.offsetParent)).length;  // placed against <body>
        }"""
    )
    assert escaped == 0
    assert page.problems == []


def test_the_offline_notice_is_shown_once_in_the_header_badge(page: Any, live: str) -> None:
    """How to switch the LLM on is said once, by the mode badge, not at the end of every reply."""
    page.goto(live)
    badge = page.locator("#mode-badge")
    expect(badge).to_have_attribute("title", re.compile("OPENAI_API_KEY or MARA_LLM_BASE_URL"))
    for n, question in enumerate(["How many customers do we have?", "help"]):
        answer = ask(page, question, n)
        expect(answer.locator(".md")).not_to_be_empty()
    expect(page.locator("#messages")).not_to_contain_text("OPENAI_API_KEY")
    expect(page.locator("#messages")).not_to_contain_text("Offline mode: answered")
    assert page.problems == []
