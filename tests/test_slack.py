"""The Slack adapter: pure rendering and guards, then signed events over real HTTP.

Integration tests run the real app under uvicorn with ``SLACK_*`` set, so ``create_app`` mounts
``/slack/events``; the Slack Web API is :class:`assistant.testing.fake_slack.FakeSlack`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.slack.app import THINKING, SlackBot, conversation_id, is_from_bot, question_text
from api.slack.guards import EventDeduper, KeyedLocks, RateLimiter
from api.slack.render import (
    SECTION_LIMIT,
    TABLE_ROWS,
    citation_block,
    format_table,
    markdown_blocks,
    render_turn,
    split_text,
    table_blocks,
    to_mrkdwn,
)
from api.slack.settings import SlackSettings
from assistant.testing.fake_slack import BOT_ID, BOT_USER_ID, TEAM_ID, FakeSlack, SlackCall
from foundation.errors import MaraError
from foundation.events import Event
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse
from tests.test_api import LiveServer

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"

# --- rendering -------------------------------------------------------------------------------


def test_markdown_becomes_mrkdwn() -> None:
    text = "# Result\n**6** customers, *mostly* [here](https://x.io/a?b=1)\n- one\n* two"
    assert to_mrkdwn(text) == (
        "*Result*\n*6* customers, _mostly_ <https://x.io/a?b=1|here>\n• one\n• two"
    )


def test_mrkdwn_escapes_control_characters_but_keeps_code() -> None:
    assert to_mrkdwn("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert to_mrkdwn("run `**x** <y>` now") == "run `**x** &lt;y&gt;` now"
    assert to_mrkdwn("```\nSELECT **\n```") == "```\nSELECT **\n```"


def test_long_text_is_split_into_sections_under_the_limit() -> None:
    text = "\n\n".join(f"Paragraph {i} " + "word " * 300 for i in range(5))
    pieces = split_text(text)
    assert len(pieces) > 1 and all(len(p) <= SECTION_LIMIT for p in pieces)
    blocks = markdown_blocks(text)
    assert all(b["type"] == "section" and len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks)
    assert split_text("x" * 7000) == ["x" * 3000, "x" * 3000, "x" * 1000]


def test_table_is_aligned_and_numbers_right_aligned() -> None:
    table = format_table(["country", "n"], [["Germany", 2], ["United States", 12]])
    assert table.splitlines() == [
        "country         n",
        "-------------  --",
        "Germany         2",
        "United States  12",
    ]


def test_table_block_is_monospaced_and_says_when_rows_are_hidden() -> None:
    rows = [[i, f"name {i}"] for i in range(40)]
    blocks = table_blocks({"columns": ["id", "name"], "rows": rows, "row_count": 40})
    assert blocks[0]["text"]["text"].startswith("```") and blocks[0]["text"]["text"].endswith("```")
    assert len(blocks[0]["text"]["text"]) <= SECTION_LIMIT
    assert blocks[1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Showing 15 of 40 rows."}],
    }
    wide = table_blocks({"columns": ["t"], "rows": [["x" * 40]] * 15, "row_count": 15})
    assert len(wide[0]["text"]["text"]) <= SECTION_LIMIT
    assert table_blocks({"columns": [], "rows": []}) == []


def test_citations_become_one_context_block() -> None:
    block = citation_block(
        [{"source": "brand/voice.md", "title": "Voice & tone", "text": "..."}] * 7
    )
    assert block is not None and block["type"] == "context"
    assert len(block["elements"]) == 5
    assert block["elements"][0]["text"] == ":page_facing_up: *Voice &amp; tone* — brand/voice.md"
    assert citation_block([]) is None


def test_render_turn_orders_reply_table_citations_footer() -> None:
    events = [
        Event("text", {"delta": "There are **6** customers."}),
        Event("table", {"columns": ["n"], "rows": [[6]], "row_count": 1, "truncated": False}),
        Event("citation", {"source": "a.md", "title": "A", "text": "t"}),
        Event("chart", {"artifact_id": "c1", "title": "By country", "spec": {"mark": "bar"}}),
        Event("done", {"reply": "There are **6** customers.", "mode": "offline"}),
    ]
    message = render_turn(events)
    assert message.text == "There are *6* customers."
    kinds = [b["type"] for b in message.blocks]
    assert kinds == ["section", "section", "context", "context"]
    assert message.blocks[1]["text"]["text"] == "```n\n-\n6```"
    assert message.blocks[-1]["elements"][0]["text"] == "Mara · offline mode"
    assert [c["artifact_id"] for c in message.charts] == ["c1"]


def test_render_turn_puts_model_details_in_small_print() -> None:
    reply = "12 customers have ≥ 70% churn risk.\n\nDetails: AUC 0.812, PR-AUC 0.5."
    message = render_turn([Event("done", {"reply": reply})])
    assert message.blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Details: AUC 0.812, PR-AUC 0.5."}],
    }


def test_render_turn_without_reply_uses_the_error() -> None:
    message = render_turn([Event("error", {"message": "no data"}), Event("done", {"reply": ""})])
    assert message.text == "no data"


# --- guards and helpers ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_deduper_remembers_ids_for_the_ttl_only() -> None:
    clock = Clock()
    dedupe = EventDeduper(ttl=10, clock=clock)
    assert dedupe.first_time("Ev1") and not dedupe.first_time("Ev1")
    clock.now = 11
    assert dedupe.first_time("Ev1")
    small = EventDeduper(max_size=2, clock=clock)
    assert all(small.first_time(e) for e in ("a", "b", "c"))
    assert small.first_time("a")  # evicted as the oldest


def test_rate_limiter_is_a_token_bucket_per_user() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=6, burst=2, clock=clock)
    assert limiter.try_acquire("u") == 0 and limiter.try_acquire("u") == 0
    assert limiter.try_acquire("u") == pytest.approx(10.0)
    assert limiter.try_acquire("other") == 0
    clock.now = 10
    assert limiter.try_acquire("u") == 0


def test_keyed_locks_are_dropped_when_released() -> None:
    locks = KeyedLocks()
    lock = locks.acquire("k")
    locks.release("k", lock)
    assert locks._locks == {}


def test_question_text_and_bot_detection() -> None:
    assert question_text("<@U123ABC> How many &lt;VIP&gt;?  ") == "How many <VIP>?"
    assert conversation_id("T1", "C1", "1.2") == "slack-T1-C1-1.2"
    assert is_from_bot({"bot_id": "B1", "text": "hi"})
    assert is_from_bot({"subtype": "message_changed"})
    assert not is_from_bot({"user": "U1", "text": "hi"})


def test_settings_from_env() -> None:
    assert SlackSettings.from_env({}) is None
    assert SlackSettings.from_env({"SLACK_BOT_TOKEN": "xoxb"}) is None
    settings = SlackSettings.from_env(
        {
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_BOT_TOKEN": "xoxb",
            "MARA_SLACK_API_URL": "http://127.0.0.1:9/api",
            "MARA_SLACK_RATE_LIMIT": "3",
        }
    )
    assert settings is not None
    assert settings.api_url == "http://127.0.0.1:9/api/"
    assert settings.rate_limit_per_minute == 3
    assert "xoxb" not in repr(settings)


# --- signed events over real HTTP ------------------------------------------------------------


@dataclass
class Slack:
    """The running app, the fake Web API and a signer for requests."""

    url: str
    fake: FakeSlack
    bot: SlackBot

    def post(
        self,
        payload: dict[str, Any],
        *,
        timestamp: int | None = None,
        secret: str = SECRET,
        retry: int | None = None,
    ) -> httpx.Response:
        """POST ``payload`` to /slack/events, signed like Slack does (``v0:{ts}:{body}``)."""
        body = json.dumps(payload)
        ts = str(int(time.time()) if timestamp is None else timestamp)
        digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256)
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": "v0=" + digest.hexdigest(),
        }
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return httpx.post(f"{self.url}/slack/events", content=body, headers=headers, timeout=10)

    def in_channel(self, channel: str, method: str | None = None) -> list[SlackCall]:
        return [
            c
            for c in self.fake.calls
            if c.params.get("channel", c.params.get("channel_id")) == channel
            and (method is None or c.method == method)
        ]

    def answer(self, channel: str, thread: str, timeout: float = 60) -> SlackCall:
        """Wait for the thinking message in ``thread`` to be updated; the update call."""

        def thinking() -> SlackCall | None:
            return next(
                (
                    c
                    for c in self.in_channel(channel, "chat.postMessage")
                    if c.params.get("thread_ts") == thread
                    and c.params.get("text") == THINKING
                    and c.result.get("ok")
                ),
                None,
            )

        def updated(calls: list[SlackCall]) -> bool:
            post = thinking()
            return post is not None and any(
                c.method == "chat.update"
                and c.params.get("ts") == post.result["ts"]
                and c.result.get("ok")
                for c in calls
            )

        self.fake.wait_for(updated, timeout)
        post = thinking()
        assert post is not None
        return next(
            c
            for c in self.in_channel(channel, "chat.update")
            if c.params.get("ts") == post.result["ts"] and c.result.get("ok")
        )


_ids = itertools.count(1)


def event_payload(
    text: str,
    channel: str,
    *,
    kind: str = "app_mention",
    thread_ts: str | None = None,
    user: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An Events API envelope around one event, with a fresh event_id and ts."""
    n = next(_ids)
    ts = f"{1_800_000_000 + n}.000200"
    event: dict[str, Any] = {
        "type": kind,
        "user": user or f"U{channel}",  # one user per channel: rate limits stay per test
        "text": f"<@{BOT_USER_ID}> {text}" if kind == "app_mention" else text,
        "ts": ts,
        "event_ts": ts,
        "channel": channel,
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {
        "token": "legacy-unused",
        "team_id": TEAM_ID,
        "api_app_id": "AMARA",
        "type": "event_callback",
        "event_id": f"Ev{n:06d}",
        "event_time": int(time.time()),
        "event": event,
    }


def blocks_text(call: SlackCall) -> str:
    blocks = call.params.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return json.dumps(blocks)


@pytest.fixture(scope="module")
def slack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slack]:
    home: Path = tmp_path_factory.mktemp("slack") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with FakeSlack(token=TOKEN) as fake, pytest.MonkeyPatch.context() as env:
        env.setenv("SLACK_SIGNING_SECRET", SECRET)
        env.setenv("SLACK_BOT_TOKEN", TOKEN)
        env.setenv("MARA_SLACK_API_URL", fake.api_url)
        app = create_app(settings)
        with LiveServer(app) as server:
            yield Slack(server.url, fake, app.state.slack)


