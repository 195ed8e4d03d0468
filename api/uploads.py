"""The one check every upload route makes on a file's name: which file type it is."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from api.errors import ApiError


def base_name(raw: str | None) -> str:
    """The file name an upload was sent with, without any folder part (``/`` or ``\\``)."""
    return Path((raw or "").replace("\\", "/")).name


def upload_name(raw: str | None, accepted: Collection[str], kind: str = "file") -> str:
    """The upload's :func:`base_name`; 415 naming the accepted suffixes when its suffix is not
    one of ``accepted`` (lower-case, with the dot)."""
    name = base_name(raw)
    suffix = Path(name).suffix.lower()
    if suffix not in accepted:
        raise ApiError(
            415,
            "unsupported_file_type",
            f"Unsupported {kind} type '{suffix or '(none)'}' for {name or 'the upload'}. "
            f"Accepted: {', '.join(sorted(accepted))}.",
        )
    return name
