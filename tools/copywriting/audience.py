"""Copy for saved audiences: per-segment variant sets, per-customer rendering with opt-in.

``render_audience`` exports a saved audience's members (only those opted in to the channel
when the customers table has ``<channel>_opt_in``), renders one message per customer,
writes them to CSV atomically and returns counts plus a preview. An audience in which no
one opted in is a :class:`ToolInputError`, never an empty file.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from foundation.errors import ToolInputError
from foundation.settings import open_private, private_dir
from tools.copywriting.channels import get_channel, merge_fields_in
from tools.copywriting.checks import field_texts
from tools.copywriting.drafting import CopyResult, draft_copy
from tools.copywriting.personalize import preview, render_for_customers
from tools.copywriting.profile import AudienceProfile
from tools.csv_safety import safe_frame

OPT_IN_CHANNELS = ("email", "sms")


def draft_for_segments(
    channel: str, brief: str, segments: Sequence[str],
    profiles: Mapping[str, AudienceProfile] | None = None, **kwargs: Any,
) -> dict[str, CopyResult]:
    """One variant set per segment (framing and angles follow each segment's profile), in one call.

    ``profiles`` maps a segment name to its :class:`AudienceProfile` (e.g. from
    :func:`~tools.copywriting.profile.segment_profile`); segments without one are framed by name.
    """
    if not segments:
        raise ToolInputError("Give at least one segment name.")
    profiles = profiles or {}
    return {segment: draft_copy(channel, brief, segment=segment, profile=profiles.get(segment), **kwargs)
            for segment in segments}


def render_audience(
    source: Any,
    home: Path,
    audience: str,
    channel: str,
    template_fields: Mapping[str, Any],
    out_path: Path,
    *,
    fallbacks: Mapping[str, str] | None = None,
    preview_rows: int = 5,
    raw_csv: bool = False,
) -> dict[str, Any]:
    """Render ``template_fields`` for every opted-in member of ``audience`` into ``out_path``.

    The CSV is owner-only and formula-neutralised (:mod:`tools.csv_safety`) unless ``raw_csv``.
    """
    # lazy: sqlglot loads slowly; only this path needs it
    from tools.audiences import export_audience

    spec = get_channel(channel)
    used = sorted({n for t in field_texts(dict(template_fields)) for n in merge_fields_in(t)})
    columns = ["customer_id", *[u for u in used if u != "customer_id"]]
    with tempfile.TemporaryDirectory() as tmp:
        members_csv = Path(tmp) / "members.csv"
        try:
            counts = export_audience(
                source, home, audience, members_csv, columns=columns,
                channel=spec.name if spec.name in OPT_IN_CHANNELS else None,
                raw=True,  # read back below, not opened by a person
            )
        except ToolInputError as err:
            if "column" in str(err) and used:
                raise ToolInputError(
                    f"A merge field is not a customers column: {err}",
                    hint="Use {{field|fallback}} or one of the customers columns.",
                ) from err
            raise
        rows = pd.read_csv(members_csv, dtype=str, keep_default_na=False)
    if rows.empty:
        if counts.get("excluded_no_opt_in"):
            raise ToolInputError(
                f"No member of audience {audience!r} has opted in to {spec.name} "
                f"({counts['excluded_no_opt_in']} excluded).", hint="Pick another channel or audience.",
            )
        raise ToolInputError(f"Audience {audience!r} has no members in the customers table.")
    rendered = render_for_customers(
        template_fields, rows, fallbacks, max_value_chars=spec.merge_field_width,
        gsm7=spec.sms is not None,
    )
    out_path = Path(out_path)
    private_dir(out_path.parent)
    tmp_out = out_path.with_name(f".{out_path.name}.tmp")
    with open_private(tmp_out, "w", newline="", encoding="utf-8") as handle:
        safe_frame(rendered, raw=raw_csv).to_csv(handle, index=False, quoting=csv.QUOTE_MINIMAL)
    tmp_out.replace(out_path)
    return {
        "audience": audience, "channel": spec.name, "path": str(out_path), "rows": int(len(rendered)),
        "excluded_no_opt_in": int(counts.get("excluded_no_opt_in", 0)),
        "preview": preview(rendered, preview_rows),
    }
