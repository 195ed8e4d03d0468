"""The two explicit scope values every layer shares: :data:`EVERY_SCOPE` and :data:`NO_SCOPES`.

Scopes say what a caller may do (``chat``, ``copy``, ``data:read``, …, ``admin``; the names live in
:mod:`assistant.keys`). ``admin`` holds every other scope, so "every scope" is written as the set
``{"admin"}`` — a value a caller must *pass*: an admin key, the CLI (the machine's user) or open mode.

Why not ``None``: a default of ``None`` meaning "every scope" made any caller that forgot to pass its
scopes (a new front end, a direct call, a turn run outside the API) as powerful as an admin — able,
for one, to have Mara e-mail any address. A forgotten argument now means :data:`NO_SCOPES`.
"""

from __future__ import annotations

from collections.abc import Collection

#: Admin keys, the CLI and open mode: ``admin`` holds every scope.
EVERY_SCOPE: frozenset[str] = frozenset({"admin"})
#: What a caller that names no scopes gets: nothing beyond what needs no scope.
NO_SCOPES: frozenset[str] = frozenset()


def has_every_scope(scopes: Collection[str] | None) -> bool:
    """Whether ``scopes`` hold every scope (``admin``). ``None`` is *not* every scope."""
    return scopes is not None and "admin" in scopes