@pytest.mark.integration
def test_app_without_slack_settings_has_no_slack_route(
    monkeypatch: pytest.MonkeyPatch, settings: MaraSettings
) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    app = create_app(settings)
    assert not hasattr(app.state, "slack")
    assert "/slack/events" not in {getattr(r, "path", "") for r in app.routes}


@pytest.mark.integration
def test_mention_gets_thinking_message_then_the_answer_in_its_thread(slack: Slack) -> None:
    payload = event_payload("How many customers do we have?", "CMAIN")
    started = time.monotonic()
    response = slack.post(payload)
    assert response.status_code == 200
    assert time.monotonic() - started < 3  # acked before the turn runs
    ts = payload["event"]["ts"]
    update = slack.answer("CMAIN", ts)
    thinking = slack.in_channel("CMAIN", "chat.postMessage")[0]
    assert thinking.params["thread_ts"] == ts and thinking.token == TOKEN
    assert "*6* customers" in update.params["text"]
    assert "6" in blocks_text(update) and "offline mode" in blocks_text(update)


@pytest.mark.integration
def test_follow_up_in_the_thread_keeps_the_context(slack: Slack) -> None:
    first = event_payload("How many customers do we have?", "CFOLLOW")
    thread = first["event"]["ts"]
    assert slack.post(first).status_code == 200
    assert "6" in slack.answer("CFOLLOW", thread).params["text"]
    follow = event_payload("and in Germany?", "CFOLLOW", thread_ts=thread)
    assert slack.post(follow).status_code == 200
    slack.fake.wait_for(lambda calls: len(slack.in_channel("CFOLLOW", "chat.update")) >= 2)
    second = slack.in_channel("CFOLLOW", "chat.update")[1]
    assert "2" in second.params["text"] and "6" not in second.params["text"]
    posts = slack.in_channel("CFOLLOW", "chat.postMessage")
    assert {p.params["thread_ts"] for p in posts} == {thread}


