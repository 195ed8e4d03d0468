"""Analyst moves on layouts they were not written for: a bare transaction log and a B2B invoice table.

Whether a question named a measure is judged with the parser's own vocabulary for the workspace (its
tables, columns, values, metrics and the marketing lexicon), so "what we invoiced" on an invoice table
is the invoiced amount, while "refunds" or "billings" that no column holds are asked about, never
answered with revenue in their place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from assistant.agent import Assistant
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings

TODAY = dt.date(2025, 10, 20)
TRANSACTIONS = [(1, "2025-07-03", 20.0), (2, "2025-08-04", 35.5), (1, "2025-08-20", 12.0), (3, "2025-09-02", 80.0),
                (2, "2025-09-15", 15.0), (4, "2025-09-28", 42.0), (1, "2025-10-05", 18.0)]
INVOICES = [(1, 10, "2025-04-10", 1200, "Pro", "EMEA", True), (2, 11, "2025-05-11", 800, "Starter", "AMER", True),
            (3, 10, "2025-07-10", 1200, "Pro", "EMEA", True), (4, 12, "2025-08-01", 3000, "Enterprise", "APAC", False),
            (5, 11, "2025-08-11", 800, "Starter", "AMER", True), (6, 13, "2025-09-20", 800, "Starter", "EMEA", False)]


def _assistant(home: Path, build: str, rows: list[tuple[object, ...]]) -> Iterator[Assistant]:
    home.mkdir()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute(build)
    table = build.split()[2]
    con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    con.close()
    with Assistant(MaraSettings(home=home, mode="offline", _env_file=None), today=TODAY) as a:  # type: ignore[call-arg]
        yield a


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Assistant]:
    """A bare transaction log: customer id, date, amount."""
    yield from _assistant(tmp_path / "log", "CREATE TABLE transactions (customer_id INTEGER, date DATE, amount DECIMAL(10,2))",
                          TRANSACTIONS)


@pytest.fixture
def invoices(tmp_path: Path) -> Iterator[Assistant]:
    """A B2B invoice table: accounts, issue dates, amounts due, plans, regions, a paid flag."""
    yield from _assistant(tmp_path / "b2b", "CREATE TABLE invoices (invoice_id INTEGER, account_id INTEGER, issued_on DATE, "
                                           "amount_due DECIMAL(10,2), plan VARCHAR, region VARCHAR, paid BOOLEAN)", INVOICES)


def _call(a: Assistant, text: str) -> dict[str, object]:
    (call,) = a.run(text, scopes=EVERY_SCOPE).tool_calls
    return dict(call["args"])


def test_sales_on_a_transaction_log_are_its_amounts(log: Assistant) -> None:
    assert _call(log, "compare sales in September vs August")["metric"] == {
        "agg": "sum", "column": "transactions.amount", "alias": "revenue"}


def test_how_is_business_on_a_transaction_log_compares_revenue(log: Assistant) -> None:
    assert _call(log, "how is business in September compared to August")["metric"] == {
        "agg": "sum", "column": "transactions.amount", "alias": "revenue"}


def test_refunds_a_transaction_log_lacks_are_asked_about(log: Assistant) -> None:
    assert "I couldn't find “refunds” in your data" in log.run("compare refunds in September vs August", scopes=EVERY_SCOPE).reply


def test_what_we_invoiced_is_the_invoiced_amount(invoices: Assistant) -> None:
    assert _call(invoices, "compare what we invoiced in Q3 vs Q2")["metric"] == {
        "agg": "sum", "column": "invoices.amount_due", "alias": "revenue"}


def test_billings_no_column_holds_are_asked_about(invoices: Assistant) -> None:
    assert "I couldn't find “billings” in your data" in invoices.run("compare billings Q3 vs Q2", scopes=EVERY_SCOPE).reply


def test_invoices_by_region_compare_the_count_by_region(invoices: Assistant) -> None:
    args = _call(invoices, "compare invoices by region September vs August")
    assert (args["metric"], args["by"]) == ({"agg": "count", "alias": "invoices"}, "invoices.region")
