"""Loading files into the embedded warehouse (``mara data load``) — the only write path, never the agent's.

A table is created under a temporary name, its types refined (money strings such as
``$1,234.50`` become numbers, ``03/15/2025`` becomes a DATE, midnight-only timestamps
become dates) and swapped in inside one transaction, so a failed load never leaves a
half-loaded or missing table.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.errors import DataLoadError
from foundation.settings import make_private, private_dir
from tools.schema_profile import (
    CODE_WORDS,
    FLAG_HINTS,
    ID_WORDS,
    MONEY_WORDS,
    NO_VALUES,
    YES_VALUES,
    name_words,
)

if TYPE_CHECKING:
    import duckdb

_CSV = "read_csv({path}, header=true, auto_detect=true, sample_size=-1, encoding={encoding}{delim})"
READERS = {
    ".csv": _CSV.replace("{delim}", ", delim=','"),
    ".tsv": _CSV.replace("{delim}", ", delim='\\t'"),
    ".txt": _CSV.replace("{delim}", ""),
    ".parquet": "read_parquet({path})",
    ".pq": "read_parquet({path})",
    ".jsonl": "read_json_auto({path}, format='newline_delimited')",
    ".ndjson": "read_json_auto({path}, format='newline_delimited')",
    ".json": "read_json_auto({path})",
    ".xlsx": "excel",  # read with openpyxl (pandas), then handed to DuckDB
    ".xlsm": "excel",
}
ENCODINGS = ("utf-8", "latin-1", "utf-16")
# money written as text: "$1,234.50", "€ 12.00", "(45.10)" (an accounting negative), "-3,000", "USD 12",
# "12.00 EUR"; and in European notation "1.234,50 €", "5,00 €" (decimal comma)
_CURRENCY_TEXT = r"(USD|EUR|GBP|CAD|AUD|CHF|JPY|US\$|[$€£¥])"
_MONEY_SHAPE = r"^\(?\s*[-+]?\s*{cur}?\s*[-+]?\s*({num})\s*{cur}?\s*\)?$"
_MONEY_TEXT = _MONEY_SHAPE.format(cur=_CURRENCY_TEXT, num=r"\d{1,3}(,\d{3})+(\.\d{1,4})?|\d+(\.\d{1,4})?")
_MONEY_TEXT_EU = _MONEY_SHAPE.format(cur=_CURRENCY_TEXT, num=r"\d{1,3}(\.\d{3})+(,\d{1,4})?|\d+(,\d{1,4})?")
_MONEY_MARK = r"[$€£¥()]|USD|EUR|GBP|CAD|AUD|CHF|JPY|\d,\d{3}"
_CURRENCY_MARK = r"[$€£¥()]|USD|EUR|GBP|CAD|AUD|CHF|JPY"
# a checkbox column: one mark where it holds, blank where it does not
_CHECK_MARKS = ("✓", "✔", "☑", "✅", "x", "X", "*", "•", "●")
# Unix time: seconds, milliseconds or microseconds since 1970, between 2000 and 2100
_EPOCH_RANGES = ((946_684_800, 4_102_444_800, 1_000_000, "seconds"), (946_684_800_000, 4_102_444_800_000, 1_000, "milliseconds"),
                 (946_684_800_000_000, 4_102_444_800_000_000, 1, "microseconds"))
_TIME_WORDS = frozenset({"time", "timestamp", "ts", "epoch", "unix", "created", "updated", "modified", "at", "when", "date"})
_DATE_FORMATS = ("%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y", "%b %d, %Y", "%d %b %Y", "%B %d, %Y",
                 "%Y-%m-%d", "%m/%d/%y", "%d/%m/%y", "%d.%m.%y")
_FLIPPED = {"%m/%d/%Y": "%d/%m/%Y", "%m-%d-%Y": "%d-%m-%Y", "%m/%d/%y": "%d/%m/%y"}
# what an export writes where a value is missing: "--" (Google Ads' ratio without a denominator), "n/a"
_EMPTY_TOKENS = ("--", "-", "—", "–", "n/a", "N/A", "NA", "null", "NULL", "None", "none", "#N/A")
# date and time written as text: kept as TIMESTAMP (wall-clock time as written)
_DATETIME_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                     "%d.%m.%Y %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p",
                     "%d/%m/%Y %I:%M %p", "%b %d, %Y %I:%M %p", "%b %d, %Y %H:%M", "%d %b %Y %H:%M",
                     # two-digit years (Toast's "11/3/25 11:01 AM"): %y pivots 00–68 to 20xx, 69–99 to 19xx
                     "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M", "%d/%m/%y %I:%M %p", "%d/%m/%y %H:%M", "%d.%m.%y %H:%M")
_FLIPPED_TIMES = {"%m/%d/%Y %H:%M": "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S": "%d/%m/%Y %H:%M:%S",
                  "%m/%d/%Y %I:%M %p": "%d/%m/%Y %I:%M %p", "%m/%d/%y %I:%M %p": "%d/%m/%y %I:%M %p",
                  "%m/%d/%y %H:%M": "%d/%m/%y %H:%M"}
# a parsed year outside this range is a misread (a two-digit year read as the year 25), not a date
_PLAUSIBLE_YEARS = (1900, 2100)
# "2024-10-10 16:24:42 -0400": an ISO time with its UTC offset; the local time as written is kept
_OFFSET_TIME = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?\s*(Z|UTC|[+-]\d{2}:?\d{2})$"
ProgressCallback = Callable[[float], None]
_YES = ", ".join(f"'{v}'" for v in YES_VALUES)
_NO = ", ".join(f"'{v}'" for v in NO_VALUES)


@dataclass(frozen=True, slots=True)
class LoadReport:
    table: str
    rows: int
    columns: list[dict[str, str]]
    replaced: bool
    notes: list[str] = field(default_factory=list)  # type decisions worth a look ("price: money text → DECIMAL")
    money_columns: list[str] = field(default_factory=list)  # columns that held money written as text


def table_name_for(path: Path) -> str:
    """A safe table name from a file name: ``Customer List (2025).csv`` → ``customer_list_2025``."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", path.stem).strip("_").lower()
    if not name or name[0].isdigit():
        name = f"t_{name}"
    return name


