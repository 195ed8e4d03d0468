"""The workspace panel and accessibility in a real browser (Playwright + Debian's Chromium).

- Flows a marketer runs, on a desktop (1440×900) and a phone (390×844): upload a CSV in the panel
  and ask about it at once; ban a word in the brand profile and see the next draft follow it;
  revoke a key and see that key's open session refused.
- An automated WCAG 2.2 AA audit with axe-core (vendored in ``tests/vendor/axe-core``, injected by
  the test, never served): no serious or critical violation on the chat (with a table, a bar and
  a pie chart) and on every tab of the panel, desktop and phone, light and dark.

Screenshots land in ``test-artifacts/workspace-*.png``.
"""

from __future__ import annotations

import json
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
from knowledge.brand import write_demo_brand
from tests.browser import ARTIFACTS, ask, expect
from tests.test_api import LiveServer

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CAMPAIGNS = (
    "campaign,channel,spend,start_date\n"
    'Spring Boots,email,"$1,200.00",2026-03-01\n'
    "Trail Week,sms,$450.50,2026-04-10\n"
    "Rain Ready,email,$980.00,2026-05-02\n"
    'Summit Days,social,"$2,100.00",2026-06-15\n'
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ws-demo") / "ws"
    home.mkdir()
    build_demo_data(home / "warehouse.duckdb", customers=1500)
    write_demo_brand(home)
    return home


def _serve(demo: Path, folder: Path, keys: bool) -> Iterator[dict[str, Any]]:
    home = folder / "ws"
    shutil.copytree(demo, home)
    found: dict[str, Any] = {"home": home}
    if keys:
        store = KeyStore.for_home(home)
        found["admin"] = store.create("boss", ["admin"])[1]
        found["marketer"] = store.create("ana", ["chat", "copy", "data:read"])[1]
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(settings)) as server:
        yield {**found, "url": server.url}


@pytest.fixture(scope="module")
def secured(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from _serve(demo, tmp_path_factory.mktemp("ws-secured"), keys=True)


@pytest.fixture(scope="module")
def open_api(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from _serve(demo, tmp_path_factory.mktemp("ws-open"), keys=False)


def sign_in(page: Any, server: dict[str, Any], who: str) -> None:
    page.goto(server["url"])
    expect(page.locator("#signin")).to_be_visible()
    page.locator("#signin-key").fill(server[who])
    page.locator("#signin-key").press("Enter")
    expect(page.locator("#signin")).to_be_hidden()


def open_panel(page: Any, tab: str) -> Any:
    """Open the panel with the keyboard shortcut and pick a tab; return the dialog."""
    page.locator("#composer-input").focus()
    page.keyboard.press("Control+Shift+K")
    dialog = page.locator("dialog#workspace")
    expect(dialog).to_be_visible()
    dialog.get_by_role("tab", name=tab).click()
    return dialog


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"workspace-{name}.png"), full_page=False)


# --- flows ----------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_upload_a_csv_in_the_panel_then_ask_about_it(
    new_page: Any, secured: dict[str, Any], viewport: str, tmp_path: Path
) -> None:
    page = new_page(viewport)
    sign_in(page, secured, "admin")
    ask(page, "How many customers do we have?", 0)  # the assistant is built before the upload
    table = f"campaigns_{viewport}"
    csv = tmp_path / f"{table}.csv"
    csv.write_text(CAMPAIGNS)
    dialog = open_panel(page, "Data")
    expect(dialog.locator("#ws-tables details").first).to_be_visible()
    dialog.get_by_label("Data file", exact=True).set_input_files(str(csv))
    dialog.get_by_role("button", name="Upload", exact=True).click()
    expect(dialog.locator(".ws-status-ok")).to_contain_text(f"Loaded 4 rows into “{table}”")
    expect(dialog.locator(".ws-notes")).to_contain_text("spend: money written as text")
    new_table = dialog.locator("#ws-tables details", has_text=table)
    new_table.locator("summary").click()
    expect(new_table.locator("tr", has_text="spend").locator(".ws-reading")).to_have_text("Money")
    expect(new_table.locator("tr", has_text="start_date").locator(".ws-reading")).to_have_text("Date")
    shot(page, f"upload-{viewport}")
    dialog.get_by_role("button", name=re.compile("^Ask:")).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#composer-input")).to_have_value(f"How many campaigns {viewport} are there?")
    page.locator("#composer-input").press("Enter")
    done = page.locator("li.msg-assistant[aria-busy='false']")
    expect(done).to_have_count(2)
    expect(done.nth(1).locator(".md")).to_contain_text("4")
    expect(done.nth(1)).to_contain_text(table)
    shot(page, f"upload-answer-{viewport}")
    assert not page.problems