@pytest.mark.integration
def test_the_slack_user_is_the_actor_in_the_audit_trail(slack: Slack) -> None:
    from assistant.audit import AuditLog

    payload = event_payload("How many customers do we have?", "CAUDIT", user="UAUDITOR")
    assert slack.post(payload).status_code == 200
    slack.answer("CAUDIT", payload["event"]["ts"])
    home = slack.bot.runtime.settings.home
    actors = {r.actor for r in AuditLog(home / "audit.sqlite").query()}
    assert any(a.endswith(":UAUDITOR") and a.startswith("slack:") for a in actors)


@pytest.mark.integration
def test_direct_message_is_answered_in_a_thread(slack: Slack) -> None:
    payload = event_payload(
        "How many customers do we have?", "DALICE", kind="message", channel_type="im"
    )
    assert slack.post(payload).status_code == 200
    assert "6" in slack.answer("DALICE", payload["event"]["ts"]).params["text"]


@pytest.mark.integration
def test_retried_event_is_answered_once(slack: Slack) -> None:
    payload = event_payload("How many customers do we have?", "CRETRY")
    assert slack.post(payload).status_code == 200
    assert slack.post(payload, retry=1).status_code == 200
    assert slack.post(payload, retry=2).status_code == 200
    slack.answer("CRETRY", payload["event"]["ts"])
    time.sleep(0.5)
    assert len(slack.in_channel("CRETRY", "chat.postMessage")) == 1
    assert len(slack.in_channel("CRETRY", "chat.update")) == 1


