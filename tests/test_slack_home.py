"""Slack App Home tab and copy-draft buttons: rendering, then signed events and clicks over HTTP.

Uses the running app and fake Slack Web API of ``tests/test_slack.py`` (a module-scoped
fixture: this module gets its own server). Button clicks are ``block_actions`` payloads,
form-encoded as ``payload=<json>`` and signed like every other Slack request.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from api.slack.app import (
    MORE_VARIANTS,
    SHORTER,
    THINKING,
    delivery_key,
    drafts_in,
)
from api.slack.render import (
    ACTION_ASK,
    ACTION_EXPORT,
    ACTION_MORE,
    ACTION_SHORTER,
    SECTION_LIMIT,
    CopyDraft,
    copy_blocks,
    copy_csv,
    home_view,
    render_turn,
)
from assistant.testing.fake_slack import TEAM_ID, SlackCall
from foundation.events import Event
from tests.test_slack import SECRET, Slack, blocks_text, event_payload, slack

__all__ = ["slack"]  # the module-scoped fixture, re-used here

VARIANTS: list[dict[str, Any]] = [
    {
        "subject": "Spring sale <now> & more",
        "body": "Hi {{first_name|there}}",
        "checks": [
            {"name": "length", "passed": True, "detail": "all fields within limits"},
            {"name": "banned_words", "passed": False, "detail": "'guaranteed' in subject"},
        ],
    },
    {
        "subject": "Spring sale: the details",
        "body": "Read the details.",
        "checks": [{"name": "length", "passed": True, "detail": "all fields within limits"}],
    },
]


# --- rendering -------------------------------------------------------------------------------


def test_copy_blocks_show_each_variant_with_its_checks_and_the_buttons() -> None:
    draft = CopyDraft(call_id="call_1", channel="email", variants=VARIANTS, brief="spring sale")
    blocks = copy_blocks(draft, thread="1.2")
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) == 2
    first = sections[0]["text"]["text"]
    assert first.startswith("*Variant 1* — :x: 1 of 2 checks failed")
    assert "*subject:* Spring sale &lt;now&gt; &amp; more" in first
    assert "*checks:*" not in first
    assert sections[1]["text"]["text"].startswith("*Variant 2* — :white_check_mark: all checks")
    checks = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert checks[0].splitlines() == [
        ":x: *banned_words* — 'guaranteed' in subject",
        ":white_check_mark: *length* — all fields within limits",
    ]
    actions = blocks[-1]
    assert actions["type"] == "actions"
    assert [(e["text"]["text"], e["action_id"]) for e in actions["elements"]] == [
        ("More variants", ACTION_MORE),
        ("Shorter", ACTION_SHORTER),
        ("Export CSV", ACTION_EXPORT),
    ]
    value = json.loads(actions["elements"][0]["value"])
    assert value == {"call": "call_1", "channel": "email", "n": 2, "thread": "1.2"}


def test_long_variant_is_clipped_to_a_section() -> None:
    draft = CopyDraft("c", "email", [{"body": "word " * 2000, "checks": []}])
    (section,) = [b for b in copy_blocks(draft) if b["type"] == "section"]
    assert len(section["text"]["text"]) <= SECTION_LIMIT
    assert ":grey_question: not checked" in section["text"]["text"]


def test_render_turn_with_drafts_keeps_the_intro_and_replaces_the_listing() -> None:
    reply = "Here are 2 drafts:\n\n**Variant 1** — ✓\n- subject: Spring sale"
    events = [Event("done", {"reply": reply, "mode": "offline"})]
    draft = CopyDraft("call_1", "email", VARIANTS)
    message = render_turn(events, drafts=[draft], thread="9.9")
    assert message.blocks[0]["text"]["text"] == "Here are 2 drafts:"
    assert "Variant 1" in message.text  # the notification keeps the whole reply
    assert sum(b["type"] == "actions" for b in message.blocks) == 1
    assert message.blocks[-1]["elements"][0]["text"] == "Mara · offline mode"
    assert len(message.blocks) <= 50


def test_copy_csv_has_fields_and_one_column_per_check() -> None:
    rows = list(csv.reader(io.StringIO(copy_csv(VARIANTS))))
    assert rows[0] == [
        "variant",
        "subject",
        "body",
        "checks_passed",
        "check_length",
        "check_banned_words",
    ]
    assert rows[1] == [
        "1",
        "Spring sale <now> & more",
        "Hi {{first_name|there}}",
        "False",
        "passed",
        "failed: 'guaranteed' in subject",
    ]
    assert rows[2][3:] == ["True", "passed", ""]
    lists = list(csv.reader(io.StringIO(copy_csv([{"headlines": ["a", "b"], "checks": []}]))))
    assert lists[1] == ["1", "a | b", "True"]


def test_home_view_shows_mode_data_and_example_buttons() -> None:
    offline = home_view(
        "offline", ["How many customers?", "Revenue by country"], [("orders", 1234)]
    )
    assert offline["type"] == "home"
    text = json.dumps(offline, ensure_ascii=False)
    assert "Offline mode" in text and "`orders` — 1,234 rows" in text
    buttons = [e for b in offline["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (f"{ACTION_ASK}_0", "How many customers?"),
        (f"{ACTION_ASK}_1", "Revenue by country"),
    ]
    llm = json.dumps(home_view("llm", [], None, model="gpt-4o-mini"), ensure_ascii=False)
    assert "LLM mode" in llm and "gpt-4o-mini" in llm and "Your data" not in llm
    assert "mara demo" in json.dumps(home_view("offline", [], []), ensure_ascii=False)


def test_delivery_key_for_events_and_clicks() -> None:
    assert delivery_key({"event_id": "Ev1"}) == "Ev1"
    assert delivery_key({"type": "block_actions", "trigger_id": "t1"}) == "action:t1"
    click = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_ts": "5.5"}]}
    assert delivery_key(click) == "action:U1:5.5"
    assert delivery_key({"type": "view_submission"}) is None


def test_drafts_are_read_back_from_the_stored_tool_messages() -> None:
    asked = SimpleNamespace(
        tool_calls=[
            {"id": "call_9", "name": "draft_copy", "args": {"channel": "sms", "brief": "b"}}
        ]
    )
    result = SimpleNamespace(
        name="draft_copy",
        tool_call_id="call_9",
        artifact={"artifacts": [], "citations": [], "data": {"variants": VARIANTS}},
    )
    other = SimpleNamespace(name="query_data", tool_call_id="call_8", artifact={"data": {}})
    (draft,) = drafts_in([asked, other, result])
    assert (draft.call_id, draft.channel, draft.brief) == ("call_9", "sms", "b")
    assert draft.variants == VARIANTS


# --- signed requests over HTTP -----------------------------------------------------------------

_triggers = itertools.count(1)


def signed_form(slack: Slack, body: str, secret: str = SECRET) -> httpx.Response:
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest,
    }
    return httpx.post(f"{slack.url}/slack/events", content=body, headers=headers, timeout=10)


def click_body(
    message: SlackCall, action_id: str, channel: str, user: str, thread: str | None = None
) -> str:
    """The ``block_actions`` request Slack sends when ``user`` clicks a button of ``message``
    (a ``chat.update`` call holding the buttons) in ``thread``."""
    blocks = json.loads(blocks_text(message))
    button = next(
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    n = next(_triggers)
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "AMARA",
        "token": "legacy-unused",
        "trigger_id": f"{n}.123.abc",
        "container": {
            "type": "message",
            "message_ts": message.params["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "channel": {"id": channel, "name": "marketing"},
        "message": {
            "type": "message",
            "ts": message.params["ts"],
            "blocks": blocks,
            **({"thread_ts": thread} if thread else {}),
        },
        "response_url": "https://hooks.invalid/actions/1",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": button["value"],
                "action_ts": f"{1_800_000_000 + n}.5",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def home_opened(user: str, tab: str = "home") -> dict[str, Any]:
    payload = event_payload("", "DHOME", kind="app_home_opened", user=user, tab=tab)
    payload["event"].pop("text")
    return payload


@pytest.fixture(scope="module")
def draft(slack: Slack) -> tuple[str, str, SlackCall]:
    """A copy request answered in a thread: ``(channel, thread, the answer's update call)``."""
    payload = event_payload("Draft 3 email subject lines for a spring sale", "CDRAFT")
    assert slack.post(payload).status_code == 200
    thread = payload["event"]["ts"]
    return "CDRAFT", thread, slack.answer("CDRAFT", thread)


@pytest.mark.integration
def test_home_tab_is_published_with_mode_data_and_examples(slack: Slack) -> None:
    assert slack.post(home_opened("UHOME")).status_code == 200
    slack.fake.wait_for(lambda calls: any(c.method == "views.publish" for c in calls))
    (call,) = slack.fake.calls_to("views.publish")
    assert call.params["user_id"] == "UHOME" and call.result["ok"]
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home"
    text = json.dumps(view, ensure_ascii=False)
    assert "Offline mode" in text
    assert "`customers` — 6 rows" in text and "`orders` — 8 rows" in text
    assert "How many customers do we have?" in text
    # the Messages tab is not the Home tab: nothing to publish
    assert slack.post(home_opened("UHOME", tab="messages")).status_code == 200
    time.sleep(0.5)
    assert len(slack.fake.calls_to("views.publish")) == 1


@pytest.mark.integration
def test_home_example_button_asks_in_the_users_dm(slack: Slack) -> None:
    assert slack.post(home_opened("UASKER")).status_code == 200
    slack.fake.wait_for(
        lambda calls: any(
            c.params.get("user_id") == "UASKER" for c in calls if c.method == "views.publish"
        )
    )
    publish = next(
        c for c in slack.fake.calls_to("views.publish") if c.params["user_id"] == "UASKER"
    )
    view = publish.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    button = next(e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"])
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": "UASKER", "team_id": TEAM_ID},
        "trigger_id": "home.1",
        "container": {"type": "view", "view_id": "V1"},
        "view": {"type": "home", "id": "V1"},
        "actions": [{**button, "block_id": "b", "action_ts": "1.1"}],
    }
    response = signed_form(slack, urlencode({"payload": json.dumps(payload)}))
    assert response.status_code == 200
    slack.fake.wait_for(lambda calls: bool(slack.in_channel("DASKER", "chat.postMessage")))
    asked = slack.in_channel("DASKER", "chat.postMessage")[0]
    assert asked.params["text"] == f"<@UASKER> asked: {button['value']}"
    assert "thread_ts" not in asked.params
    assert slack.fake.calls_to("conversations.open")[-1].params["users"] == "UASKER"
    update = slack.answer("DASKER", asked.result["ts"])
    assert "6" in update.params["text"]


@pytest.mark.integration
def test_copy_request_renders_variants_with_checks_and_buttons(
    draft: tuple[str, str, SlackCall],
) -> None:
    _, thread, update = draft
    blocks = json.loads(blocks_text(update))
    variants = [
        b for b in blocks if b["type"] == "section" and b["text"]["text"].startswith("*Variant ")
    ]
    assert len(variants) == 3
    assert all("*subject:*" in v["text"]["text"] for v in variants)
    checks = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert sum("*length*" in c for c in checks) == 3
    (actions,) = [b for b in blocks if b.get("block_id", "").startswith("mara_copy_")]
    assert [e["text"]["text"] for e in actions["elements"]] == [
        "More variants",
        "Shorter",
        "Export CSV",
    ]
    value = json.loads(actions["elements"][0]["value"])
    assert value["channel"] == "email" and value["n"] == 3 and value["thread"] == thread
    assert value["call"]


@pytest.mark.integration
def test_a_request_for_subject_lines_gets_subject_lines_not_emails(draft: tuple[str, str, SlackCall]) -> None:
    _, _, update = draft
    variants = [b["text"]["text"] for b in json.loads(blocks_text(update))
                if b["type"] == "section" and b["text"]["text"].startswith("*Variant ")]
    assert [("*subject:*" in v, "*body:*" in v) for v in variants] == [(True, False)] * 3


@pytest.mark.parametrize(
    ("action_id", "question"),
    [
        (ACTION_MORE, MORE_VARIANTS.format(n=3, channel="email")),
        (ACTION_SHORTER, SHORTER.format(channel="email")),
    ],
)
@pytest.mark.integration
def test_follow_up_buttons_ask_in_the_drafts_thread(
    slack: Slack, draft: tuple[str, str, SlackCall], action_id: str, question: str
) -> None:
    channel, thread, update = draft
    user = "UCLICK" + action_id[-4:].upper()
    before = len(slack.in_channel(channel, "chat.update"))
    started = time.monotonic()
    response = signed_form(slack, click_body(update, action_id, channel, user, thread))
    assert response.status_code == 200 and time.monotonic() - started < 3

    def asked() -> SlackCall | None:
        return next(
            (
                c
                for c in slack.in_channel(channel, "chat.postMessage")
                if c.params.get("text") == f"<@{user}> asked: {question}"
            ),
            None,
        )

    slack.fake.wait_for(lambda calls: asked() is not None)
    echo = asked()
    assert echo is not None and echo.params["thread_ts"] == thread
    # answered in the same thread (the same Mara conversation), replacing a thinking message
    slack.fake.wait_for(
        lambda calls: (
            len([c for c in slack.in_channel(channel, "chat.update") if c.result.get("ok")])
            > before
        ),
        timeout=60,
    )
    thinking = [
        c
        for c in slack.in_channel(channel, "chat.postMessage")
        if c.params.get("text") == THINKING and c.at >= echo.at
    ]
    assert thinking and all(t.params["thread_ts"] == thread for t in thinking)


@pytest.mark.integration
def test_export_button_uploads_the_variants_as_csv(
    slack: Slack, draft: tuple[str, str, SlackCall]
) -> None:
    channel, thread, update = draft
    response = signed_form(slack, click_body(update, ACTION_EXPORT, channel, "UEXPORT", thread))
    assert response.status_code == 200
    slack.fake.wait_for(
        lambda calls: bool(slack.in_channel(channel, "files.completeUploadExternal")), timeout=30
    )
    (complete,) = slack.in_channel(channel, "files.completeUploadExternal")
    assert complete.params["thread_ts"] == thread and complete.result["ok"]
    (listed,) = json.loads(complete.params["files"])
    assert listed["title"] == "Copy variants with checks (CSV)"
    rows = list(csv.reader(io.StringIO(slack.fake.uploads[listed["id"]].decode())))
    assert rows[0][:2] == ["variant", "subject"] and "check_length" in rows[0]
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]
    assert all(r[rows[0].index("check_length")] == "passed" for r in rows[1:])