def test_column_words_are_edited_and_validated_in_the_panel(new_page: Any, secured: dict[str, Any]) -> None:
    page = new_page()
    sign_in(page, secured, "admin")
    dialog = open_panel(page, "Data")
    customers = dialog.locator("#ws-tables details[data-table='customers']")
    customers.locator("summary").click()
    customers.get_by_role("button", name="Edit words for customers.country").click()
    synonyms = dialog.get_by_label("Synonyms")
    synonyms.fill("market, <b>")
    synonyms.press("Enter")
    expect(dialog.locator(".ws-edit-row .ws-status-error")).to_contain_text("not a usable synonym")
    synonyms.fill("market, home market")
    synonyms.press("Enter")
    customers = dialog.locator("#ws-tables details[data-table='customers'][open]")
    expect(customers.locator("tr", has_text="country").first).to_contain_text("also: market, home market")
    expect(customers.locator("summary")).to_be_focused()
    assert "home market" in (secured["home"] / "semantic.yaml").read_text()


def test_a_banned_word_edited_in_the_panel_governs_the_next_draft(
    new_page: Any, secured: dict[str, Any]
) -> None:
    page = new_page()
    sign_in(page, secured, "admin")
    brief = "draft 2 SMS for our autumn sale with 20% off jackets"
    before = ask(page, brief, 0)
    expect(before.locator(".card-draft").first).to_contain_text("jackets")
    expect(before.locator(".md")).not_to_contain_text("does not allow")

    dialog = open_panel(page, "Brand")
    banned = dialog.get_by_label("Banned words")
    expect(banned).not_to_have_value("")
    banned.fill(banned.input_value() + "\njackets")
    dialog.get_by_role("button", name="Save brand profile").click()
    expect(dialog.locator(".ws-status-ok")).to_contain_text("Brand profile saved")
    shot(page, "brand-banned")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    after = ask(page, brief, 1)
    expect(after.locator(".md")).to_contain_text("does not allow (jackets)")
    variants = after.locator(".card-draft .draft-text").all_inner_texts()
    assert variants and not any("jackets" in v.lower() for v in variants), variants
    shot(page, "brand-draft-follows")

    dialog = open_panel(page, "Brand")
    banned = dialog.get_by_label("Banned words")
    expect(banned).to_have_value(re.compile("jackets"))  # loaded before it is edited
    banned.fill("\n".join(w for w in banned.input_value().splitlines() if w != "jackets"))
    dialog.get_by_role("button", name="Save brand profile").click()
    expect(dialog.locator(".ws-status-ok")).to_contain_text("Brand profile saved")
    page.keyboard.press("Escape")
    again = ask(page, brief, 2)
    expect(again.locator(".md")).not_to_contain_text("does not allow")
    expect(again.locator(".card-draft").first).to_contain_text("jackets")
    assert not page.problems


def test_an_invalid_brand_edit_is_refused_with_the_bad_key_named(
    new_page: Any, secured: dict[str, Any]
) -> None:
    page = new_page()
    sign_in(page, secured, "admin")
    dialog = open_panel(page, "Brand")
    expect(dialog.get_by_label("Brand name")).not_to_have_value("")
    dialog.get_by_label("Disclaimers").fill("fax: Not a channel")
    dialog.get_by_role("button", name="Save brand profile").click()
    error = dialog.locator(".ws-status-error")
    expect(error).to_contain_text("unknown channel 'fax'")
    expect(error).to_have_attribute("role", "alert")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_revoking_a_key_in_the_panel_ends_its_session(
    new_page: Any, secured: dict[str, Any], viewport: str
) -> None:
    name = f"temp-{viewport}"
    admin = new_page(viewport)
    sign_in(admin, secured, "admin")
    dialog = open_panel(admin, "Keys")
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_role("button", name="Create key").click()
    shown = dialog.get_by_label(f"New key for {name}")
    expect(shown).to_have_value(re.compile(r"^mara_"))
    key = shown.input_value()

    user = new_page(viewport)
    sign_in(user, {**secured, "temp": key}, "temp")
    ask(user, "How many customers do we have?", 0)

    row = dialog.locator(".ws-item", has_text=name)
    admin.once("dialog", lambda d: d.accept())  # "Revoke the key …?"
    row.get_by_role("button", name=f"Revoke key {name}").click()
    expect(dialog.locator(".ws-status-ok")).to_contain_text(f"Revoked {name}")
    expect(row).to_contain_text("revoked")
    shot(admin, f"keys-revoked-{viewport}")

    user.locator("#composer-input").fill("How many orders do we have?")
    with user.expect_response(lambda r: r.url.endswith("/v1/chat")) as refused:
        user.locator("#composer-input").press("Enter")
    assert refused.value.status == 401
    assert "its key was revoked" in refused.value.json()["error"]["message"]
    expect(user.locator("#signin")).to_be_visible()
    shot(user, f"session-refused-{viewport}")


def test_every_panel_action_works_from_the_keyboard(new_page: Any, secured: dict[str, Any]) -> None:
    """Tabs move with the arrow keys, Escape closes and focus returns to the opener."""
    page = new_page()
    sign_in(page, secured, "admin")
    opener = page.locator("#workspace-open")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#workspace")
    first = dialog.get_by_role("tab", name="Data")
    expect(first).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(dialog.get_by_role("tab", name="Brand")).to_be_focused()
    expect(dialog.get_by_role("tab", name="Brand")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(dialog.get_by_role("tab", name="Keys")).to_be_focused()
    page.keyboard.press("Tab")  # into the Keys panel
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("Name", exact=True)).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def test_a_marketer_key_sees_no_keys_tab_and_no_upload(new_page: Any, secured: dict[str, Any]) -> None:
    page = new_page()
    sign_in(page, secured, "marketer")
    dialog = open_panel(page, "Data")
    expect(dialog.get_by_role("tab")).to_have_text(["Data", "Brand", "Audiences & models"])
    expect(dialog.get_by_label("Data file", exact=True)).to_have_count(0)
    expect(dialog).to_contain_text("needs a key with the data:write scope")