def load_file(
    database: Path,
    path: Path,
    table: str | None = None,
    *,
    replace: bool = False,
    encoding: str = "utf-8",
    progress: ProgressCallback | None = None,
) -> LoadReport:
    """Load ``path`` (CSV, TSV, Parquet, JSON lines, Excel) into ``table`` of the DuckDB file ``database``.

    Raises :class:`DataLoadError` for a missing, empty, unsupported or malformed file, an
    invalid or taken table name (without ``replace``); the warehouse is then unchanged.
    ``progress`` receives the percentage read so far.
    """
    # lazy: duckdb loads slowly; only this path needs it
    import duckdb

    path = Path(path)
    if not path.is_file():
        raise DataLoadError(f"No file at {path}.", hint=f"Give the path of a file of type {', '.join(sorted(READERS))}.")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataLoadError(
            f"Unsupported file type '{path.suffix or '(none)'}' for {path.name}.",
            hint=f"Accepted: {', '.join(sorted(READERS))}.",
        )
    if encoding.lower() not in ENCODINGS:
        raise DataLoadError(f"Unsupported encoding '{encoding}'.", hint=f"Accepted: {', '.join(ENCODINGS)}.")
    if path.stat().st_size == 0 or (path.suffix.lower() in (".csv", ".tsv", ".txt", ".jsonl", ".ndjson") and not path.read_bytes()[:65536].strip()):
        raise DataLoadError(f"{path.name} is empty.", hint="Export the data again with a header row and at least one row.")
    name = table or table_name_for(path)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name) or name.startswith("__"):
        raise DataLoadError(f"'{name}' is not a valid table name.", hint="Use letters, digits and underscores, starting with a letter.")
    private_dir(database.parent)
    # lazy: tools.warehouse pulls in sqlglot; only this path needs it
    from tools.warehouse import _connect_when_free

    try:  # a running server's question may hold the file a moment: wait for it, do not fail
        con = _connect_when_free(lambda: duckdb.connect(str(database)))
        make_private(database)
    except duckdb.Error as err:
        raise DataLoadError(f"Cannot open the warehouse {database}: {str(err).splitlines()[0]}") from err
    staging = f"__loading_{name}"
    try:
        existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='main'").fetchall()}
        if name in existing and not replace:
            raise DataLoadError(
                f"Table '{name}' already exists.", hint="Pass --replace to replace it, or --table NAME to load under another name."
            )
        _read_into(con, staging, path, reader, encoding, progress)
        columns = _columns(con, staging)
        (rows,) = con.execute(f'SELECT count(*) FROM "{staging}"').fetchone() or (0,)
        if not columns or rows == 0:
            if path.suffix.lower() in (".csv", ".tsv", ".txt"):
                ragged = _ragged_row(path, "\t" if path.suffix.lower() == ".tsv" else ",", encoding)
                if ragged is not None:
                    raise _ragged_error(path, ragged)
            raise DataLoadError(f"{path.name} has no data rows.", hint="A header row and at least one data row are needed.")
        _check_header(columns, path)
        notes = _tidy_names(con, staging, columns)
        columns = _columns(con, staging)
        notes += _drop_summary_rows(con, staging, columns)
        notes += _refine_types(con, staging, columns)
        columns = _columns(con, staging)
        (rows,) = con.execute(f'SELECT count(*) FROM "{staging}"').fetchone() or (0,)  # summary rows left out
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
    money = [n.split(":", 1)[0] for n in notes if ": money written as text" in n]
    return LoadReport(name, int(rows), [{"name": c, "type": t} for c, t in columns], name in existing, notes, money)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return [
        (str(c), str(t))
        for c, t in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]


