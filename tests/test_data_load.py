"""`mara data load`: every accepted format, types a marketer's exports actually have
(money as "$1,234.50", US dates), and malformed files refused with the workspace unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from foundation.errors import DataLoadError
from tools.data_load import load_file

CSV = (
    "Customer ID,Name,Lifetime Spend,First Order,Last Seen\n"
    '1,Ann Lee,"$1,234.50",03/15/2025,2025-06-01 00:00:00\n'
    "2,Bo Chen,$99.00,12/01/2024,2025-06-02 00:00:00\n"
    '3,Cy Diaz,"($12.00)",01/31/2025,2025-06-03 00:00:00\n'
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE customers AS SELECT 1 AS customer_id, 'kept' AS note")
    con.close()
    return path


def table(db: Path, name: str) -> tuple[list[tuple[str, str]], list[tuple[object, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        types = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [name]
        ).fetchall()
        return types, con.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall()
    finally:
        con.close()


def tables(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall())
    finally:
        con.close()


def test_csv_money_text_and_us_dates_become_numbers_and_dates(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "Spend Export (2025).csv"
    path.write_text(CSV)
    seen: list[float] = []
    report = load_file(db, path, progress=seen.append)
    assert report.table == "spend_export_2025" and report.rows == 3
    types, rows = table(db, "spend_export_2025")
    assert dict(types)["Lifetime Spend"] == "DECIMAL(18,2)"
    assert dict(types)["First Order"] == "DATE" and dict(types)["Last Seen"] == "DATE"
    assert [float(r[2]) for r in rows] == [1234.50, 99.00, -12.00]
    assert str(rows[0][3]) == "2025-03-15"
    assert any("Lifetime Spend: money written as text" in n for n in report.notes)


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl", ".parquet", ".xlsx"])
def test_other_formats(db: Path, tmp_path: Path, suffix: str) -> None:
    import pandas as pd

    frame = pd.DataFrame({"order_id": [1, 2], "order_date": pd.to_datetime(["2025-01-02", "2025-02-03"]),
                          "total": [10.5, 20.25], "channel": ["web", "app"]})
    path = tmp_path / f"orders{suffix}"
    if suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".jsonl":
        frame.assign(order_date=frame.order_date.dt.strftime("%Y-%m-%d")).to_json(path, orient="records", lines=True)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_excel(path, index=False)
    report = load_file(db, path)
    types, rows = table(db, "orders")
    assert report.rows == 2 and dict(types)["order_date"] == "DATE"
    assert float(rows[1][2]) == 20.25 and rows[1][3] == "app"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty.csv is empty"),
        ("blank.csv", b"\n\n  \n", "blank.csv is empty"),
        ("header_only.csv", b"a,b,c\n", "has no data rows"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "line 3 has 3 fields but the header has 2"),
        ("latin.csv", "name,city\nJosé,München\n".encode("latin-1"), "latin.csv is not utf-8 text"),
        ("broken.jsonl", b'{"a": 1}\n{"a": \n', "JSON lines need one JSON object per line"),
        ("fake.parquet", b"not parquet at all", "is not a valid Parquet file"),
        ("fake.xlsx", b"PK not really a workbook", "Cannot read fake.xlsx as an Excel workbook"),
        ("notes.docx", b"hello", "Unsupported file type '.docx'"),
    ],
)
def test_malformed_files_are_refused_and_nothing_changes(db: Path, tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = tables(db)
    with pytest.raises(DataLoadError) as caught:
        load_file(db, path, table="customers", replace=True)
    assert message in str(caught.value)
    assert tables(db) == before  # no staging table left behind
    assert table(db, "customers")[1] == [(1, "kept")]  # the table it would have replaced is untouched


def test_latin_1_loads_when_asked(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city\nJosé,München\n".encode("latin-1"))
    load_file(db, path, encoding="latin-1")
    assert table(db, "latin")[1] == [("José", "München")]
    with pytest.raises(DataLoadError, match="Accepted: utf-8, latin-1, utf-16"):
        load_file(db, path, table="x", encoding="ebcdic")


def test_collisions_need_replace_and_bad_names_are_refused(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,note\n7,new\n")
    with pytest.raises(DataLoadError, match="already exists.*--replace"):
        load_file(db, path)
    assert load_file(db, path, replace=True).replaced is True
    assert table(db, "customers")[1] == [(7, "new")]
    for bad in ("1abc", "drop table x", "__loading_customers", "a" * 70):
        with pytest.raises(DataLoadError, match="not a valid table name"):
            load_file(db, path, table=bad)


@pytest.mark.integration
def test_cli_load_updates_the_semantic_model(workspace: Path, tmp_path: Path) -> None:
    from tests.test_cli import mara

    path = tmp_path / "returns.csv"
    path.write_text("return_id,order_id,returned_on,refund\n1,101,03/02/2025,\"$20.00\"\n2,104,04/11/2025,$5.50\n")
    run = mara("data", "load", str(path), "--json", home=workspace)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["columns"][2] == {"name": "returned_on", "type": "DATE"}
    shown = json.loads(mara("data", "model", "--json", home=workspace).stdout)
    assert shown["tables"]["returns"]["money"] == ["refund"]
    assert "returns.order_id -> orders.order_id" in shown["relationships"]
    check = mara("data", "model", "--check", home=workspace)
    assert check.returncode == 0 and "matches the data" in check.stderr
    (workspace / "semantic.yaml").write_text("tables: {returns: {money: [refnd]}}")
    broken = mara("data", "model", "--check", home=workspace)
    assert broken.returncode != 0 and "unknown column 'refnd' (closest: refund" in broken.stderr
    chat = mara("chat", "How many customers do we have?", "--json", home=workspace)
    assert chat.returncode != 0 and "semantic.yaml does not match the data" in chat.stderr  # never a silent guess
    assert mara("data", "model", "--generate", home=workspace).returncode == 0
    assert (workspace / "semantic.yaml.bak").exists()


# --- export conventions: each a tiny file written here, loaded with the real loader ----------------


def load_one(tmp_path: Path, header: str, *values: str) -> tuple[str, list[object], list[str]]:
    """Load a one-column CSV; its column's type, its values in file order and the load's notes."""
    path = tmp_path / "export.csv"
    path.write_text(f"row,{header}\n" + "".join(f'{i},"{v}"\n' if v else f"{i},\n" for i, v in enumerate(values)),
                    encoding="utf-8")
    report = load_file(tmp_path / "w.duckdb", path, replace=True)
    types, rows = table(tmp_path / "w.duckdb", "export")
    return dict(types)[header], [r[1] for r in rows], report.notes


@pytest.mark.parametrize(
    ("written", "number"),
    [("$1,234.50", 1234.50), ("1.234,50 €", 1234.50), ("€ 12,00", 12.0), ("(12.00)", -12.0), ("($7.25)", -7.25),
     ("USD 12", 12.0), ("12.00 EUR", 12.0), ("-$5.00", -5.0), ("$-5.00", -5.0), ("£3", 3.0)],
)
def test_money_written_as_text_becomes_a_number(tmp_path: Path, written: str, number: float) -> None:
    other = "1,00 €" if "€" in written and "," in written else "$1.00"  # a second row in the same notation
    _, values, _ = load_one(tmp_path, "Amount", written, other)
    assert float(values[0]) == number  # type: ignore[arg-type]


def test_accounting_negatives_without_a_symbol_are_money(tmp_path: Path) -> None:
    assert load_one(tmp_path, "Adjustment", "(12.00)", "3.00")[0] == "DECIMAL(18,2)"


def test_the_load_says_parentheses_were_read_as_negative(tmp_path: Path) -> None:
    assert "Adjustment: money written as text (e.g. $1,234.50) → DECIMAL(18,2); (12.00) read as −12.00" in load_one(
        tmp_path, "Adjustment", "(12.00)", "3.00")[2]


def test_a_decimal_comma_is_said(tmp_path: Path) -> None:
    assert any("decimal comma" in n for n in load_one(tmp_path, "Umsatz", "1.234,50 €", "5,00 €")[2])


def test_percent_text_becomes_a_number(tmp_path: Path) -> None:
    assert load_one(tmp_path, "CTR", "12.5%", "3 %")[1] == [12.5, 3.0]


@pytest.mark.parametrize(
    ("values", "flags"),
    [(("Y", "N", "Y"), [True, False, True]), (("yes", "no", "No"), [True, False, False]),
     (("TRUE", "False", "true"), [True, False, True]), (("✓", "", "✓"), [True, False, True]),
     (("x", "", ""), [True, False, False]), (("Yes", "", "Yes"), [True, False, True])],
)
def test_flags_as_exports_write_them_become_booleans(tmp_path: Path, values: tuple[str, ...], flags: list[bool]) -> None:
    assert load_one(tmp_path, "Newsletter", *values)[1] == flags


def test_a_check_mark_column_says_blank_is_no(tmp_path: Path) -> None:
    assert "Newsletter: a check mark or blank → BOOLEAN (a flag; blank read as no)" in load_one(tmp_path, "Newsletter", "✓", "")[2]


def test_day_first_dates_are_read_day_first(tmp_path: Path) -> None:
    assert [str(v) for v in load_one(tmp_path, "Date", "13/03/2025", "02/04/2025")[1]] == ["2025-03-13", "2025-04-02"]


def test_month_first_dates_are_read_month_first(tmp_path: Path) -> None:
    assert [str(v) for v in load_one(tmp_path, "Date", "03/13/2025", "04/02/2025")[1]] == ["2025-03-13", "2025-04-02"]


def test_dates_that_read_both_ways_are_month_first_and_the_load_says_so(tmp_path: Path) -> None:
    _, values, notes = load_one(tmp_path, "Date", "12/03/2025", "01/02/2025")
    assert (str(values[0]), any("also reads as day/month: read as month/day" in n for n in notes)) == ("2025-12-03", True)


def test_a_written_out_date_and_time(tmp_path: Path) -> None:
    assert str(load_one(tmp_path, "Created", "Dec 3, 2025 2:05 PM", "Jan 1, 2026 9:00 AM")[1][0]) == "2025-12-03 14:05:00"


def test_iso_times_with_zones_become_utc(tmp_path: Path) -> None:
    values = load_one(tmp_path, "Created", "2025-03-01T10:00:00+01:00", "2025-03-02T10:00:00Z")[1]
    assert [str(v) for v in values] == ["2025-03-01 09:00:00", "2025-03-02 10:00:00"]


@pytest.mark.parametrize("scale", [1, 1000])
def test_unix_time_becomes_a_timestamp(tmp_path: Path, scale: int) -> None:
    values = load_one(tmp_path, "created_at", str(1733230000 * scale), str(1733330000 * scale))[1]
    assert str(values[0]) == "2024-12-03 12:46:40"


def test_an_id_named_for_time_is_not_unix_time(tmp_path: Path) -> None:
    assert load_one(tmp_path, "timestamp_id", "1733230000", "1733330000")[0] == "BIGINT"


def test_an_all_empty_column_is_said(tmp_path: Path) -> None:
    assert "Notes: empty on every row (left as text; nothing to compute from it)" in load_one(tmp_path, "Notes", "", "")[2]


def test_a_semicolon_separated_export_with_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "umsatz.csv"
    path.write_text("Bestellung;Datum;Betrag\n1001;13.03.2025;1.234,50 €\n1002;14.03.2025;5,00 €\n")
    load_file(tmp_path / "w.duckdb", path)
    assert [float(r[2]) for r in table(tmp_path / "w.duckdb", "umsatz")[1]] == [1234.5, 5.0]


def test_title_lines_before_the_header_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.csv"
    path.write_text('Campaign performance report\n"Dec 1, 2025 - Dec 7, 2025"\nCampaign,Impr.,Clicks,Cost\n'
                    'Brand,1000,50,"$25.00"\nGeneric,2000,40,"$60.00"\nRetargeting,500,9,"$4.10"\n')
    load_file(tmp_path / "w.duckdb", path)
    assert [c for c, _ in table(tmp_path / "w.duckdb", "campaigns")[0]] == ["Campaign", "Impr", "Clicks", "Cost"]  # "Impr." tidied


def test_a_reports_total_rows_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.csv"
    path.write_text("Campaign,Clicks,Cost\nBrand,50,$25.00\nGeneric,40,$60.00\nTotal: Campaigns,90,$85.00\n")
    report = load_file(tmp_path / "w.duckdb", path)
    assert (report.rows, report.notes[0]) == (2, 'Campaign: 1 summary row ("Total …") left out, so totals are not counted twice')


def test_a_value_that_begins_with_total_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("Product,Units\nTotal Gym,3\nYoga Mat,5\n")
    assert load_file(tmp_path / "w.duckdb", path).rows == 2


def test_counts_with_thousands_separators_are_numbers_not_money(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text('Campaign,Impressions\nBrand,"5,538"\nGeneric,"12,001"\n')
    report = load_file(tmp_path / "w.duckdb", path)
    assert (dict(table(tmp_path / "w.duckdb", "report")[0])["Impressions"], report.money_columns) == ("BIGINT", [])


def test_a_placeholder_is_empty_in_a_percent_column(tmp_path: Path) -> None:
    assert load_one(tmp_path, "CTR", "8.79%", "--")[1] == [8.79, None]


def test_a_placeholder_is_empty_in_a_number_column(tmp_path: Path) -> None:
    assert load_one(tmp_path, "Cost per conversion", "9.92", "--")[1] == [9.92, None]


def test_two_digit_years_are_this_century(tmp_path: Path) -> None:
    assert [str(v) for v in load_one(tmp_path, "Sale Date", "01/06/24", "12/30/24")[1]] == ["2024-01-06", "2024-12-30"]
