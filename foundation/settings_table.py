"""The README's settings table, generated from :class:`~foundation.settings.MaraSettings`.

``python -m foundation.settings_table`` prints it; ``--write README.md`` replaces the table
between the ``<!-- settings-table -->`` markers. ``tests/test_settings_table.py`` fails when the
README drifts from the class, so a new setting is documented by its ``Field(description=...)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from foundation.settings import MaraSettings

START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"
REGENERATE = "python -m foundation.settings_table --write README.md"


def _variables(name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"MARA_{name.upper()}"]


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is None or value in ("", [], {}, ()):
        return "–"
    return f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def markdown_table() -> str:
    """One row per setting: its variable(s), default and description, in class order."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in MaraSettings.model_fields.items():
        variables = ", ".join(f"`{v}`" for v in _variables(name, field))
        rows.append(f"| {variables} | {_cell(_default(field))} | {_cell(field.description or '')} |")
    return "\n".join(rows) + "\n"


def replace_table(text: str, table: str) -> str:
    """``text`` with the block between the markers replaced by ``table``."""
    start, end = text.index(START) + len(START), text.index(END)
    return text[:start] + "\n" + table + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="README", type=Path, help="update the table in this file")
    args = parser.parse_args(argv)
    table = markdown_table()
    if args.write is None:
        sys.stdout.write(table)
        return 0
    text = args.write.read_text(encoding="utf-8")
    args.write.write_text(replace_table(text, table), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
