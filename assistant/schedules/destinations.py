"""Where a scheduled run goes: a Slack channel or DM, an e-mail address, a signed webhook.

A destination is written as one string, stored as given:

- ``slack:#marketing`` or ``slack:C0123ABC`` (a channel), ``slack:@U0123ABC`` (a direct message);
- ``email:ana@example.com``;
- ``webhook:https://crm.example.com/hooks/mara``.

Senders raise :class:`TransientFailure` (retried with backoff: 5xx, timeouts, connection
errors, rate limits) or :class:`PermanentFailure` (not retried: a deleted Slack channel, a
refused recipient, a 4xx, an address the SSRF rules refuse). The message is the same dict
for every destination (:class:`~assistant.schedules.runner.Message`).

**Webhooks** are signed: ``X-Mara-Timestamp: <unix seconds>`` and
``X-Mara-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>``, with the schedule's
own secret (shown once when the schedule is created). ``Idempotency-Key`` is the run id — the
same on every retry and after a resumed run — so a receiver can drop repeats.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import os
import re
import smtplib
import ssl
import time
from collections.abc import Collection
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx

from assistant.schedules.cadence import ScheduleInputError
from assistant.schedules.recipients import EmailRecipientRefused, check_email_recipient
from assistant.schedules.ssrf import AllowList, UnsafeDestination, check_url, guarded_client
from foundation.settings import MaraSettings

KINDS = ("slack", "email", "webhook")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_SLACK = re.compile(r"^(#[a-z0-9][a-z0-9_\-]{0,79}|[CGD][A-Z0-9]{6,20}|@[UW][A-Z0-9]{6,20})$")
#: Slack errors that retrying cannot fix.
SLACK_PERMANENT = {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
                   "user_not_found", "users_not_found", "cannot_dm_bot", "restricted_action", "msg_too_long",
                   "invalid_blocks", "no_permission", "missing_scope", "not_authed", "token_revoked"}


class DeliveryFailure(Exception):
    """A destination did not take the message; ``str()`` says why in one line."""


class TransientFailure(DeliveryFailure):
    """Worth retrying (server error, timeout, rate limit)."""


class PermanentFailure(DeliveryFailure):
    """Retrying will not help (deleted channel, refused address, client error)."""


def kind_of(destination: str) -> str:
    return destination.split(":", 1)[0]


def parse_destination(raw: str, settings: MaraSettings, *, resolve: bool = True) -> str:
    """``raw`` normalised when accepted; :class:`ScheduleInputError` naming the forms otherwise."""
    text = (raw or "").strip()
    kind, _, target = text.partition(":")
    kind = kind.lower()
    if kind == "slack" and _SLACK.match(target.strip()):
        return f"slack:{target.strip()}"
    if kind == "email" and _EMAIL.match(target.strip()) and len(target) <= 254:
        return f"email:{target.strip()}"
    if kind == "webhook":
        check_url(target.strip(), AllowList.parse(settings.webhook_allow), resolve_host=resolve)
        return f"webhook:{target.strip()}"
    raise ScheduleInputError(
        f"Destination {raw!r} is not accepted.",
        hint="Use slack:#channel, slack:C0123ABC, slack:@U0123ABC (a DM), email:name@example.com "
        "or webhook:https://host/path.",
    )


# --- Slack ---------------------------------------------------------------------------------


def slack_client_from_env(env: dict[str, str] | None = None) -> Any:
    """A Slack Web API client from ``SLACK_BOT_TOKEN`` (and ``MARA_SLACK_API_URL``), or ``None``."""
    env = dict(os.environ) if env is None else env
    token = env.get("SLACK_BOT_TOKEN")
    if not token:
        return None
    # lazy: slack_sdk loads slowly; only this path needs it
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

    url = env.get("MARA_SLACK_API_URL") or "https://slack.com/api/"
    return WebClient(token=token, base_url=url if url.endswith("/") else url + "/", timeout=15,
                     retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)])


def send_slack(client: Any, destination: str, message: dict[str, Any], png: bytes | None) -> str:
    """Post the message (Block Kit) and its chart; returns the message ts."""
    # lazy: slack_sdk loads slowly; only this path needs it
    from slack_sdk.errors import SlackApiError, SlackClientError

    if client is None:
        raise PermanentFailure("Slack is not configured on this server (SLACK_BOT_TOKEN is unset).")
    target = destination.split(":", 1)[1]
    try:
        if target.startswith("@"):
            opened = client.conversations_open(users=target[1:])
            channel = opened["channel"]["id"]
        else:
            channel = target  # an id, or a #name Slack resolves
        posted = client.chat_postMessage(channel=channel, text=_slack_escape(plain_text(message))[:3000],
                                         blocks=slack_blocks(message),
                                         unfurl_links=False)
        if png:
            client.files_upload_v2(channel=posted.get("channel") or channel, content=png, filename="chart.png",
                                   title=message.get("title") or "chart", thread_ts=posted.get("ts"))
        return str(posted.get("ts") or "")
    except SlackApiError as err:
        code = str(err.response.get("error") or "error") if err.response is not None else "error"
        status = getattr(err.response, "status_code", 200) if err.response is not None else 200
        if code == "channel_not_found":
            raise PermanentFailure(f"Slack channel {target} was not found (deleted, renamed, or Mara "
                                   "is not invited); fix the destination or invite @Mara.") from err
        if code in SLACK_PERMANENT:
            raise PermanentFailure(f"Slack refused the message to {target}: {code}.") from err
        raise TransientFailure(f"Slack answered {code} (HTTP {status}) for {target}.") from err
    except (SlackClientError, OSError) as err:
        raise TransientFailure(f"Slack could not be reached: {err}.") from err


def slack_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Headline first, then details, a small table, and a context line with the run."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": (message.get("title") or "Mara")[:150]}},
    ]
    body = [message.get("headline") or "", *message.get("lines", [])]
    if message.get("text"):
        body.append(message["text"])
    text = "\n".join(line for line in body if line)
    for start in range(0, min(len(text), 11_000), 2900):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(text[start:start + 2900])}})
    table = message.get("table")
    if table and table.get("rows"):
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "```" + _slack_escape(_ascii_table(table))[:2800] + "```"}})
    notes = [n for n in (message.get("late"), message.get("follow_up"), message.get("footer")) if n]
    if notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _mrkdwn(" · ".join(notes))[:2900]}]})
    return blocks


def _slack_escape(text: str) -> str:
    """Slack reads ``<!channel>``, ``<@U…>`` and ``<https://…|label>`` in any message text, code
    blocks and the notification text included: a data cell or a reply must not ping or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> str:
    return _slack_escape(text).replace("**", "*")


