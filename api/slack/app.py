"""The Slack adapter: a Bolt app over the HTTP Events API, mounted at ``/slack/events``.

Flow of one question: Bolt verifies the signature (5-minute replay window) and acks at once;
:class:`SlackBot` drops repeats of an ``event_id`` (Slack's retries) and bot messages, then a
listener thread checks the per-user rate limit and message size and posts a "thinking" message
in the thread; a turn thread runs the turn on the app's assistant (one Slack thread = one
conversation) and replaces the thinking message with the rendered answer. Large tables follow
as CSV uploads, charts as PNG uploads. Every Web API failure is logged and, where Slack still
lets us, told in the thread; 429s are retried after ``Retry-After`` by ``slack_sdk``.

Copy drafts carry three buttons. "More variants" and "Shorter" post a follow-up question in the
draft's thread and answer it like any other (same conversation, through the assistant);
"Export CSV" uploads the variants and their checks, read back from the conversation's stored
tool result. The App Home tab shows what Mara does, the mode, the workspace's tables and
example questions whose buttons ask them in the user's direct messages with Mara.

Every answer ends with 👍 / 👎 buttons; a click rates that turn of the thread's conversation
with the Slack user as actor, as ``POST /v1/conversations/{id}/turns/{n}/feedback`` does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from starlette.concurrency import run_in_threadpool

from api.runtime import ChatAssistant, Runtime
from api.slack.guards import EventDeduper, KeyedLocks, RateLimiter
from api.slack.render import (
    ACTION_ASK,
    ACTION_EXPORT,
    ACTION_FEEDBACK_DOWN,
    ACTION_FEEDBACK_UP,
    ACTION_MORE,
    ACTION_SHORTER,
    TABLE_ROWS,
    CopyDraft,
    SlackMessage,
    copy_csv,
    escape,
    home_view,
    notice_blocks,
    render_turn,
    unescape,
)
from api.slack.schedules import (
    ACTION_SCHEDULE_PAUSE,
    ACTION_SCHEDULE_RESUME,
    home_blocks,
    schedule_command,
    toggle,
)
from api.slack.settings import SlackSettings
from foundation.errors import MaraError
from foundation.events import Event

log = logging.getLogger("mara.slack")

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000
MAX_UPLOAD_BYTES = 50_000_000
THINKING = ":hourglass_flowing_sand: Thinking…"
#: Seconds between updates of the thinking message with a long tool's progress (Slack
#: allows about one chat.update per second per channel).
PROGRESS_EVERY_S = 3.0
SLASH_COMMAND = "/mara"
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_IGNORED_SUBTYPES = {"bot_message", "message_changed", "message_deleted", "channel_join"}
COPY_TOOL = "draft_copy"
HOME_EXAMPLES = (
    "How many customers do we have?",
    "Revenue by country",
    "What tables do we have?",
    "Which disclaimer do SMS need?",
    "Draft 3 email subject lines for a spring sale",
)
HOME_TABLES_TTL = 60.0  # seconds the home tab's table summary is reused
# The follow-ups the copy buttons ask in the draft's thread ({n}: variants drafted, {channel}:
# the copy channel, e.g. "email").
MORE_VARIANTS = "Draft {n} more {channel} variants"
SHORTER = "Make these {channel} variants shorter"
FEEDBACK_THANKS = "Thanks — noted."


def conversation_id(team: str, channel: str, thread_ts: str) -> str:
    """The Mara conversation of a Slack thread."""
    return f"slack-{team}-{channel}-{thread_ts}"


def _slack_team(actor: str) -> str:
    """``slack:TEAM`` of a Slack actor ``slack:TEAM:USER``: anyone in the team may continue a
    thread (Slack's channel membership decides who sees it); API keys may not."""
    return ":".join(actor.split(":")[:2])


def question_text(raw: str) -> str:
    """The user's question: mentions removed, Slack's escaping undone, whitespace trimmed."""
    return unescape(_MENTION.sub(" ", raw or "")).strip()


def is_from_bot(event: dict[str, Any]) -> bool:
    """True for messages written by any bot or app (Mara included) and for system subtypes."""
    return bool(event.get("bot_id") or event.get("bot_profile")) or (
        event.get("subtype") in _IGNORED_SUBTYPES
    )


class SlackBot:
    """Holds the Bolt app, the Web API client, the worker pools and the guards.

    Two pools: Bolt runs listeners (checks, the "thinking" message) on a small quick pool so
    every question is acknowledged in the thread at once; turns run on ``settings.workers``
    threads. When more than ``4 × workers`` turns are waiting, new questions are turned away.
    """

    def __init__(self, settings: SlackSettings, runtime: Runtime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.client = WebClient(
            token=settings.bot_token.get_secret_value(),
            base_url=settings.api_url,
            timeout=15,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=1),
                RateLimitErrorRetryHandler(max_retry_count=3),  # sleeps for Retry-After
            ],
        )
        self.listeners = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mara-slack-ack")
        self.turns = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="mara-slack-turn"
        )
        self.max_pending = 4 * settings.workers
        self._pending = 0
        self._pending_lock = threading.Lock()
        self.deduper = EventDeduper(shared=runtime.shared)
        self.limiter = RateLimiter(
            settings.rate_limit_per_minute, settings.rate_limit_burst, shared=runtime.shared
        )
        self._limited_until: dict[str, float] = {}
        self.locks = KeyedLocks(runtime.shared)
        self.table_rows = TABLE_ROWS  # larger tables are also uploaded as CSV
        self.bolt = App(
            client=self.client,
            # Socket Mode needs no secret (requests come over the app's own connection);
            # mount_slack refuses to serve HTTP without one.
            signing_secret=(
                settings.signing_secret.get_secret_value() if settings.signing_secret else ""
            ),
            token_verification_enabled=False,  # auth.test runs lazily on the first event
            process_before_response=False,  # ack first, then run listeners in the pool
            listener_executor=self.listeners,
            logger=log,
        )
        self.bolt.middleware(self._drop_duplicates)
        self.bolt.event("app_mention")(self._on_mention)
        self.bolt.event("message")(self._on_message)
        self.bolt.command(SLASH_COMMAND)(self._on_command)
        self.bolt.event("app_home_opened")(self._on_home_opened)
        self.bolt.event(re.compile(r".*"))(self._on_other_event)
        self.bolt.action(ACTION_MORE)(self._on_copy_follow_up)
        self.bolt.action(ACTION_SHORTER)(self._on_copy_follow_up)
        self.bolt.action(ACTION_EXPORT)(self._on_copy_export)
        self.bolt.action(re.compile(rf"^{ACTION_ASK}_\d+$"))(self._on_home_ask)
        self.bolt.action(ACTION_FEEDBACK_UP)(self._on_feedback)
        self.bolt.action(ACTION_FEEDBACK_DOWN)(self._on_feedback)
        self.bolt.action(ACTION_SCHEDULE_PAUSE)(self._on_schedule_toggle)
        self.bolt.action(ACTION_SCHEDULE_RESUME)(self._on_schedule_toggle)
        self._home_tables: tuple[float, list[tuple[str, int]] | None] | None = None

    # --- HTTP ----------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        """Dispatch one Events API request through Bolt, off the event loop."""
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return Response("request body too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response("request body too large", status_code=413)
        stamp = request.headers.get("x-slack-request-timestamp")
        if stamp is not None and not stamp.strip().isdigit():
            return Response(
                "invalid X-Slack-Request-Timestamp: expected Unix seconds", status_code=400
            )
        try:  # Bolt parses the body before it checks the signature
            bolt_request = to_bolt_request(request, body)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            return Response(
                "request body is not valid JSON or form data (or is nested too deeply)",
                status_code=400,
            )
        bolt_response = await run_in_threadpool(self.bolt.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    def close(self) -> None:
        """Stop taking work; queued turns are dropped, running ones finish on their own."""
        self.listeners.shutdown(wait=False, cancel_futures=True)
        self.turns.shutdown(wait=False, cancel_futures=True)

    # --- Bolt middleware and listeners ----------------------------------------------------

    def _drop_duplicates(self, body: dict[str, Any], next: Any, req: Any) -> BoltResponse | None:
        """Global middleware (after signature checks): one answer per ``event_id``, and per
        button click (its ``trigger_id``, else the action's ``action_ts``)."""
        key = delivery_key(body)
        if key is not None and not self.deduper.first_time(key):
            retry = (req.headers.get("x-slack-retry-num") or ["?"])[0]
            log.info("slack: ignoring repeated delivery of %s (retry %s)", key, retry)
            return BoltResponse(status=200, body="")
        next()
        return None

    def _on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if not is_from_bot(event):
            self._accept(str(body.get("team_id") or ""), event)

    def _on_message(self, body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        """Direct messages, and replies in threads Mara already answers in (without a mention;
        with one, ``app_mention`` handles it)."""
        if is_from_bot(event) or event.get("subtype"):
            return
        team = str(body.get("team_id") or "")
        if event.get("channel_type") == "im":
            self._accept(team, event)
            return
        thread, bot_user = event.get("thread_ts"), getattr(context, "bot_user_id", None)
        if not thread or thread == event.get("ts"):
            return
        if bot_user and f"<@{bot_user}" in str(event.get("text") or ""):
            return
        if self._knows_thread(conversation_id(team, str(event.get("channel")), str(thread))):
            self._accept(team, event)

    def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        """``/mara <question>``: post the question in the channel and answer in its thread."""
        question = question_text(str(command.get("text") or ""))
        if not question:
            ack(text=f"Ask me a question: `{SLASH_COMMAND} How many customers do we have?`")
            return
        channel, user = str(command.get("channel_id") or ""), str(command.get("user_id") or "")
        if question.split(maxsplit=1)[0].lower() == "schedule":  # /mara schedule …: api/slack/schedules.py
            actor = f"slack:{command.get('team_id') or ''}:{user}"
            ack(text=schedule_command(self.runtime, actor, channel, question[len("schedule"):].strip(),
                                      list(self.settings.scopes)))
            return
        ack()
        shown = question if len(question) <= 300 else question[:299] + "…"
        asked = f"<@{user}> asked: {escape(shown)}"
        ts = self._post(channel, None, SlackMessage(text=asked, blocks=notice_blocks(asked)))
        if ts is None:
            respond(
                text="I can't post in this conversation. Invite me with `/invite @Mara`, "
                "or ask me in a direct message.",
                response_type="ephemeral",
            )
            return
        event = {"channel": channel, "ts": ts, "user": user, "text": escape(question)}
        self._accept(str(command.get("team_id") or ""), event)

    def _on_other_event(self, body: dict[str, Any]) -> None:
        log.debug("slack: ignoring event %s", (body.get("event") or {}).get("type"))

    # --- App Home ---------------------------------------------------------------------------

    def _on_home_opened(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """Publish the Home tab (what Mara does, the mode, the data, examples, the user's
        schedules with pause / resume buttons) for the user."""
        user = str(event.get("user") or "")
        if not user or event.get("tab", "home") != "home":
            return
        settings = self.runtime.settings
        mode = self.runtime.mode
        view = home_view(
            mode,
            HOME_EXAMPLES,
            self._table_summary(),
            model=settings.llm_model if mode == "llm" else None,
        )
        view["blocks"] = [*view["blocks"], *home_blocks(self.runtime, f"slack:{_team_of(body)}:{user}")][:100]
        try:
            self.client.views_publish(user_id=user, view=view)
        except (SlackClientError, OSError) as err:
            log.error("slack: views.publish for %s failed: %s", user, _slack_error(err))

    def _on_schedule_toggle(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Pause / Resume on the App Home: only the schedule's owner; the tab is republished."""
        ack()
        user = str((body.get("user") or {}).get("id") or "")
        paused = action.get("action_id") == ACTION_SCHEDULE_PAUSE
        if toggle(self.runtime, f"slack:{_team_of(body)}:{user}", str(action.get("value") or ""), paused):
            self._on_home_opened({"user": user, "tab": "home"}, body)

    def _table_summary(self) -> list[tuple[str, int]] | None:
        """``(table, rows)`` of the workspace, cached briefly; ``None`` when unavailable."""
        cached = self._home_tables
        if cached is not None and time.monotonic() - cached[0] < HOME_TABLES_TTL:
            return cached[1]
        tables: list[tuple[str, int]] | None
        try:
            tables = [(t.name, int(t.rows)) for t in self.runtime.tools.warehouse.tables()]
        except Exception as err:  # no workspace yet, warehouse down: the tab still opens
            log.warning("slack: home tab without a data summary: %s", err)
            tables = None
        self._home_tables = (time.monotonic(), tables)
        return tables

    def _on_home_ask(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """An example button on the Home tab: ask it in the user's DM with Mara."""
        ack()
        user = str((body.get("user") or {}).get("id") or "")
        question = question_text(str(action.get("value") or ""))
        if not user or not question:
            return
        try:
            opened = self.client.conversations_open(users=user)
        except (SlackClientError, OSError) as err:
            log.error("slack: conversations.open for %s failed: %s", user, _slack_error(err))
            return
        channel = str((opened.get("channel") or {}).get("id") or "")
        if channel:
            self._ask_for(_team_of(body), channel, None, user, question)

    # --- copy draft buttons -----------------------------------------------------------------

    def _on_copy_follow_up(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The "More variants" and "Shorter" buttons: a follow-up question in the draft's thread."""
        ack()
        where = _action_place(body, action)
        if where is None:
            return
        channel, thread, value = where
        template = MORE_VARIANTS if action.get("action_id") == ACTION_MORE else SHORTER
        question = template.format(
            n=int(value.get("n") or 3), channel=_channel_label(value.get("channel"))
        )
        user = str((body.get("user") or {}).get("id") or "")
        self._ask_for(_team_of(body), channel, thread, user, question)

    def _on_copy_export(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The "Export CSV" button: upload the variants and checks to the thread (in the background)."""
        ack()
        where = _action_place(body, action)
        if where is None:
            return
        channel, thread, value = where
        conversation = conversation_id(_team_of(body), channel, thread)
        with contextlib.suppress(RuntimeError):  # RuntimeError: shutting down
            self.turns.submit(
                self._export_csv, conversation, channel, thread, str(value.get("call") or "")
            )

    def _export_csv(self, conversation: str, channel: str, thread: str, call_id: str) -> None:
        try:
            draft = self._stored_draft(conversation, call_id)
            if draft is None or not draft.variants:
                self._notice(
                    channel, thread, ":warning: I can't find those drafts any more — ask again."
                )
                return
            self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread,
                content=copy_csv(draft.variants).encode("utf-8"),
                filename=f"mara-copy-{draft.channel or 'variants'}.csv",
                title="Copy variants with checks (CSV)",
            )
        except (SlackClientError, OSError) as err:
            log.error("slack: copy CSV upload in %s failed: %s", channel, _slack_error(err))
            self._notice(channel, thread, ":warning: I couldn't upload the CSV.")
        except Exception:
            log.exception("slack: copy export in %s failed", conversation)

    def _stored_draft(self, conversation: str, call_id: str) -> CopyDraft | None:
        """The draft of tool call ``call_id`` (the latest draft when empty) from the history."""
        drafts = drafts_in(self.runtime._build().history(conversation))
        if call_id:
            return next((d for d in drafts if d.call_id == call_id), None)
        return drafts[-1] if drafts else None

    # --- feedback buttons -------------------------------------------------------------------

    def _on_feedback(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """👍 / 👎 under an answer: rate that turn, then tell only the clicker "noted".

        Nothing is said in the thread when the click cannot count (a bad value, a turn or
        thread Mara does not know, a conversation owned outside this Slack workspace): it is
        logged, and the message stays as it was."""
        ack()
        where = _action_place(body, action)
        if where is None:
            return
        channel, thread, value = where
        turn = value.get("turn")
        if not isinstance(turn, int) or isinstance(turn, bool) or not 1 <= turn <= 10_000:
            log.warning("slack: feedback click with turn %r ignored (expected 1..10000)", turn)
            return
        user = str((body.get("user") or {}).get("id") or "")
        if not user:
            log.warning("slack: feedback click without a user ignored")
            return
        team = _team_of(body)
        rating = "up" if action.get("action_id") == ACTION_FEEDBACK_UP else "down"
        conversation = conversation_id(team, channel, thread)
        try:
            recorded = self._record_feedback(conversation, turn, rating, f"slack:{team}:{user}")
        except MaraError as err:  # FeedbackError: no such turn
            log.warning("slack: feedback on %s turn %d ignored: %s", conversation, turn, err)
            return
        except Exception:
            log.exception("slack: feedback on %s turn %d failed", conversation, turn)
            return
        if not recorded:
            return
        try:
            self.client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread, text=FEEDBACK_THANKS
            )
        except (SlackClientError, OSError) as err:  # a courtesy: the rating is stored
            log.warning("slack: chat.postEphemeral in %s failed: %s", channel, _slack_error(err))

    def _record_feedback(self, conversation: str, turn: int, rating: str, actor: str) -> bool:
        """Store the rating unless the conversation is unknown or not this workspace's (an API
        key's, say): only its owner's side may rate it, as in the API."""
        # lazy: langchain_core loads slowly; only this path needs it
        from assistant.evaluation.feedback import record_feedback

        owner = self.runtime.ledger.owner("conversation", conversation)
        if owner is None or _slack_team(owner) != _slack_team(actor):
            log.warning("slack: feedback by %s on %s (owner %s) refused", actor, conversation, owner)
            return False
        history = self.runtime._build().history(conversation)
        if not history:
            log.warning("slack: feedback on %s ignored: no such conversation", conversation)
            return False
        record_feedback(self.runtime.ledger, history, conversation, turn, rating, actor=actor)
        return True

    def _ask_for(
        self, team: str, channel: str, thread: str | None, user: str, question: str
    ) -> None:
        """Post ``question`` on the user's behalf (in ``thread``, or as a new top-level message
        whose thread Mara answers in) and answer it like a message from them."""
        asked = f"<@{user}> asked: {escape(question)}" if user else escape(question)
        ts = self._post(channel, thread, SlackMessage(text=asked, blocks=notice_blocks(asked)))
        if ts is None:
            return
        event = {"channel": channel, "ts": ts, "user": user, "text": escape(question)}
        if thread:
            event["thread_ts"] = thread
        self._accept(team, event)

    def _knows_thread(self, conversation: str) -> bool:
        try:
            return bool(self.runtime._build().history(conversation))
        except Exception:
            log.exception("slack: could not read conversation %s", conversation)
            return False

    # --- one question ---------------------------------------------------------------------

    def _accept(self, team: str, event: dict[str, Any]) -> None:
        """Check a question, post the thinking message and queue the turn (listener thread)."""
        channel = str(event.get("channel") or "")
        thread = str(event.get("thread_ts") or event.get("ts") or "")
        if not channel or not thread:
            log.warning("slack: event without channel or ts ignored")
            return
        text = question_text(str(event.get("text") or ""))
        refusal = self._refusal(f"{team}:{event.get('user') or ''}", text)
        if refusal is not None:
            if refusal:
                self._notice(channel, thread, refusal)
            return
        with self._pending_lock:
            busy = self._pending >= self.max_pending
            if not busy:
                self._pending += 1
        if busy:
            self._notice(
                channel, thread, ":construction: I'm busy right now — ask me again in a minute."
            )
            return
        thinking_ts = self._notice(channel, thread, THINKING)
        conversation = conversation_id(team, channel, thread)
        try:
            actor = f"slack:{team}:{event.get('user') or 'unknown'}"
            self.turns.submit(self._answer, text, conversation, channel, thread, thinking_ts, actor)
        except RuntimeError:  # shutting down
            with self._pending_lock:
                self._pending -= 1

    def _refusal(self, user_key: str, text: str) -> str | None:
        """Why a question is not answered (``""``: silently), or ``None`` when it is fine."""
        wait = self.limiter.try_acquire(user_key)
        if wait > 0:
            now = time.monotonic()
            with self._pending_lock:
                if self._limited_until.get(user_key, 0.0) > now:
                    return ""  # told already; don't answer every extra message with a notice
                self._limited_until[user_key] = now + wait
            return (
                ":turtle: You're asking faster than I can answer. "
                f"Try again in {math.ceil(wait)} s."
            )
        limit = self.settings.max_message_chars
        if len(text) > limit:
            return (
                f":scissors: That message is {len(text):,} characters; I can take up to "
                f"{limit:,}. Please shorten it or split it into several questions."
            )
        if not text:
            return (
                "Ask me about your customers, segments or campaigns — for example "
                "_How many customers do we have?_"
            )
        return None

    def _answer(
        self, text: str, conversation: str, channel: str, thread: str, thinking_ts: str | None,
        actor: str = "slack",
    ) -> None:
        """Run the turn and deliver it (turn thread); ``actor`` (the Slack user) goes to the audit trail."""
        try:
            progress = self._progress_updater(channel, thinking_ts)
            message = self._run_turn(text, conversation, thread, actor, on_progress=progress)
            self._deliver(channel, thread, thinking_ts, message)
            self._upload_tables(channel, thread, message.csv_tables)
            self._upload_charts(channel, thread, message.charts)
        except Exception:  # never let a worker die silently
            log.exception("slack: answering in %s failed", conversation)
        finally:
            with self._pending_lock:
                self._pending -= 1

    def _progress_updater(self, channel: str, thinking_ts: str | None) -> Callable[[dict[str, Any]], None] | None:
        """Show a long tool's progress in the thinking message, at most every few seconds."""
        if not thinking_ts:
            return None
        last = [-math.inf]

        def update(data: dict[str, Any]) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY_S:
                return
            last[0] = now
            share = f" ({data['done']}/{data['total']})" if data.get("total") else ""
            note = f":hourglass_flowing_sand: {escape(str(data.get('message') or 'Working…'))}{share}"
            try:
                self.client.chat_update(channel=channel, ts=thinking_ts, text=note, blocks=notice_blocks(note))
            except SlackClientError as err:  # progress is a courtesy: the answer still follows
                log.warning("slack: progress update in %s failed: %s", channel, _slack_error(err))

        return update

    def _run_turn(
        self, text: str, conversation: str, thread: str | None = None, actor: str = "slack",
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> SlackMessage:
        try:
            owner = self.runtime.ledger.claim("conversation", conversation, actor)
            if _slack_team(owner) != _slack_team(actor):  # e.g. an API key took the id first
                log.warning("slack: conversation %s belongs to %s, not this workspace", conversation, owner)
                note = ":warning: Sorry — I can't continue this thread: its conversation belongs to someone else."
                return SlackMessage(text=note, blocks=notice_blocks(note))
            assistant: ChatAssistant = self.runtime._build()
            lock = self.locks.acquire(conversation)
            try:
                scopes = frozenset(self.settings.scopes)  # 'admin' among them is every scope
                events: list[Event] = []
                for event in assistant.stream(text, conversation, actor=actor, scopes=scopes):
                    events.append(event)
                    if event.type == "progress" and on_progress is not None:
                        on_progress(event.data)
                drafts = self._turn_drafts(assistant, conversation, events)
                turn_number = self._turn_number(assistant, conversation)
            finally:
                self.locks.release(conversation, lock)
            return render_turn(events, self.table_rows, drafts, thread, turn_number)
        except MaraError as err:  # e.g. a missing workspace: the message says what to do
            log.error("slack: turn failed for %s: %s", conversation, err)
            note = f":warning: Sorry — I couldn't answer that: {escape(str(err))}"
        except Exception:
            log.exception("slack: turn failed for %s", conversation)
            note = ":warning: Sorry — something went wrong on my side (it has been logged)."
        return SlackMessage(text=note, blocks=notice_blocks(note))

    def _turn_drafts(
        self, assistant: ChatAssistant, conversation: str, events: list[Event]
    ) -> list[CopyDraft]:
        """The copy drafts of this turn, read back from the stored ``draft_copy`` results
        (events carry only a summary of them)."""
        calls = [
            str(e.data.get("id"))
            for e in events
            if e.type == "tool_end" and e.data.get("name") == COPY_TOOL and e.data.get("ok")
        ]
        if not calls:
            return []
        try:
            stored = {d.call_id: d for d in drafts_in(assistant.history(conversation))}
        except Exception:
            log.exception("slack: could not read the drafts of %s", conversation)
            return []
        return [stored[c] for c in calls if c in stored and stored[c].variants]

    def _turn_number(self, assistant: ChatAssistant, conversation: str) -> int | None:
        """The number of the turn just answered (its questions so far; read under the
        conversation's lock), which the feedback buttons rate; ``None`` (no buttons) when the
        history cannot be read."""
        try:
            history = assistant.history(conversation)
        except Exception:
            log.exception("slack: could not read conversation %s", conversation)
            return None
        asked = sum(1 for m in history if getattr(m, "type", None) == "human")
        return asked or None

    # --- Web API calls, each one logged on failure ----------------------------------------

    def _notice(self, channel: str, thread: str, text: str) -> str | None:
        """Post a short message in the thread; its ``ts``, or ``None`` if Slack refused it."""
        return self._post(channel, thread, SlackMessage(text=text, blocks=notice_blocks(text)))

    def _post(self, channel: str, thread: str | None, message: SlackMessage) -> str | None:
        try:
            response = self.client.chat_postMessage(
                channel=channel, thread_ts=thread, text=message.text, blocks=message.blocks
            )
        except (SlackClientError, OSError) as err:
            log.error("slack: chat.postMessage to %s failed: %s", channel, _slack_error(err))
            return None
        return str(response.get("ts") or "") or None

    def _deliver(
        self, channel: str, thread: str, thinking_ts: str | None, message: SlackMessage
    ) -> None:
        """Replace the thinking message with the answer; fall back to a new post, then a notice."""
        if thinking_ts:
            try:
                self.client.chat_update(
                    channel=channel, ts=thinking_ts, text=message.text, blocks=message.blocks
                )
                return
            except (SlackClientError, OSError) as err:
                log.error("slack: chat.update in %s failed: %s", channel, _slack_error(err))
        if self._post(channel, thread, message):
            return
        plain = SlackMessage(text=message.text, blocks=notice_blocks(message.text))
        if self._post(channel, thread, plain):
            return
        self._notice(
            channel, thread, ":warning: I have an answer but Slack would not let me post it."
        )

    def _upload_tables(self, channel: str, thread: str, artifact_ids: list[str]) -> None:
        for artifact_id in artifact_ids[:3]:
            try:
                path = self.runtime.artifacts.csv_path(artifact_id)
                if path.stat().st_size > MAX_UPLOAD_BYTES:
                    log.warning("slack: table %s too large to upload", artifact_id)
                    continue
                self.client.files_upload_v2(
                    channel=channel,
                    thread_ts=thread,
                    file=str(path),
                    filename=f"mara-{artifact_id}.csv",
                    title="Full table (CSV)",
                )
            except KeyError:
                log.warning("slack: table artifact %s not found", artifact_id)
            except (SlackClientError, OSError) as err:
                log.error("slack: CSV upload in %s failed: %s", channel, _slack_error(err))
                self._notice(channel, thread, ":warning: I couldn't upload the full table.")

    def _upload_charts(self, channel: str, thread: str, charts: list[dict[str, Any]]) -> None:
        for chart in charts[:3]:
            title = str(chart.get("title") or "Chart")
            try:
                # lazy: imported only on this path (keeps the module's own import light)
                from tools.charts import render_png

                png = render_png(chart["spec"])
                self.client.files_upload_v2(
                    channel=channel,
                    thread_ts=thread,
                    content=png,
                    filename=f"{chart.get('artifact_id') or 'chart'}.png",
                    title=title,
                )
            except (SlackClientError, OSError) as err:
                log.error("slack: chart upload in %s failed: %s", channel, _slack_error(err))
                self._notice(channel, thread, f":warning: I couldn't upload the chart _{title}_.")
            except Exception:
                log.exception("slack: chart %r could not be rendered", title)


def delivery_key(body: dict[str, Any]) -> str | None:
    """What identifies one delivery across Slack's retries: the ``event_id`` of an event, the
    ``trigger_id`` (or first ``action_ts``) of a button click; ``None`` for anything else."""
    event_id = body.get("event_id")
    if isinstance(event_id, str) and event_id:
        return event_id
    if body.get("type") == "block_actions":
        trigger = body.get("trigger_id")
        if isinstance(trigger, str) and trigger:
            return f"action:{trigger}"
        actions = body.get("actions") or []
        if actions and isinstance(actions[0], dict) and actions[0].get("action_ts"):
            return f"action:{(body.get('user') or {}).get('id')}:{actions[0]['action_ts']}"
    return None


def drafts_in(history: list[Any]) -> list[CopyDraft]:
    """Every ``draft_copy`` result in a conversation's stored messages, oldest first.

    Tool messages keep the tool's structured ``data`` (``{"variants": [...]}``) in their
    ``artifact``; the call's ``args`` (channel, brief) are on the AI message that asked for it.
    """
    args: dict[str, dict[str, Any]] = {}
    drafts: list[CopyDraft] = []
    for message in history:
        for call in getattr(message, "tool_calls", None) or []:
            if isinstance(call, dict) and call.get("name") == COPY_TOOL:
                args[str(call.get("id"))] = dict(call.get("args") or {})
        if getattr(message, "name", None) != COPY_TOOL or not hasattr(message, "tool_call_id"):
            continue
        artifact = getattr(message, "artifact", None)
        data = artifact.get("data") if isinstance(artifact, dict) else None
        variants = data.get("variants") if isinstance(data, dict) else None
        if not isinstance(variants, list):
            continue
        call_id = str(message.tool_call_id)
        call_args = args.get(call_id, {})
        drafts.append(
            CopyDraft(
                call_id=call_id,
                channel=str(call_args.get("channel") or ""),
                variants=[v for v in variants if isinstance(v, dict)],
                brief=str(call_args.get("brief") or ""),
            )
        )
    return drafts


def _team_of(body: dict[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict) and team.get("id"):
        return str(team["id"])
    return str(body.get("team_id") or (body.get("user") or {}).get("team_id") or "")


def _action_place(
    body: dict[str, Any], action: dict[str, Any]
) -> tuple[str, str, dict[str, Any]] | None:
    """``(channel, thread, button value)`` of a click on a draft's button, or ``None``."""
    try:
        value = json.loads(str(action.get("value") or "{}"))
    except ValueError:
        value = {}
    if not isinstance(value, dict):
        value = {}
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    thread = str(
        container.get("thread_ts")
        or message.get("thread_ts")
        or value.get("thread")
        or container.get("message_ts")
        or ""
    )
    if not channel or not thread:
        log.warning("slack: button click without channel or thread ignored")
        return None
    return channel, thread, value


_CHANNEL_LABELS = {"google_rsa": "Google search ad", "meta_ad": "Meta ad", "social": "social post"}


def _channel_label(channel: Any) -> str:
    """How a follow-up names the copy channel (``sms`` → ``SMS``)."""
    name = str(channel or "").strip()
    if name == "sms":
        return "SMS"
    return _CHANNEL_LABELS.get(name, name.replace("_", " ") or "copy")


def _slack_error(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        return str(err.response.get("error") or err.response.status_code)
    return f"{type(err).__name__}: {err}"


def mount_slack(app: FastAPI, runtime: Runtime, settings: SlackSettings) -> SlackBot:
    """Add ``POST /slack/events`` to ``app``; the bot is kept on ``app.state.slack``."""
    if settings.signing_secret is None or not settings.signing_secret.get_secret_value():
        raise ValueError("The Slack events endpoint needs SLACK_SIGNING_SECRET.")
    bot = SlackBot(settings, runtime)
    runtime.slack_client = bot.client  # scheduled messages go through the adapter's client
    router = APIRouter(tags=["slack"])

    @router.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        """Slack Events API requests (signed by Slack)."""
        return await bot.handle(request)

    app.include_router(router)
    app.state.slack = bot
    return bot