@pytest.mark.integration
def test_forged_and_stale_signatures_are_refused(slack: Slack) -> None:
    payload = event_payload("How many customers do we have?", "CFORGED")
    assert slack.post(payload, secret="not-the-secret").status_code == 401
    assert slack.post(payload, timestamp=int(time.time()) - 6 * 60).status_code == 401
    response = httpx.post(f"{slack.url}/slack/events", json=payload, timeout=10)
    assert response.status_code == 401
    time.sleep(0.3)
    assert slack.in_channel("CFORGED") == []
    # a forged copy must not poison the de-duplication of the real event
    assert slack.post(payload).status_code == 200
    slack.answer("CFORGED", payload["event"]["ts"])


@pytest.mark.integration
def test_url_verification_and_unknown_events_are_acknowledged(slack: Slack) -> None:
    challenge = {"token": "t", "challenge": "abc123", "type": "url_verification"}
    response = slack.post(challenge)
    assert response.status_code == 200 and "abc123" in response.text
    other = event_payload("", "COTHER", kind="reaction_added")
    assert slack.post(other).status_code == 200


@pytest.mark.integration
def test_bot_messages_are_ignored(slack: Slack) -> None:
    own = event_payload(
        "How many customers?", "DBOT", kind="message", channel_type="im", bot_id=BOT_ID
    )
    other_bot = event_payload("How many customers?", "CBOT", bot_id="BOTHER")
    edited = event_payload(
        "How many customers?",
        "DBOT",
        kind="message",
        channel_type="im",
        subtype="message_changed",
    )
    channel_chatter = event_payload("How many customers?", "CBOT", kind="message")
    for payload in (own, other_bot, edited, channel_chatter):
        assert slack.post(payload).status_code == 200
    time.sleep(1.0)
    assert slack.in_channel("DBOT") == [] and slack.in_channel("CBOT") == []


@pytest.mark.integration
def test_huge_message_is_refused_politely(slack: Slack) -> None:
    payload = event_payload("x" * 5000, "CHUGE")
    assert slack.post(payload).status_code == 200
    slack.fake.wait_for(lambda calls: bool(slack.in_channel("CHUGE", "chat.postMessage")))
    (notice,) = slack.in_channel("CHUGE", "chat.postMessage")
    assert "5,000 characters" in notice.params["text"] and "4,000" in notice.params["text"]
    assert notice.params["thread_ts"] == payload["event"]["ts"]


@pytest.mark.integration
def test_per_user_rate_limit(slack: Slack) -> None:
    original = slack.bot.limiter
    slack.bot.limiter = RateLimiter(per_minute=1, burst=1)
    try:
        first = event_payload("hi", "CRATE", user="UGREEDY")
        second = event_payload("hi again", "CRATE", user="UGREEDY")
        assert slack.post(first).status_code == 200
        assert slack.post(second).status_code == 200
        slack.fake.wait_for(
            lambda calls: any(
                ":turtle:" in str(c.params.get("text")) for c in slack.in_channel("CRATE")
            )
        )
    finally:
        slack.bot.limiter = original


@pytest.mark.integration
def test_slack_api_error_is_logged_and_the_app_keeps_serving(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="mara.slack")
    slack.fake.fail("chat.postMessage", error="not_in_channel")  # the thinking message
    payload = event_payload("How many customers do we have?", "CERROR")
    assert slack.post(payload).status_code == 200
    # the answer still arrives, as a new message in the thread
    slack.fake.wait_for(
        lambda calls: any(
            c.result.get("ok") and "6" in str(c.params.get("text"))
            for c in slack.in_channel("CERROR", "chat.postMessage")
        ),
        timeout=60,
    )
    assert any("not_in_channel" in r.getMessage() for r in caplog.records)
    assert httpx.get(f"{slack.url}/healthz", timeout=10).status_code == 200
    again = event_payload("How many customers do we have?", "CERROR")
    assert slack.post(again).status_code == 200
    slack.answer("CERROR", again["event"]["ts"])


@pytest.mark.integration
def test_failed_update_falls_back_to_a_new_message(slack: Slack) -> None:
    slack.fake.fail("chat.update", error="msg_too_long")
    payload = event_payload("How many customers do we have?", "CUPDATE")
    assert slack.post(payload).status_code == 200
    slack.fake.wait_for(lambda calls: len(slack.in_channel("CUPDATE", "chat.postMessage")) >= 2)
    thinking, answer = slack.in_channel("CUPDATE", "chat.postMessage")[:2]
    assert thinking.params["text"] == THINKING
    assert "6" in answer.params["text"] and answer.params["thread_ts"] == payload["event"]["ts"]