# --- e-mail --------------------------------------------------------------------------------


def send_email(settings: MaraSettings, destination: str, message: dict[str, Any], png: bytes | None, *,
               owner_scopes: Collection[str], owner: str | None = None) -> str:
    """Send an HTML + plain-text e-mail over SMTP (chart inline); returns the Message-ID.

    The only place Mara talks SMTP, so the recipient rule is checked here, at every delivery,
    for the schedule's owner (``owner_scopes``: the scopes stored on the schedule; every scope is
    ``{"admin"}``, :data:`~foundation.scopes.EVERY_SCOPE`; ``None`` is none) — see
    :mod:`assistant.schedules.recipients`."""
    address = destination.split(":", 1)[1].strip()
    if not (_EMAIL.match(address) and len(address) <= 254):
        raise PermanentFailure(f"{address!r} is not an e-mail address Mara sends to.")
    try:
        check_email_recipient(settings, address, owner_scopes, owner=owner)
    except EmailRecipientRefused as err:
        raise PermanentFailure(str(err)) from err
    if not settings.smtp_host:
        raise PermanentFailure("E-mail is not configured on this server (MARA_SMTP_HOST is unset).")
    mail = EmailMessage()
    subject = (message.get("title") or "Mara briefing") + (" — " + message["subject"] if message.get("subject") else "")
    mail["Subject"] = " ".join(str(subject).split())  # one line: a name or headline with line breaks is no header
    mail["From"] = settings.smtp_from
    mail["To"] = address
    mail["Message-ID"] = make_msgid(idstring=str(message.get("run_id") or "mara"), domain="mara.local")
    mail.set_content(plain_text(message))
    cid = make_msgid(domain="mara.local")
    mail.add_alternative(email_html(message, cid[1:-1] if png else None), subtype="html")
    if png:
        html_part: Any = mail.get_payload()[1]  # type: ignore[index]
        html_part.add_related(png, "image", "png", cid=cid, filename="chart.png")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.delivery_timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user and settings.smtp_password is not None:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as err:
        raise PermanentFailure(f"The mail server refused {address}.") from err
    except smtplib.SMTPResponseException as err:
        failure = PermanentFailure if 500 <= err.smtp_code < 600 else TransientFailure
        raise failure(f"The mail server answered {err.smtp_code} for {address}.") from err
    except (smtplib.SMTPException, OSError) as err:
        raise TransientFailure(f"The mail server {settings.smtp_host}:{settings.smtp_port} could not be reached: {err}.") from err
    return str(mail["Message-ID"])


