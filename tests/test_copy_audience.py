"""Per-segment drafting and rendering a saved audience's messages with opt-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from foundation.errors import ToolInputError
from tools.copywriting.audience import draft_for_segments, render_audience


def test_draft_for_segments_frames_each_segment() -> None:
    sets = draft_for_segments("email", "Spring collection preview", ["At Risk", "Champions"], variants=2)
    assert set(sets) == {"At Risk", "Champions"}
    assert "been a while" in sets["At Risk"].variants[0]["body"]
    assert sets["At Risk"].variants[0]["body"] != sets["Champions"].variants[0]["body"]
    with pytest.raises(ToolInputError):
        draft_for_segments("email", "x", [])


def _audience(settings: Any, sql: str) -> Any:
    from tools.audiences import save_audience
    from tools.warehouse import open_warehouse

    wh = open_warehouse(settings)
    save_audience(wh, settings.home, "test", "query", {"sql": sql})
    return wh


def test_render_audience_only_opted_in(settings: Any, tmp_path: Path) -> None:
    wh = _audience(settings, "SELECT customer_id FROM customers")
    text = "Alder & Peak: Hi {{first_name|there}}, news for {{city}}. Reply STOP to opt out"
    out = render_audience(wh, settings.home, "test", "sms", {"text": text}, tmp_path / "sms.csv")
    assert out["rows"] == 3 and out["excluded_no_opt_in"] == 3  # customers 1, 4, 6 opted in
    frame = pd.read_csv(tmp_path / "sms.csv")
    assert list(frame["text"])[0] == "Alder & Peak: Hi Anna, news for Berlin. Reply STOP to opt out"
    assert out["preview"][0]["customer_id"] in ("1", 1)


def test_render_audience_no_opt_in_is_an_error(settings: Any, tmp_path: Path) -> None:
    wh = _audience(settings, "SELECT customer_id FROM customers WHERE customer_id IN (2, 3)")
    with pytest.raises(ToolInputError, match="opted in to sms"):
        render_audience(wh, settings.home, "test", "sms", {"text": "Hi"}, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_render_audience_unknown_merge_field(settings: Any, tmp_path: Path) -> None:
    wh = _audience(settings, "SELECT customer_id FROM customers")
    with pytest.raises(ToolInputError, match="shoe_size"):
        render_audience(wh, settings.home, "test", "email", {"subject": "{{shoe_size}}"}, tmp_path / "e.csv")