# --- accessibility audit --------------------------------------------------------------------


def audit(page: Any, where: str) -> list[str]:
    """axe-core's serious and critical WCAG 2.2 AA violations on the page, one line each."""
    page.evaluate("Promise.all(document.getAnimations().map(a => a.finished))")  # judge final colours, not a fade-in
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # via DevTools: the page's CSP is untouched
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    found = []
    for violation in result["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [" ".join(map(str, n["target"])) for n in violation["nodes"][:4]]
            summary = violation["nodes"][0].get("failureSummary", "").replace("\n", " ")[:200]
            found.append(f"{where}: {violation['id']} ({violation['impact']}) at {targets}: {summary}")
    return found


def show_theme(page: Any, theme: str) -> None:
    """Switch the page to the light or dark scheme the way the system setting does, and wait until
    every chart is drawn again in that theme's colours (the chat re-themes charts on the change)."""
    page.evaluate("document.querySelectorAll('.chart-view svg').forEach(s => s.setAttribute('data-old-theme', ''))")
    page.emulate_media(color_scheme=theme)
    expect(page.locator(".chart-view svg[data-old-theme]")).to_have_count(0)


def audit_themes(page: Any, where: str, shot_name: str, viewport: str) -> list[str]:
    """The audit in the light and then the dark scheme (ending light), with a screenshot of each."""
    found = []
    for theme in ("light", "dark"):
        if theme == "dark":
            show_theme(page, "dark")
        found += audit(page, f"{where} ({theme})")
        shot(page, f"{shot_name}-{viewport}-{theme}")
    show_theme(page, "light")
    return found


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_no_serious_accessibility_violations(new_page: Any, open_api: dict[str, Any], viewport: str) -> None:
    """Every state is audited in both schemes on one page: the answers are asked once."""
    page = new_page(viewport)
    page.goto(open_api["url"])
    expect(page.locator("#mode-badge")).to_contain_text(re.compile("offline", re.I))
    problems = audit_themes(page, "empty chat", "audit-empty", viewport)
    first = ask(page, "revenue by country", 0)
    expect(first.locator(".card-chart .chart-view svg")).to_be_visible()
    pie = ask(page, "make that a pie chart", 1)
    expect(pie.locator(".card-chart .chart-view svg text", has_text="%").first).to_be_visible()
    problems += audit_themes(page, "chat with table and charts", "audit-chat", viewport)
    for tab in ("Data", "Brand", "Audiences & models", "Keys"):
        dialog = open_panel(page, tab)
        panel = dialog.locator(".ws-panel:not([hidden])")
        expect(panel.locator("[aria-busy='true']")).to_have_count(0)
        if tab == "Data":
            panel.locator("details summary").first.click()
        problems += audit_themes(page, f"panel {tab}", f"audit-{tab.split()[0].lower()}", viewport)
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
    assert not problems, "\n".join(problems)
    assert not page.problems


def test_pie_slices_show_percentages_in_colour_blind_safe_colours(
    new_page: Any, open_api: dict[str, Any]
) -> None:
    page = new_page("phone")
    page.goto(open_api["url"])
    ask(page, "revenue by country", 0)
    pie = ask(page, "make that a pie chart", 1)
    labels = pie.locator(".card-chart .chart-view svg text").evaluate_all(
        "nodes => nodes.map(n => n.textContent)"
    )
    shares = [t for t in labels if re.fullmatch(r"\d+%", t)]
    assert shares, labels
    assert 95 <= sum(int(s[:-1]) for s in shares) <= 105 or len(shares) < 8
    fills = pie.locator(".card-chart .chart-view svg path[aria-roledescription='arc mark']").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('fill'))"
    )
    assert fills and set(f.upper() for f in fills) <= {
        "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#8C8C8C"
    }, fills
    shot(page, "pie-phone")


def test_bar_axis_labels_do_not_collide_on_a_phone(new_page: Any, open_api: dict[str, Any]) -> None:
    page = new_page("phone")
    page.goto(open_api["url"])
    answer = ask(page, "revenue by country", 0)
    svg = answer.locator(".card-chart .chart-view svg")
    expect(svg).to_be_visible()
    boxes = svg.locator("g[aria-roledescription='axis'] text").evaluate_all(
        "nodes => nodes.map(n => { const b = n.getBoundingClientRect();"
        " return [b.left, b.top, b.right, b.bottom, n.textContent]; })"
    )
    overlaps = [
        (a[4], b[4])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[4] and b[4] and a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1
    ]
    assert not overlaps, json.dumps(overlaps)