def _read_into(
    con: duckdb.DuckDBPyConnection, staging: str, path: Path, reader: str, encoding: str, progress: ProgressCallback | None
) -> None:
    # lazy: duckdb loads slowly; only this path needs it
    import duckdb

    if reader == "excel":
        _read_excel(con, staging, path)
        return
    source = reader.format(path=_string(str(path)), encoding=_string(encoding))
    if reader.startswith("read_csv"):
        source = _csv_source(con, source, path, encoding)
    error: list[BaseException] = []

    def run() -> None:
        try:
            con.execute(f'CREATE OR REPLACE TABLE "{staging}" AS SELECT * FROM {source}')
        except BaseException as err:  # re-raised in the caller's thread
            error.append(err)

    worker = threading.Thread(target=run, name="mara-data-load", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
        if progress is not None:
            with contextlib.suppress(duckdb.Error, AttributeError):
                percent = float(con.query_progress())
                if percent >= 0:
                    progress(min(percent, 99.0))
    if error:
        err = error[0]
        if isinstance(err, duckdb.Error):
            raise _read_error(err, path, encoding) from err
        raise err


def _csv_source(con: duckdb.DuckDBPyConnection, source: str, path: Path, encoding: str) -> str:
    """``source`` adjusted to what DuckDB's sniffer saw in the file's first rows: a semicolon-separated
    export (Excel in much of Europe) is read with ';'; a date column written 03/04/2025, or with a two-digit year
    anywhere (13/02/25, which the sniffer reads as 2013-02-25), is read as text,
    so that its values, all of them, decide day/month against month/day (:func:`_refine_types`) and the
    load says which — the sniffer would pick one silently."""
    # lazy: duckdb loads slowly; only this path needs it
    import duckdb

    options = source[len("read_csv("):-1]
    try:
        sniffed = con.execute(f"SELECT Delimiter, DateFormat, TimestampFormat, Columns FROM sniff_csv({options.replace(', sample_size=-1', '')})").fetchone()
    except duckdb.Error:
        return source  # the read itself reports what is wrong
    if sniffed is None:
        return source
    delimiter, date_format, time_format, columns = sniffed
    if path.suffix.lower() == ".csv" and delimiter == ",":
        with contextlib.suppress(OSError, UnicodeDecodeError, duckdb.Error):
            head = path.read_text(encoding=encoding.replace("latin-1", "latin_1"), errors="strict")[:4096].splitlines()
            first = next((line for line in head if line.strip()), "")
            if first.count(";") >= 1 and "," not in first:
                return _csv_source(con, source.replace(", delim=','", ", delim=';'"), path, encoding)
    text: list[str] = []
    for fmt, kind in ((date_format, "DATE"), (time_format, "TIMESTAMP")):
        if fmt and (re.match(r"%[dm]\W%[dm]", fmt) or "%y" in fmt):  # 13/02/25 is no year 2013 (the sniffer's %y/%m/%d)
            text += [c["name"] for c in columns or [] if c["type"] == kind]
    if not text:
        return source
    types = "{" + ", ".join(f"{_string(n)}: 'VARCHAR'" for n in text) + "}"
    return source[:-1] + f", types={types})"


def _read_excel(con: duckdb.DuckDBPyConnection, staging: str, path: Path) -> None:
    try:
        # lazy: optional dependency (its ImportError is handled here)
        import pandas as pd

        frame = pd.read_excel(path, sheet_name=0, engine="openpyxl")
    except ImportError as err:
        raise DataLoadError("Reading Excel files needs the 'openpyxl' package.", hint="pip install openpyxl") from err
    except Exception as err:  # openpyxl raises many types for a broken workbook
        raise DataLoadError(f"Cannot read {path.name} as an Excel workbook: {err}",
                            hint="Save it again as .xlsx, or export the sheet as CSV.") from err
    frame = frame.dropna(axis=1, how="all").dropna(axis=0, how="all")
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataLoadError(f"The first sheet of {path.name} has no data rows.", hint="Put a header row and data on the first sheet.")
    for column in frame.columns:  # mixed object columns (numbers and text) load as text
        if frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: None if v is None or v != v else str(v))
    con.register("__excel_frame", frame)
    try:
        con.execute(f'CREATE OR REPLACE TABLE "{staging}" AS SELECT * FROM __excel_frame')
    finally:
        con.unregister("__excel_frame")


