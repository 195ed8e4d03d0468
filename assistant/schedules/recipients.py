"""Who may have Mara e-mail which address: the one rule every e-mail goes through.

The sender of a scheduled e-mail is the workspace's own mail server, so a schedule's owner who
could name any address could use Mara to mail the workspace's data (or just mail in its name)
anywhere. The rule:

- an owner with every scope — an ``admin`` key, the CLI (the machine's user) or open mode —
  may e-mail any address;
- everyone else (``chat`` keys, Slack users with ``MARA_SLACK_SCOPES``) only addresses on the
  admin's allow-list ``MARA_EMAIL_ALLOW``: a domain (``example.com``), its subdomains
  (``*.example.com``) or one address (``ana@partner.example``). Default: none.

:func:`check_email_recipient` is called when a schedule is made (:func:`assistant.schedules.new_schedule`,
whichever front end asks: REST, chat, Slack, CLI) for a clear refusal, and again by the only
sender (:func:`assistant.schedules.destinations.send_email`) at every delivery, with the scopes
stored on the schedule — so a schedule made before the rule, or before the allow-list was
narrowed, is held to it too.
"""

from __future__ import annotations

from collections.abc import Collection

from assistant.schedules.cadence import ScheduleInputError
from foundation.scopes import has_every_scope
from foundation.settings import MaraSettings, email_allow_entries


class EmailRecipientRefused(ScheduleInputError):
    """An e-mail address the schedule's owner may not have Mara write to (HTTP 403)."""

    http_status = 403
    error_type = "email_recipient_not_allowed"


def may_email_anyone(scopes: Collection[str] | None) -> bool:
    """Owners with every scope (``admin``: admin keys, the CLI, open mode pass
    :data:`~foundation.scopes.EVERY_SCOPE`). Unknown scopes (``None``) are not every scope."""
    return has_every_scope(scopes)


def allowed_by_list(address: str, entries: Collection[str]) -> bool:
    """Whether ``address`` is on the allow-list: the address itself, its domain, or a
    ``*.`` pattern its domain is a subdomain of. A local part with ``%`` never matches a
    domain entry: some relays still forward ``victim%evil.example@example.com`` to evil.example."""
    address = address.strip().lower()
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        return False
    if address in entries:
        return True
    if "%" in local or "!" in local:
        return False
    return any(domain == e or (e.startswith("*.") and domain.endswith(e[1:])) for e in entries if "@" not in e)


def check_email_recipient(settings: MaraSettings, address: str, scopes: Collection[str] | None, *,
                          owner: str | None = None) -> None:
    """Raise :class:`EmailRecipientRefused` naming the address and how to allow it, unless
    an owner with ``scopes`` may have Mara e-mail ``address``."""
    if may_email_anyone(scopes) or allowed_by_list(address, email_allow_entries(settings.email_allow)):
        return
    who = f"{owner} (scopes: {', '.join(sorted(scopes or ())) or 'none'})" if owner else "this caller"
    raise EmailRecipientRefused(
        f"E-mail to {address} is not allowed for {who}: only admin keys may name any address, "
        "others only addresses and domains on MARA_EMAIL_ALLOW.",
        hint=f"An admin can allow it (MARA_EMAIL_ALLOW={address.rpartition('@')[2]} or ={address}) or make the "
        "schedule with an admin key or 'mara schedule add'.",
    )