@pytest.mark.integration
def test_long_tools_show_their_progress_in_the_thinking_message(slack: Slack) -> None:
    """While a model trains, the thinking message says which step it is on (throttled)."""
    posted = slack.bot.client.chat_postMessage(channel="CPROGRESS", text=THINKING)
    update = slack.bot._progress_updater("CPROGRESS", posted["ts"])
    assert update is not None and slack.bot._progress_updater("CPROGRESS", None) is None
    update({"name": "predict_churn", "message": "features as of 2026-05-01 (training) …"})
    update({"name": "predict_churn", "message": "too soon: not shown"})
    updates = slack.in_channel("CPROGRESS", "chat.update")
    assert len(updates) == 1 and updates[0].params["ts"] == posted["ts"]
    assert updates[0].params["text"] == ":hourglass_flowing_sand: features as of 2026-05-01 (training) …"

    slack.fake.fail("chat.update", error="ratelimited")  # a failed courtesy update is only logged
    fresh = slack.bot._progress_updater("CPROGRESS", posted["ts"])
    assert fresh is not None
    fresh({"message": "clusters", "done": 2, "total": 7})
    assert slack.in_channel("CPROGRESS", "chat.update")[-1].params["text"].endswith("clusters (2/7)")


@pytest.mark.integration
def test_rate_limited_web_api_call_waits_for_retry_after(slack: Slack) -> None:
    slack.fake.rate_limit("chat.update", retry_after=1)
    payload = event_payload("How many customers do we have?", "CLIMIT")
    assert slack.post(payload).status_code == 200
    slack.answer("CLIMIT", payload["event"]["ts"])
    limited, ok = slack.in_channel("CLIMIT", "chat.update")
    assert limited.result["status"] == 429 and ok.result["ok"]
    assert ok.at - limited.at >= 1.0


@pytest.mark.integration
def test_chart_is_uploaded_as_png_in_the_thread(slack: Slack) -> None:
    payload = event_payload("revenue by country", "CCHART")
    thread = payload["event"]["ts"]
    assert slack.post(payload).status_code == 200
    update = slack.answer("CCHART", thread)
    assert "```" in blocks_text(update) and "Germany" in blocks_text(update)
    slack.fake.wait_for(
        lambda calls: bool(slack.in_channel("CCHART", "files.completeUploadExternal")), timeout=60
    )
    (complete,) = slack.in_channel("CCHART", "files.completeUploadExternal")
    assert complete.params["thread_ts"] == thread and complete.result["ok"]
    (file_id,) = [f["id"] for f in json.loads(complete.params["files"])]
    assert slack.fake.uploads[file_id].startswith(b"\x89PNG")


@pytest.mark.integration
def test_thread_replies_without_mention_are_answered_only_in_mara_threads(slack: Slack) -> None:
    first = event_payload("How many customers do we have?", "CTHREAD")
    thread = first["event"]["ts"]
    assert slack.post(first).status_code == 200
    slack.answer("CTHREAD", thread)
    reply = event_payload(
        "and in Germany?", "CTHREAD", kind="message", channel_type="channel", thread_ts=thread
    )
    assert slack.post(reply).status_code == 200
    slack.fake.wait_for(lambda calls: len(slack.in_channel("CTHREAD", "chat.update")) >= 2)
    assert "2" in slack.in_channel("CTHREAD", "chat.update")[1].params["text"]
    # a reply mentioning Mara arrives twice (message + app_mention): only app_mention answers
    mentioned = event_payload(
        f"<@{BOT_USER_ID}> hi", "CTHREAD", kind="message", channel_type="channel", thread_ts=thread
    )
    # someone else's thread, and a top-level channel message: not Mara's business
    stranger = event_payload(
        "and in France?", "COTHERS", kind="message", channel_type="channel", thread_ts="1.000001"
    )
    for payload in (mentioned, stranger):
        assert slack.post(payload).status_code == 200
    time.sleep(1.0)
    assert len(slack.in_channel("CTHREAD", "chat.postMessage")) == 2
    assert slack.in_channel("COTHERS") == []