def _check_header(columns: list[tuple[str, str]], path: Path) -> None:
    names = [c for c, _ in columns]
    generated = [n for n in names if re.fullmatch(r"(column\d+|Unnamed: \d+)", n)]
    if generated and len(generated) == len(names):
        raise DataLoadError(f"{path.name} has no header row (columns came out as {', '.join(names[:4])} …).",
                            hint="Add a first row naming the columns.")


def _tidy_names(con: duckdb.DuckDBPyConnection, staging: str, columns: list[tuple[str, str]]) -> list[str]:
    """Dots out of column names (``Impr.``, ``Avg. CPC`` in ad reports): a dot would read as table.column."""
    taken = {c.lower() for c, _ in columns}
    notes = []
    for name, _ in columns:
        if "." not in name:
            continue
        tidy = re.sub(r"\s+", " ", name.replace(".", " ")).strip()
        if not tidy or tidy.lower() in taken:
            continue
        con.execute(f'ALTER TABLE "{staging}" RENAME COLUMN {_ident(name)} TO {_ident(tidy)}')
        taken.add(tidy.lower())
        notes.append(f"{tidy}: renamed from '{name}' (a dot in a name would read as table.column)")
    return notes


_SUMMARY_ROW = r"^\s*(total|totals|grand total|sum|summary)\s*(:.*)?$"


def _drop_summary_rows(con: duckdb.DuckDBPyConnection, staging: str, columns: list[tuple[str, str]]) -> list[str]:
    """Report exports (Google Ads, Meta, a spreadsheet) end with "Total: Campaigns" rows that repeat the
    sum of the rows above: kept, every total would count everything twice. Such rows (the first column
    reads Total, Totals, Grand total, Sum or Summary, alone or before a colon; at most three) are left out."""
    first = columns[0][0] if columns and columns[0][1] == "VARCHAR" else None
    if first is None:
        return []
    q = _ident(first)
    found = con.execute(f'SELECT count(*), count(*) FILTER (WHERE regexp_matches(lower({q}), {_string(_SUMMARY_ROW)})) '
                        f'FROM "{staging}"').fetchone() or (0, 0)
    rows, summary = int(found[0]), int(found[1])
    if not summary or summary > 3 or summary >= rows:
        return []
    con.execute(f'DELETE FROM "{staging}" WHERE regexp_matches(lower({q}), {_string(_SUMMARY_ROW)})')
    return [f"{first}: {summary} summary row{'s' if summary > 1 else ''} (\"Total …\") left out, so totals are not counted twice"]


