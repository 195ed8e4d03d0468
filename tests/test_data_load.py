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