def test_manifest_subscribes_to_the_events_the_app_handles() -> None:
    import yaml

    manifest = yaml.safe_load((Path(__file__).parents[1] / "api/slack/manifest.yaml").read_text())
    settings = manifest["settings"]["event_subscriptions"]
    assert settings["request_url"].endswith("/slack/events")
    assert {"app_mention", "message.im"} <= set(settings["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "im:history", "files:write"} <= scopes


def test_unreachable_slack_is_logged_not_raised(
    settings: MaraSettings, caplog: pytest.LogCaptureFixture
) -> None:
    from api.runtime import Runtime
    from api.slack.render import SlackMessage

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    slack_settings = SlackSettings.model_validate(
        {"signing_secret": SECRET, "bot_token": TOKEN, "api_url": f"http://127.0.0.1:{port}/api"}
    )
    bot = SlackBot(slack_settings, Runtime(settings))
    try:
        with caplog.at_level(logging.ERROR, logger="mara.slack"):
            assert bot._post("C1", "1.1", SlackMessage(text="hi")) is None
        assert any("chat.postMessage" in r.getMessage() for r in caplog.records)
    finally:
        bot.close()


@pytest.mark.integration
def test_large_table_is_also_uploaded_as_csv(slack: Slack) -> None:
    slack.bot.table_rows = 2
    try:
        payload = event_payload("revenue by country", "CCSV")
        assert slack.post(payload).status_code == 200
        update = slack.answer("CCSV", payload["event"]["ts"])
        assert "Showing 2 of 3 rows." in blocks_text(update)
        slack.fake.wait_for(
            lambda calls: len(slack.in_channel("CCSV", "files.completeUploadExternal")) >= 1
        )
    finally:
        slack.bot.table_rows = TABLE_ROWS
    complete = slack.in_channel("CCSV", "files.completeUploadExternal")[0]
    (listed,) = json.loads(complete.params["files"])
    assert listed["title"] == "Full table (CSV)"
    csv_text = slack.fake.uploads[listed["id"]].decode()
    assert csv_text.splitlines()[0].startswith("country") and "Germany" in csv_text


@pytest.mark.integration
def test_questions_beyond_the_queue_are_turned_away(slack: Slack) -> None:
    slack.bot.max_pending = 0
    try:
        payload = event_payload("How many customers do we have?", "CBUSY")
        assert slack.post(payload).status_code == 200
        slack.fake.wait_for(lambda calls: bool(slack.in_channel("CBUSY", "chat.postMessage")))
    finally:
        slack.bot.max_pending = 4 * slack.bot.settings.workers
    (notice,) = slack.in_channel("CBUSY", "chat.postMessage")
    assert "busy" in notice.params["text"]


class _FailingAssistant:
    """An assistant whose turns raise ``error``."""

    mode = "offline"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def stream(
        self, message: str, conversation_id: str | None = None, *, actor: str = "local",
        scopes: frozenset[str] | None = None,
    ) -> Iterator[Event]:
        raise self.error

    def history(self, conversation_id: str) -> list[Any]:
        return []

    def close(self) -> None:
        return None


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (MaraError("No workspace at /x. Run: mara demo"), "No workspace at /x. Run: mara demo"),
        (RuntimeError("secret internals"), "something went wrong on my side"),
    ],
)
def test_failed_turns_become_a_polite_message(
    settings: MaraSettings, error: Exception, shown: str
) -> None:
    from api.runtime import Runtime

    slack_settings = SlackSettings.model_validate({"signing_secret": SECRET, "bot_token": TOKEN})
    bot = SlackBot(slack_settings, Runtime(settings, _FailingAssistant(error)))
    try:
        message = bot._run_turn("hi", "slack-T-C-1.1")
    finally:
        bot.close()
    assert shown in message.text and "secret internals" not in message.text


def test_render_turn_lists_large_tables_for_csv_upload() -> None:
    table = {"artifact_id": "abc123", "columns": ["n"], "rows": [[i] for i in range(20)]}
    message = render_turn([Event("table", {**table, "row_count": 20}), Event("done", {})])
    assert message.csv_tables == ["abc123"]
    small = render_turn([Event("table", {**table, "row_count": 20})], max_rows=50)
    assert small.csv_tables == []


@pytest.mark.integration
def test_socket_mode_answers_in_the_thread(slack: Slack) -> None:
    pytest.importorskip("websockets")
    from api.slack.socket_mode import SocketModeBot

    with FakeSlack(token=TOKEN, app_token="xapp-test") as fake:
        slack_settings = SlackSettings.socket_mode_from_env(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_APP_TOKEN": "xapp-test",
                "MARA_SLACK_API_URL": fake.api_url,
            }
        )
        assert slack_settings is not None and slack_settings.signing_secret is None
        bot = SocketModeBot(slack.bot.runtime, slack_settings)  # the module's (warm) runtime
        try:
            bot.connect()
            fake.wait_for_socket()
            payload = event_payload("How many customers do we have?", "CSOCKET")
            envelope = fake.send_envelope(payload)
            again = fake.send_envelope(payload)  # a redelivery: same event_id
            fake.wait_for(
                lambda calls: (
                    any(c.method == "chat.update" for c in calls)
                    and {a.get("envelope_id") for a in fake.socket_acks} >= {envelope, again}
                ),
                timeout=60,
            )
            update = next(c for c in fake.calls if c.method == "chat.update")
            assert "6" in update.params["text"]
            time.sleep(0.5)
            posts = [c for c in fake.calls if c.method == "chat.postMessage"]
            assert len(posts) == 1 and posts[0].params["thread_ts"] == payload["event"]["ts"]
        finally:
            bot.close()