def _refine_types(con: duckdb.DuckDBPyConnection, staging: str, columns: list[tuple[str, str]]) -> list[str]:
    """Money text → DECIMAL, date text → DATE, yes/no text and check marks → BOOLEAN, Unix time and
    time-zoned timestamps → TIMESTAMP (UTC), midnight-only TIMESTAMP → DATE (in place).

    One scan of the staging table counts, for every text column, the non-null values, the
    money-shaped ones (US and European notation) and those each date format parses; for
    timestamps, those with a time; for integers named for a time, their range. The values
    decide, the name only breaks ties: a column is converted when every value fits.
    """
    probes: list[str] = []
    for name, dtype in columns:
        q = _ident(name)
        t = f"trim({q})"
        if dtype == "VARCHAR":
            empty = ", ".join(_string(v) for v in _EMPTY_TOKENS)
            probes += [f"count({q}) - count(*) FILTER (WHERE {t} IN ({empty}))",
                       f"count(*) FILTER (WHERE regexp_matches({t}, {_string(_MONEY_TEXT)}))",
                       f"count(*) FILTER (WHERE regexp_matches({t}, {_string(_MONEY_TEXT_EU)}))",
                       f"count(*) FILTER (WHERE regexp_matches({t}, {_string(_MONEY_MARK)}))",
                       f"count(*) FILTER (WHERE regexp_matches({t}, {_string(_CURRENCY_MARK)}))",
                       f"count(*) FILTER (WHERE regexp_matches({t}, '^-?[0-9]{{1,3}}(,[0-9]{{3}})*$'))"]
            probes += [_parses(t, fmt) for fmt in _DATE_FORMATS + _DATETIME_FORMATS]
            # "11,70", "1.234,5": a decimal comma (one or two digits after it; "12,345" is a thousands comma)
            probes.append(f"count(*) FILTER (WHERE regexp_matches({t}, '[0-9],[0-9]{{1,2}}([^0-9]|$)'))")
            probes.append(f"count(*) FILTER (WHERE regexp_matches({t}, {_string(_OFFSET_TIME)}))")
            probes.append(f"count(*) FILTER (WHERE regexp_matches({t}, '^-?[0-9]+([.][0-9]+)?[ ]?%$'))")
            norm = f"lower({t})"
            probes += [f"count(*) FILTER (WHERE {norm} IN ({_YES}))", f"count(*) FILTER (WHERE {norm} IN ({_NO}))"]
            marks = ", ".join(_string(m) for m in _CHECK_MARKS)
            probes += [f"count(*) FILTER (WHERE {t} IN ({marks}))", f"count(DISTINCT {t})", "count(*)"]
        elif dtype.startswith("TIMESTAMP") and "TIME ZONE" not in dtype:
            probes.append(f"count(*) FILTER (WHERE {q} IS NOT NULL AND CAST({q} AS TIME) <> TIME '00:00:00')")
        elif dtype == "BOOLEAN":  # "Yes" or blank, read by DuckDB itself: blank means no
            probes += [f"count({q})", f"count(*) FILTER (WHERE NOT {q})", "count(*)"]
        elif dtype in ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "UINTEGER") and set(name_words(name)) & {"date", "day", "dt"}:
            # 20250901: a date written as a number (analytics exports)
            probes += [f"count({q})", f"count(try_strptime(CAST({q} AS VARCHAR), '%Y%m%d')) FILTER (WHERE {q} BETWEEN 19000101 AND 21001231)"]
        elif dtype in ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "DOUBLE") and _time_name(name):
            probes += [f"count({q})"] + [f"count(*) FILTER (WHERE {q} BETWEEN {low} AND {high})" for low, high, _, _ in _EPOCH_RANGES]
    zoned = [n for n, dtype in columns if dtype.startswith("TIMESTAMP") and "TIME ZONE" in dtype]
    if not probes and not zoned:
        return []
    counts = iter(con.execute(f'SELECT {", ".join(probes)} FROM "{staging}"').fetchone() or () if probes else ())
    notes: list[str] = []
    changes: dict[str, str] = {}
    for name, dtype in columns:
        q = _ident(name)
        t = f"trim({q})"
        if dtype == "VARCHAR":
            non_null, money_us, money_eu, marked, currency, integers = (next(counts) for _ in range(6))
            parsed = [next(counts) for _ in _DATE_FORMATS]
            parsed_times = [next(counts) for _ in _DATETIME_FORMATS]
            decimal_comma = next(counts)
            with_offset, percent = next(counts), next(counts)
            yes, no = next(counts), next(counts)
            checks, distinct, rows = next(counts), next(counts), next(counts)
            if not non_null:
                if rows and not distinct:
                    notes.append(f"{name}: empty on every row (left as text; nothing to compute from it)")
                continue
            blanks = rows - non_null
            empty = ", ".join(_string(v) for v in _EMPTY_TOKENS)
            t = f"CASE WHEN {t} IN ({empty}) THEN NULL ELSE {t} END"  # "--" in a number column is no number
            if yes + no == non_null and ((yes and no) or set(name_words(name)) & FLAG_HINTS or (blanks and distinct == 1)):
                norm = f"lower({t})"
                blank = "FALSE" if not no and blanks else "NULL"  # "Yes" or blank: blank means no
                changes[name] = f"CASE WHEN {norm} IN ({_YES}) THEN TRUE WHEN {norm} IN ({_NO}) THEN FALSE ELSE {blank} END"
                notes.append(f"{name}: yes/no values → BOOLEAN (a flag: filter on it, or ask for its rate)"
                             + ("; blank read as no" if blank == "FALSE" else ""))
                continue
            if checks == non_null and distinct == 1 and blanks:
                changes[name] = f"{q} IS NOT NULL AND {t} <> ''"
                notes.append(f"{name}: a check mark or blank → BOOLEAN (a flag; blank read as no)")
                continue
            if percent == non_null:
                changes[name] = f"CAST(replace({t}, '%', '') AS DOUBLE)"
                notes.append(f"{name}: percentages written as text (42.5%) → DOUBLE in percent (42.5, not 0.425)")
                continue
            sign = f"CASE WHEN regexp_matches({t}, '^\\(.*\\)$') OR contains({t}, '-') THEN -1 ELSE 1 END"
            if money_us == non_null and not marked and blanks and not set(name_words(name)) & (CODE_WORDS | ID_WORDS):
                # "9.92" beside "--": numbers that a placeholder kept from being read as numbers
                number = "BIGINT" if integers == non_null else "DOUBLE"
                changes[name] = f"CAST({t} AS {number})"
                notes.append(f"{name}: numbers with placeholders (--, n/a) for missing values → {number} (placeholders empty)")
                continue
            if money_us == non_null and marked and not currency and not set(name_words(name)) & MONEY_WORDS:
                # "12,345": a count written with thousands separators, not money
                number = "BIGINT" if integers == non_null else "DOUBLE"
                changes[name] = f"CAST(replace({t}, ',', '') AS {number})"
                notes.append(f"{name}: numbers written with thousands separators (12,345) → {number}")
                continue
            if money_us == non_null and marked:
                changes[name] = f"CAST({sign} * CAST(regexp_replace({t}, '[^0-9.]', '', 'g') AS DECIMAL(18, 4)) AS DECIMAL(18, 2))"
                notes.append(f"{name}: money written as text (e.g. $1,234.50) → DECIMAL(18,2)"
                             + ("; (12.00) read as −12.00" if _has_parentheses(con, staging, q) else ""))
                continue
            if money_eu == non_null and (marked or set(name_words(name)) & MONEY_WORDS):
                digits = f"replace(regexp_replace({t}, '[^0-9,]', '', 'g'), ',', '.')"
                changes[name] = f"CAST({sign} * CAST({digits} AS DECIMAL(18, 4)) AS DECIMAL(18, 2))"
                notes.append(f"{name}: money written as text with a decimal comma (e.g. 1.234,50 €) → DECIMAL(18,2)")
                continue
            if money_eu == non_null and decimal_comma and not set(name_words(name)) & (CODE_WORDS | ID_WORDS):
                # "0,16" with no currency mark and no money word (SumUp's Payout): a number all the same
                digits = f"replace(regexp_replace({t}, '[^0-9,]', '', 'g'), ',', '.')"
                changes[name] = f"CAST({sign} * CAST({digits} AS DECIMAL(18, 4)) AS DECIMAL(18, 2))"
                notes.append(f"{name}: decimal-comma numbers (e.g. 1.234,50) → DECIMAL(18,2)")
                continue
            fmt = next((f for f, n in zip(_DATE_FORMATS, parsed, strict=True) if n == non_null), None)
            if fmt is not None:
                changes[name] = f"CAST(strptime({t}, {_string(fmt)}) AS DATE)"
                flipped = _FLIPPED.get(fmt)
                both = flipped is not None and parsed[_DATE_FORMATS.index(flipped)] == non_null
                notes.append(_date_note(name, fmt, "dates", both))
                continue
            fmt = next((f for f, n in zip(_DATETIME_FORMATS, parsed_times, strict=True) if n == non_null), None)
            if fmt is not None:
                changes[name] = f"strptime({t}, {_string(fmt)})"
                flipped = _FLIPPED_TIMES.get(fmt)
                both = flipped is not None and parsed_times[_DATETIME_FORMATS.index(flipped)] == non_null
                notes.append(_date_note(name, fmt, "date and time", both))
            elif with_offset == non_null:
                changes[name] = f"CAST(left(replace({t}, 'T', ' '), 19) AS TIMESTAMP)"
                notes.append(f"{name}: timestamps with a UTC offset → TIMESTAMP (local time as written)")
        elif dtype.startswith("TIMESTAMP") and "TIME ZONE" not in dtype:
            if next(counts) == 0:
                changes[name] = f"CAST({q} AS DATE)"
        elif dtype == "BOOLEAN":
            filled, false, rows = next(counts), next(counts), next(counts)
            if filled and not false and rows > filled:
                changes[name] = f"coalesce({q}, FALSE)"
                notes.append(f"{name}: yes or blank → BOOLEAN (a flag; blank read as no)")
        elif dtype in ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "UINTEGER") and set(name_words(name)) & {"date", "day", "dt"}:
            filled, dated = next(counts), next(counts)
            if filled and dated == filled:
                changes[name] = f"CAST(strptime(CAST({q} AS VARCHAR), '%Y%m%d') AS DATE)"
                notes.append(f"{name}: dates written as numbers (YYYYMMDD) → DATE")
        elif dtype in ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "DOUBLE") and _time_name(name):
            filled = next(counts)
            within = [next(counts) for _ in _EPOCH_RANGES]
            scale = next(((factor, unit) for (_, _, factor, unit), n in zip(_EPOCH_RANGES, within, strict=True)
                          if filled and n == filled), None)
            if scale is not None:
                changes[name] = f"make_timestamp(CAST(round({q} * {scale[0]}) AS BIGINT))"
                notes.append(f"{name}: Unix time in {scale[1]} → TIMESTAMP (UTC)")
        elif dtype.startswith("TIMESTAMP") and "TIME ZONE" in dtype:
            changes[name] = f"timezone('UTC', {q})"
            notes.append(f"{name}: timestamps with a time zone → TIMESTAMP in UTC")
    if changes:
        select = ", ".join(f"{changes[n]} AS {_ident(n)}" if n in changes else _ident(n) for n, _ in columns)
        con.execute(f'CREATE OR REPLACE TABLE "{staging}" AS SELECT {select} FROM "{staging}"')
    return notes


