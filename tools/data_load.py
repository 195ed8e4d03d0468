"""Loading files into the embedded warehouse (``mara data load``) — the only write path, never the agent's.

A table is created under a temporary name and swapped in inside one transaction,
so a failed load never leaves a half-loaded or missing table.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import DataLoadError

READERS = {
    ".csv": "read_csv_auto({path}, header=true, skip=0, delim=',', sample_size=-1)",
    ".tsv": "read_csv_auto({path}, header=true, skip=0, delim='\\t', sample_size=-1)",
    ".txt": "read_csv_auto({path}, header=true, skip=0, sample_size=-1)",
    ".parquet": "read_parquet({path})",
    ".pq": "read_parquet({path})",
    ".jsonl": "read_json_auto({path}, format='newline_delimited')",
    ".ndjson": "read_json_auto({path}, format='newline_delimited')",
    ".json": "read_json_auto({path})",
}


@dataclass(frozen=True, slots=True)
class LoadReport:
    table: str
    rows: int
    columns: list[dict[str, str]]
    replaced: bool


def table_name_for(path: Path) -> str:
    """A safe table name from a file name: ``Customer List (2025).csv`` → ``customer_list_2025``."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", path.stem).strip("_").lower()
    if not name or name[0].isdigit():
        name = f"t_{name}"
    return name


def load_file(database: Path, path: Path, table: str | None = None, *, replace: bool = False) -> LoadReport:
    """Load ``path`` (CSV, TSV, Parquet, JSON lines) into ``table`` of the DuckDB file ``database``."""
    import duckdb

    path = Path(path)
    if not path.is_file():
        raise DataLoadError(f"No file at {path}.", hint="Give the path of a CSV, TSV, Parquet or JSON-lines file.")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataLoadError(
            f"Unsupported file type '{path.suffix or '(none)'}' for {path.name}.",
            hint=f"Accepted: {', '.join(sorted(READERS))}.",
        )
    if path.stat().st_size == 0:
        raise DataLoadError(f"{path.name} is empty.", hint="Export the data again with a header row and at least one row.")
    name = table or table_name_for(path)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise DataLoadError(f"'{name}' is not a valid table name.", hint="Use letters, digits and underscores, starting with a letter.")
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(database))
    except duckdb.Error as err:
        raise DataLoadError(f"Cannot open the warehouse {database}: {str(err).splitlines()[0]}") from err
    staging = f"__loading_{name}"
    try:
        existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='main'").fetchall()}
        if name in existing and not replace:
            raise DataLoadError(
                f"Table '{name}' already exists.", hint="Pass --replace to replace it, or --table NAME to load under another name."
            )
        source = reader.format(path="'" + str(path).replace("'", "''") + "'")
        try:
            con.execute(f'CREATE OR REPLACE TABLE "{staging}" AS SELECT * FROM {source}')
        except duckdb.Error as err:
            raise DataLoadError(f"Cannot read {path.name}: {str(err).splitlines()[0]}", hint="Check the file's encoding (UTF-8), delimiter and that every row has the same columns.") from err
        columns = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [staging],
        ).fetchall()
        (rows,) = con.execute(f'SELECT count(*) FROM "{staging}"').fetchone() or (0,)
        if not columns or rows == 0:
            con.execute(f'DROP TABLE "{staging}"')
            raise DataLoadError(f"{path.name} has no data rows.", hint="A header row and at least one data row are needed.")
        con.execute("BEGIN TRANSACTION")
        if name in existing:
            con.execute(f'DROP TABLE "{name}"')
        con.execute(f'ALTER TABLE "{staging}" RENAME TO "{name}"')
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        with contextlib.suppress(duckdb.Error):
            con.execute(f'DROP TABLE IF EXISTS "{staging}"')
        raise
    finally:
        con.close()
    return LoadReport(name, int(rows), [{"name": c, "type": t} for c, t in columns], name in existing)