@pytest.mark.integration
def test_forged_click_is_refused_and_a_repeated_click_is_answered_once(
    slack: Slack, draft: tuple[str, str, SlackCall]
) -> None:
    channel, _, update = draft
    forged = click_body(update, ACTION_EXPORT, channel, "UFORGER")
    assert signed_form(slack, forged, secret="not-the-secret").status_code == 401
    unsigned = httpx.post(
        f"{slack.url}/slack/events",
        content=forged,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert unsigned.status_code == 401
    time.sleep(0.5)
    uploads = len(slack.in_channel(channel, "files.completeUploadExternal"))

    body = click_body(update, ACTION_MORE, channel, "UTWICE")
    question = f"<@UTWICE> asked: {MORE_VARIANTS.format(n=3, channel='email')}"
    for _ in range(3):  # the same delivery (same trigger_id) arriving again
        assert signed_form(slack, body).status_code == 200
    slack.fake.wait_for(
        lambda calls: any(c.params.get("text") == question for c in calls), timeout=30
    )
    time.sleep(1.0)
    echoes = [
        c for c in slack.in_channel(channel, "chat.postMessage") if c.params.get("text") == question
    ]
    assert len(echoes) == 1
    # the forged export never ran
    assert len(slack.in_channel(channel, "files.completeUploadExternal")) == uploads


@pytest.mark.integration
def test_stale_export_says_so_in_the_thread(slack: Slack) -> None:
    # a button whose draft is not in the conversation (e.g. the history was reset)
    fake_update = SlackCall(
        "chat.update",
        {
            "channel": "CSTALE",
            "ts": "1.000300",
            "blocks": json.dumps(
                copy_blocks(CopyDraft("call_gone", "sms", VARIANTS), thread="1.000100")
            ),
        },
        None,
    )
    response = signed_form(slack, click_body(fake_update, ACTION_EXPORT, "CSTALE", "USTALE"))
    assert response.status_code == 200
    slack.fake.wait_for(lambda calls: bool(slack.in_channel("CSTALE", "chat.postMessage")))
    (notice,) = slack.in_channel("CSTALE", "chat.postMessage")
    assert "can't find those drafts" in notice.params["text"]
    assert notice.params["thread_ts"] == "1.000100"


def test_manifest_enables_the_home_tab_and_buttons() -> None:
    import yaml

    manifest = yaml.safe_load((Path(__file__).parents[1] / "api/slack/manifest.yaml").read_text())
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert interactivity["request_url"].endswith("/slack/events")