def _parses(t: str, fmt: str) -> str:
    """A probe counting the values of text expression ``t`` that ``fmt`` reads as a plausible date: a
    four-digit year for %Y (strptime would read 01/06/24 as the year 24), two digits for %y, and the
    year within :data:`_PLAUSIBLE_YEARS`."""
    year = "'[0-9]{4}'"
    guard = f"regexp_matches({t}, {year})" if "%Y" in fmt else f"NOT regexp_matches({t}, {year})" if "%y" in fmt else "TRUE"
    low, high = _PLAUSIBLE_YEARS
    return f"count(*) FILTER (WHERE {guard} AND year(try_strptime({t}, {_string(fmt)})) BETWEEN {low} AND {high})"


def _readable(fmt: str) -> str:
    """``%m/%d/%y %I:%M %p`` → ``M/D/YY h:mm AM/PM``: a format as the load report says it."""
    words = {"%m": "M", "%d": "D", "%Y": "YYYY", "%y": "YY", "%H": "HH", "%I": "h", "%M": "mm", "%S": "ss", "%p": "AM/PM",
             "%b": "Mon", "%B": "Month"}
    return re.sub(r"%[a-zA-Z]", lambda m: words.get(m.group(0), m.group(0)), fmt)


def _date_note(name: str, fmt: str, kind: str, both: bool) -> str:
    """What the load says about a date column: the format read, how two-digit years were read, and
    which order was assumed when every value reads both month/day and day/month."""
    note = f"{name}: {kind} written as {_readable(fmt)} → {'DATE' if kind == 'dates' else 'TIMESTAMP'}"
    if "%y" in fmt:
        note += " (2-digit years read as 20xx for 00–68, 19xx for 69–99)"
    if both:
        note += (" (every value also reads as day/month: read as month/day; reload with the dates as YYYY-MM-DD "
                 "if they are day/month)")
    return note


