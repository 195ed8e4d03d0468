"""The README's settings table is generated from MaraSettings and kept in step with it."""

from __future__ import annotations

from pathlib import Path

from foundation.settings import MaraSettings
from foundation.settings_table import END, REGENERATE, START, markdown_table, replace_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_settings_table_matches_the_settings_class() -> None:
    text = README.read_text(encoding="utf-8")
    assert replace_table(text, markdown_table()) == text, (
        f"The README settings table differs from MaraSettings. Regenerate it: {REGENERATE}"
    )


def test_every_setting_says_what_it_is_for() -> None:
    assert [n for n, f in MaraSettings.model_fields.items() if not f.description] == []


def test_the_table_names_the_variable_and_its_aliases() -> None:
    row = next(line for line in markdown_table().splitlines() if "OPENAI_API_KEY" in line)
    assert row.startswith("| `MARA_LLM_API_KEY`, `OPENAI_API_KEY` | – |")


def test_only_the_marked_block_is_replaced() -> None:
    text = f"intro\n{START}\nold table\n{END}\noutro\n"
    assert replace_table(text, "new\n") == f"intro\n{START}\nnew\n{END}\noutro\n"