def test_http_mount_requires_a_signing_secret(settings: MaraSettings) -> None:
    from fastapi import FastAPI

    from api.runtime import Runtime
    from api.slack import mount_slack

    no_secret = SlackSettings.model_validate({"bot_token": TOKEN, "app_token": "xapp-x"})
    with pytest.raises(ValueError, match="SLACK_SIGNING_SECRET"):
        mount_slack(FastAPI(), Runtime(settings), no_secret)


def command_body(text: str, channel: str, response_url: str) -> str:
    """A form-encoded ``/mara`` slash-command request body."""
    from urllib.parse import urlencode

    return urlencode(
        {
            "command": "/mara",
            "text": text,
            "team_id": TEAM_ID,
            "channel_id": channel,
            "user_id": f"U{channel}",
            "response_url": response_url,
            "trigger_id": "123.456",
        }
    )


def post_signed_form(slack: Slack, body: str) -> httpx.Response:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest,
    }
    return httpx.post(f"{slack.url}/slack/events", content=body, headers=headers, timeout=10)


@pytest.mark.integration
def test_slash_command_posts_the_question_and_answers_in_its_thread(slack: Slack) -> None:
    url = f"{slack.fake.base_url}/response/cmd1"
    started = time.monotonic()
    response = post_signed_form(slack, command_body("How many customers do we have?", "CCMD", url))
    assert response.status_code == 200 and time.monotonic() - started < 3
    slack.fake.wait_for(lambda calls: bool(slack.in_channel("CCMD", "chat.postMessage")))
    asked = slack.in_channel("CCMD", "chat.postMessage")[0]
    assert "thread_ts" not in asked.params
    assert asked.params["text"] == "<@UCCMD> asked: How many customers do we have?"
    update = slack.answer("CCMD", asked.result["ts"])
    assert "6" in update.params["text"]


@pytest.mark.integration
def test_slash_command_where_mara_cannot_post_answers_ephemerally(slack: Slack) -> None:
    slack.fake.fail("chat.postMessage", error="not_in_channel")
    url = f"{slack.fake.base_url}/response/cmd2"
    assert post_signed_form(slack, command_body("hi", "CNOTIN", url)).status_code == 200
    slack.fake.wait_for(lambda calls: bool(slack.fake.responses))
    assert "/invite @Mara" in slack.fake.responses[-1]["text"]
    assert slack.fake.responses[-1]["response_type"] == "ephemeral"
    empty = post_signed_form(slack, command_body("", "CEMPTY", url))
    assert empty.status_code == 200 and "/mara How many customers" in empty.text


def test_slack_scopes_are_configurable_and_checked() -> None:
    from pydantic import ValidationError

    from api.slack.settings import SlackSettings

    assert SlackSettings._from({"SLACK_BOT_TOKEN": "xoxb-1"}).scopes == ("chat", "copy", "data:read")
    assert SlackSettings._from({"SLACK_BOT_TOKEN": "xoxb-1", "MARA_SLACK_SCOPES": "chat, copy"}).scopes == ("chat", "copy")
    with pytest.raises(ValidationError, match="unknown scope.*accepted: chat, copy, data:read, data:write, kb:write, admin"):
        SlackSettings._from({"SLACK_BOT_TOKEN": "xoxb-1", "MARA_SLACK_SCOPES": "chat,root"})


# --- thumbs up / down under an answer ----------------------------------------------------------

_clicks = itertools.count(1)


def test_answer_ends_with_feedback_buttons_naming_its_turn() -> None:
    message = render_turn([Event("done", {"reply": "6 customers."})], thread="9.1", turn_number=3)
    buttons = message.blocks[-1]["elements"]
    assert [(b["action_id"], json.loads(b["value"])) for b in buttons] == [
        ("mara_feedback_up", {"turn": 3, "thread": "9.1"}),
        ("mara_feedback_down", {"turn": 3, "thread": "9.1"}),
    ]


def test_feedback_buttons_fit_in_a_reply_shortened_for_slack() -> None:
    table = {"columns": ["n"], "rows": [[1]], "row_count": 1}
    events = [Event("table", table)] * 60 + [Event("done", {"reply": "many"})]
    blocks = render_turn(events, turn_number=1).blocks
    assert len(blocks) == 50 and blocks[-1]["block_id"] == "mara_feedback_1"


def feedback_click(
    slack: Slack, channel: str, thread: str, value: str, *, user: str, up: bool = True
) -> httpx.Response:
    """Sign and send the ``block_actions`` Slack sends when ``user`` clicks 👍 (or 👎) on an
    answer in ``thread`` whose button carries ``value``."""
    from urllib.parse import urlencode

    n = next(_clicks)
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "AMARA",
        "trigger_id": f"fb{n}.123.abc",
        "container": {"type": "message", "message_ts": f"1700000999.{n:06d}",
                      "channel_id": channel, "thread_ts": thread, "is_ephemeral": False},
        "channel": {"id": channel, "name": "marketing"},
        "message": {"type": "message", "ts": f"1700000999.{n:06d}", "thread_ts": thread},
        "actions": [{"type": "button", "action_id": "mara_feedback_up" if up else "mara_feedback_down",
                     "block_id": "b", "value": value, "action_ts": f"{1_800_000_000 + n}.7"}],
    }
    return post_signed_form(slack, urlencode({"payload": json.dumps(payload)}))