def _time_name(name: str) -> bool:
    """``created``, ``event_timestamp``, ``Paid at``: a name that says a point in time (and not an id)."""
    words = set(name_words(name))
    return bool(words & _TIME_WORDS) and not words & {"id", "key", "number", "no", "count", "seconds", "secs", "ms",
                                                       "duration", "minutes", "hours", "days", "spent", "on"}


def _has_parentheses(con: duckdb.DuckDBPyConnection, staging: str, q: str) -> bool:
    row = con.execute(f"SELECT count(*) FROM \"{staging}\" WHERE regexp_matches(trim({q}), '^\\(.*\\)$')").fetchone()
    return bool(row and row[0])


def _read_error(err: Exception, path: Path, encoding: str) -> DataLoadError:
    """A one-line reason for an unreadable file, with the fix."""
    text = str(err)
    lower = text.lower()
    if "invalid unicode" in lower or "not utf-8" in lower or "byte sequence" in lower:
        line = re.search(r"Line: (\d+)", text)
        where = f" (line {line.group(1)})" if line else ""
        return DataLoadError(
            f"{path.name} is not {encoding} text{where}.",
            hint=f"Re-save it as UTF-8, or pass --encoding with one of: {', '.join(ENCODINGS)}.",
        )
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        ragged = _ragged_row(path, "\t" if path.suffix.lower() == ".tsv" else ",", encoding)
        if ragged is not None:
            return _ragged_error(path, ragged)
    if "json" in lower:
        return DataLoadError(f"Cannot read {path.name}: {_first_line(err)}", hint="JSON lines need one JSON object per line.")
    if "parquet" in lower:
        return DataLoadError(f"{path.name} is not a valid Parquet file: {_first_line(err)}", hint="Export it again as Parquet.")
    return DataLoadError(
        f"Cannot read {path.name}: {_first_line(err)}",
        hint="Check the file's encoding (UTF-8), delimiter and that every row has the same columns.",
    )


