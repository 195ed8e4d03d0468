"""``mara keys create|list|revoke``: API keys for ``mara serve``.

Mount with ``app.add_typer(keys_app, name="keys")`` in :mod:`assistant.cli`. ``create --json``
prints ``{"key", "id", "name", "scopes", "created"}`` once — the key is stored only as a salted
hash. Errors are :class:`~foundation.errors.MaraError` subclasses (one line from the main CLI).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

keys_app = typer.Typer(
    help="API keys for the REST API and web chat: create (shown once), list, revoke.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _store() -> Any:
    # lazy: pydantic, pydantic_settings load slowly; only this path needs them
    from assistant.keys import KeyStore
    from foundation.settings import get_settings

    return KeyStore.for_home(get_settings().home)


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="A unique name, e.g. 'crm-sync' or 'ana'.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="Repeat or comma-separate: chat, copy, data:read, data:write, kb:write, admin "
            "(default: chat, copy, data:read).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API key. It is printed once; only a salted hash is kept."""
    info, key = _store().create(name, scope)
    if as_json:
        _emit(
            {
                "key": key,
                **{
                    k: v
                    for k, v in info.to_dict().items()
                    if k in ("id", "name", "scopes", "created")
                },
            }
        )
        return
    sys.stdout.write(key + "\n")
    sys.stderr.write(
        f"Created key '{info.name}' (id {info.id}, scopes: {', '.join(info.scopes)}). "
        "Copy it now: it is not shown again.\n"
        "Use it as 'Authorization: Bearer <key>' or sign in to the web chat with it.\n"
    )


@keys_app.command("list")
def keys_list(as_json: JsonFlag = False) -> None:
    """List keys (never the keys themselves): name, id, scopes, created, last used, revoked."""
    keys = [k.to_dict() for k in _store().list()]
    if as_json:
        _emit(keys)
        return
    if not keys:
        sys.stderr.write("No API keys yet. Create one with: mara keys create --name NAME\n")
        return
    # lazy: rich loads slowly; only this path needs it
    from rich.console import Console
    from rich.table import Table

    view = Table("name", "id", "scopes", "created", "last used", "status")
    for k in keys:
        view.add_row(
            k["name"],
            k["id"],
            ", ".join(k["scopes"]),
            k["created"],
            k["last_used"] or "never",
            "revoked " + k["revoked"] if k["revoked"] else "active",
        )
    Console().print(view)


@keys_app.command("revoke")
def keys_revoke(
    name_or_id: Annotated[str, typer.Argument(metavar="NAME|ID", help="The key's name or id.")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key: requests with it get 401 from then on (sessions signed in with it too)."""
    info = _store().revoke(name_or_id)
    if as_json:
        _emit(info.to_dict())
    else:
        sys.stderr.write(f"Revoked key '{info.name}' (id {info.id}).\n")