def feedback_on(slack: Slack, conversation: str) -> list[dict[str, Any]]:
    from assistant.evaluation.feedback import list_feedback

    return [f for f in list_feedback(slack.bot.runtime.ledger) if f["conversation_id"] == conversation]


def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, f"no log line with {text!r}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def two_turns(slack: Slack) -> tuple[str, SlackCall]:
    """A thread answered twice in CTHUMBS: ``(thread, the second answer's update call)``."""
    first = event_payload("How many customers do we have?", "CTHUMBS")
    thread = first["event"]["ts"]
    assert slack.post(first).status_code == 200
    slack.answer("CTHUMBS", thread)
    assert slack.post(event_payload("and in Germany?", "CTHUMBS", thread_ts=thread)).status_code == 200
    slack.fake.wait_for(lambda calls: len(slack.in_channel("CTHUMBS", "chat.update")) >= 2)
    return thread, slack.in_channel("CTHUMBS", "chat.update")[1]


@pytest.mark.integration
def test_slack_answer_carries_feedback_buttons_for_its_turn(two_turns: tuple[str, SlackCall]) -> None:
    thread, second = two_turns
    actions = [b for b in json.loads(blocks_text(second)) if b["type"] == "actions"]
    assert [json.loads(e["value"]) for e in actions[-1]["elements"]] == [{"turn": 2, "thread": thread}] * 2


@pytest.mark.integration
def test_thumbs_up_records_the_turn_with_the_slack_user_as_actor(
    slack: Slack, two_turns: tuple[str, SlackCall]
) -> None:
    thread, second = two_turns
    value = json.loads(blocks_text(second))[-1]["elements"][0]["value"]
    assert feedback_click(slack, "CTHUMBS", thread, value, user="URATER").status_code == 200
    slack.fake.wait_for(lambda calls: bool(slack.in_channel("CTHUMBS", "chat.postEphemeral")))
    (rated,) = feedback_on(slack, conversation_id(TEAM_ID, "CTHUMBS", thread))
    assert (rated["turn"], rated["rating"], rated["actor"]) == (2, "up", f"slack:{TEAM_ID}:URATER")
    assert rated["question"] == "and in Germany?"


@pytest.mark.integration
def test_clicker_alone_is_thanked(slack: Slack, two_turns: tuple[str, SlackCall]) -> None:
    thread, second = two_turns
    value = json.loads(blocks_text(second))[-1]["elements"][1]["value"]
    assert feedback_click(slack, "CTHUMBS", thread, value, user="UTHANKED", up=False).status_code == 200
    slack.fake.wait_for(
        lambda calls: any(c.params.get("user") == "UTHANKED" for c in calls if c.method == "chat.postEphemeral")
    )
    thanks = next(c for c in slack.fake.calls_to("chat.postEphemeral") if c.params["user"] == "UTHANKED")
    assert (thanks.params["text"], thanks.params["thread_ts"]) == ("Thanks — noted.", thread)


@pytest.mark.integration
@pytest.mark.parametrize("value", ["not json", '{"turn": 99}', '{"turn": "1"}', '{"turn": 0}'])
def test_bad_feedback_value_is_ignored_without_a_500(
    slack: Slack, two_turns: tuple[str, SlackCall], caplog: pytest.LogCaptureFixture, value: str
) -> None:
    caplog.set_level(logging.WARNING, logger="mara.slack")
    thread, _ = two_turns
    before = feedback_on(slack, conversation_id(TEAM_ID, "CTHUMBS", thread))
    assert feedback_click(slack, "CTHUMBS", thread, value, user="UBAD").status_code == 200
    wait_for_log(caplog, "ignored")
    assert feedback_on(slack, conversation_id(TEAM_ID, "CTHUMBS", thread)) == before


@pytest.mark.integration
def test_feedback_on_a_conversation_owned_by_an_api_key_is_refused(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mara.slack")
    conversation = conversation_id(TEAM_ID, "CFOREIGN", "1800000999.000100")
    slack.bot.runtime.ledger.claim("conversation", conversation, "key:ops")  # the API key asked first
    list(slack.bot.runtime._build().stream("How many customers do we have?", conversation, actor="key:ops"))
    click = feedback_click(slack, "CFOREIGN", "1800000999.000100", '{"turn": 1}', user="UINTRUDER")
    assert click.status_code == 200
    wait_for_log(caplog, "refused")
    assert feedback_on(slack, conversation) == []