def _ragged_error(path: Path, ragged: tuple[int, int, int]) -> DataLoadError:
    row, fields, expected = ragged
    return DataLoadError(
        f"{path.name}: line {row} has {fields} fields but the header has {expected}.",
        hint="Every row needs the same number of fields as the header; check quoting and delimiters.",
    )


def _ragged_row(path: Path, delimiter: str, encoding: str, max_rows: int = 1_000_000) -> tuple[int, int, int] | None:
    """The first row (1-based line) whose field count differs from the header's, if any."""
    try:
        with path.open(newline="", encoding=encoding.replace("latin-1", "latin_1")) as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            if not header:
                return None
            for number, row in enumerate(reader, start=2):
                if number > max_rows:
                    return None
                if row and len(row) != len(header):
                    return reader.line_num, len(row), len(header)
    except (UnicodeDecodeError, csv.Error):
        return None
    return None


def _first_line(err: Exception) -> str:
    lines = [line for line in str(err).splitlines() if line.strip()]
    return re.sub(r"^\w+ Error: ", "", lines[0]) if lines else type(err).__name__


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"




def load_file_staged(
    database: Path,
    path: Path,
    table: str | None = None,
    *,
    replace: bool = False,
    encoding: str = "utf-8",
    progress: ProgressCallback | None = None,
) -> LoadReport:
    """As :func:`load_file`, but the file is read into a scratch DuckDB file beside ``database``
    first; the warehouse is written only by the final copy, inside one transaction.

    Why: reading a large file takes many seconds and DuckDB's writer locks the file for that
    whole time; a server that loads uploads this way keeps answering questions while it reads
    (queries wait out only the copy, see :data:`tools.warehouse.BUSY_WAIT_S`). Same checks and
    messages as :func:`load_file` (it does the reading); the warehouse is unchanged on error.
    """
    # lazy: duckdb loads slowly; only this path needs it
    import duckdb

    from tools.warehouse import _connect_when_free

    folder = private_dir(database.parent / ".loading")
    scratch = folder / f"{threading.get_ident()}-{time.monotonic_ns()}.duckdb"
    try:
        staged = load_file(scratch, path, table, encoding=encoding, progress=progress)
        name = staged.table
        try:
            con = _connect_when_free(lambda: duckdb.connect(str(database)))
            make_private(database)
        except duckdb.Error as err:
            raise DataLoadError(f"Cannot open the warehouse {database}: {str(err).splitlines()[0]}") from err
        try:
            existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='main'").fetchall()}
            if name in existing and not replace:
                raise DataLoadError(
                    f"Table '{name}' already exists.", hint="Pass --replace to replace it, or --table NAME to load under another name."
                )
            con.execute(f"ATTACH {_string(str(scratch))} AS __staged (READ_ONLY)")
            con.execute("BEGIN TRANSACTION")
            if name in existing:
                con.execute(f'DROP TABLE "{name}"')
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM __staged."{name}"')
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
        finally:
            with contextlib.suppress(duckdb.Error):
                con.execute("DETACH __staged")
            con.close()
    finally:
        for leftover in (scratch, scratch.with_name(scratch.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return dataclasses.replace(staged, replaced=name in existing)