def email_html(message: dict[str, Any], chart_cid: str | None) -> str:
    esc = html.escape
    parts = [f"<h2>{esc(message.get('title') or 'Mara')}</h2>", f"<p><strong>{esc(message.get('headline') or '')}</strong></p>"]
    parts += [f"<p>{esc(line)}</p>" for line in message.get("lines", [])]
    if message.get("text"):
        parts += [f"<p>{esc(p)}</p>" for p in str(message["text"]).split("\n\n")]
    if chart_cid:
        parts.append(f'<p><img src="cid:{esc(chart_cid)}" alt="chart" style="max-width:640px"></p>')
    table = message.get("table")
    if table and table.get("rows"):
        head = "".join(f"<th>{esc(str(c))}</th>" for c in table["columns"])
        rows = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in r) + "</tr>" for r in table["rows"][:50])
        parts.append(f'<table border="1" cellpadding="4" cellspacing="0"><tr>{head}</tr>{rows}</table>')
    notes = [n for n in (message.get("late"), message.get("follow_up"), message.get("footer")) if n]
    parts += [f'<p style="color:#666;font-size:small">{esc(n)}</p>' for n in notes]
    return "<html><body>" + "\n".join(parts) + "</body></html>"


# --- webhooks ------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 of ``timestamp.body`` (what receivers recompute)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def webhook_body(message: dict[str, Any], png: bytes | None = None) -> bytes:
    """The JSON a receiver gets: the message fields (no chart bytes unless it is small)."""
    payload = {k: v for k, v in message.items() if k not in ("chart_spec",)}
    if png and len(png) <= 256_000:
        payload["chart_png_base64"] = base64.b64encode(png).decode()
    return json.dumps(payload, default=str, ensure_ascii=False, sort_keys=True).encode()


def send_webhook(settings: MaraSettings, destination: str, message: dict[str, Any], secret: str,
                 idempotency_key: str, client: httpx.Client | None = None) -> str:
    """POST the signed message once; raises Transient/PermanentFailure. Returns the status."""
    url = destination.split(":", 1)[1]
    allow = AllowList.parse(settings.webhook_allow)
    body = webhook_body(message)
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "User-Agent": "Mara-Webhooks/1",
               "X-Mara-Timestamp": stamp, "X-Mara-Signature": sign(secret, stamp, body),
               "Idempotency-Key": idempotency_key}
    own = client is None
    client = client or guarded_client(allow, settings.delivery_timeout_s)
    try:
        check_url(url, allow, resolve_host=False)
        response = client.post(url, content=body, headers=headers)
    except UnsafeDestination as err:
        raise PermanentFailure(str(err)) from err
    except httpx.TimeoutException as err:
        raise TransientFailure(f"The webhook at {_host(url)} timed out after {settings.delivery_timeout_s:g} s.") from err
    except httpx.HTTPError as err:
        raise TransientFailure(f"The webhook at {_host(url)} could not be reached: {err}.") from err
    finally:
        if own:
            client.close()
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise TransientFailure(f"The webhook at {_host(url)} answered {response.status_code}.")
    if response.status_code >= 300:
        raise PermanentFailure(f"The webhook at {_host(url)} answered {response.status_code}; not retried.")
    return str(response.status_code)


def _host(url: str) -> str:
    return httpx.URL(url).host or url


# --- plain text ------------------------------------------------------------------------------


def plain_text(message: dict[str, Any]) -> str:
    lines = [message.get("headline") or "", *message.get("lines", [])]
    if message.get("text"):
        lines += ["", str(message["text"])]
    table = message.get("table")
    if table and table.get("rows"):
        lines += ["", _ascii_table(table)]
    for note in (message.get("late"), message.get("follow_up"), message.get("footer")):
        if note:
            lines += ["", note]
    return "\n".join(lines).strip() + "\n"


def _ascii_table(table: dict[str, Any], limit: int = 20) -> str:
    columns = [str(c) for c in table.get("columns", [])]
    rows = [[_cell(v) for v in r] for r in table.get("rows", [])[:limit]]
    widths = [max([len(c)] + [len(r[i]) for r in rows if i < len(r)]) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False))]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)) for r in rows]
    more = int(table.get("row_count") or len(table.get("rows", []))) - len(rows)
    if more > 0:
        out.append(f"… {more} more rows")
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)
