"""The analysis tools as a marketer meets them: through the offline planner, and on bad input.

Tiny workspace of conftest.py: eight orders from 10 Jan to 15 Oct 2025 (August 250.00, September 385.25).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import duckdb
import pytest

from assistant.agent import Assistant
from foundation.errors import ToolInputError
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tools.analysis.analysis_tools import compare_periods, explain_change
from tools.context import ToolContext

REVENUE = {"agg": "sum", "column": "orders.total", "alias": "revenue"}


@pytest.fixture
def assistant(settings: MaraSettings) -> Iterator[Assistant]:
    with Assistant(settings, today=dt.date(2025, 11, 1)) as a:
        yield a


def test_compare_two_named_months(assistant: Assistant) -> None:
    result = assistant.run("compare revenue in September vs August", scopes=EVERY_SCOPE)
    assert [c["name"] for c in result.tool_calls] == ["compare_periods"]
    assert result.reply.startswith("Revenue rose 135 (+54.1%) from August 2025 (250) to September 2025 (385).")


def test_why_did_it_drop_when_it_rose_says_so_first(assistant: Assistant) -> None:
    result = assistant.run("why did revenue drop in September?", scopes=EVERY_SCOPE)
    assert [c["name"] for c in result.tool_calls] == ["explain_change"]
    assert result.reply.startswith("Revenue didn't drop in September 2025 — it rose 135 (+54.1%), from 250 in August 2025")


def test_the_explanation_names_first_time_and_returning_customers(assistant: Assistant) -> None:
    reply = assistant.run("why did revenue drop in September?", scopes=EVERY_SCOPE).reply
    assert "first-time customers' revenue rose from 0 to 385" in reply


def test_follow_up_breaks_the_same_comparison_down(assistant: Assistant) -> None:
    assistant.run("compare revenue in September vs August", conversation_id="c", scopes=EVERY_SCOPE)
    result = assistant.run("and by channel?", conversation_id="c", scopes=EVERY_SCOPE)
    (call,) = result.tool_calls
    assert (call["name"], call["args"]["by"], call["args"]["period"]) == ("compare_periods", "orders.channel", "2025-09-01..2025-09-30")
    assert "By channel, the biggest move was app: 0 → 310 (+310)." in result.reply


def test_follow_up_against_last_year_keeps_the_period(assistant: Assistant) -> None:
    assistant.run("compare revenue in September vs August", conversation_id="y", scopes=EVERY_SCOPE)
    (call,) = assistant.run("and vs last year?", conversation_id="y", scopes=EVERY_SCOPE).tool_calls
    assert (call["args"]["period"], call["args"]["compare_to"]) == ("2025-09-01..2025-09-30", "last_year")


def test_this_month_past_the_data_says_where_the_data_ends(settings: MaraSettings) -> None:
    with Assistant(settings, today=dt.date(2025, 12, 7)) as a:
        reply = a.run("this month vs last month", scopes=EVERY_SCOPE).reply
    assert reply.startswith("Your data ends on 2025-10-15, so this is the latest complete month in it, September 2025.")
    assert "Revenue rose 135 (+54.1%) from August 2025 (250) to September 2025 (385)." in reply


def test_anything_unusual_reaches_the_anomaly_tool_for_orders(assistant: Assistant) -> None:
    result = assistant.run("anything unusual in orders last month?", scopes=EVERY_SCOPE)
    (call,) = result.tool_calls
    assert (call["name"], call["args"]["metric"]) == ("find_anomalies", {"agg": "count", "alias": "orders"})


def test_comparison_has_a_table_and_a_grouped_bar_chart(settings: MaraSettings) -> None:
    out = compare_periods(ToolContext(settings), period="2025-09", metric=REVENUE, table="orders", by="channel",  # type: ignore[arg-type]
                          today="2025-11-01")
    kinds = [a["kind"] for a in out.artifacts]
    assert kinds == ["table", "chart"]
    assert "xOffset" in out.artifacts[1]["spec"]["encoding"]


def test_explanation_has_a_waterfall_from_the_old_to_the_new_value(settings: MaraSettings) -> None:
    out = explain_change(ToolContext(settings), period="2025-09", metric=REVENUE, table="orders", today="2025-11-01")  # type: ignore[arg-type]
    values = out.artifacts[1]["spec"]["data"]["values"]
    assert (values[0]["to"], values[-1]["to"]) == (250.0, 385.25)


def test_a_period_with_no_rows_is_said_plainly(settings: MaraSettings) -> None:
    out = compare_periods(ToolContext(settings), period="2025-06", metric=REVENUE, table="orders", today="2025-11-01")  # type: ignore[arg-type]
    assert "There are no orders rows in June 2025" in out.text


def test_a_period_outside_the_data_names_the_range(settings: MaraSettings) -> None:
    with pytest.raises(ToolInputError, match="runs from 2025-01-10 to 2025-10-15"):
        compare_periods(ToolContext(settings), period="2023", metric=REVENUE, table="orders", today="2025-11-01")  # type: ignore[arg-type]


def test_a_metric_without_a_time_column_is_refused_clearly(settings: MaraSettings) -> None:
    con = duckdb.connect(str(settings.duckdb_path))
    con.execute("CREATE TABLE products (product_id INTEGER, price DECIMAL(10,2))")
    con.execute("INSERT INTO products VALUES (1, 9.5), (2, 20)")
    con.close()
    with pytest.raises(ToolInputError, match="'products' has no date column"):
        compare_periods(ToolContext(settings), metric={"agg": "sum", "column": "price"}, table="products",  # type: ignore[arg-type]
                        today="2025-11-01")


def test_unknown_dimension_names_the_valid_ones(settings: MaraSettings) -> None:
    with pytest.raises(ToolInputError, match="Unknown column 'chanel'"):
        compare_periods(ToolContext(settings), period="2025-09", metric=REVENUE, table="orders", by="chanel",  # type: ignore[arg-type]
                        today="2025-11-01")


# --- the CLI ----------------------------------------------------------------------------------------------


def test_cli_explain_prints_one_json_document_whose_contributions_add_up(workspace) -> None:  # type: ignore[no-untyped-def]
    from tests.test_cli import mara

    run = mara("analyze", "explain", "--period", "2025-09", "--agg", "sum", "--column", "total", "--table", "orders",
               "--today", "2025-11-01", "--json", home=workspace)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert (doc["previous"]["value"], doc["current"]["value"]) == (250.0, 385.25)
    assert all(abs(sum(line["contribution"] for line in b["lines"]) - doc["change"]) < 1e-9 for b in doc["breakdowns"])


def test_cli_bad_period_exits_non_zero_naming_what_is_accepted(workspace) -> None:  # type: ignore[no-untyped-def]
    from tests.test_cli import mara

    run = mara("analyze", "compare", "--period", "someday", "--agg", "count", "--table", "orders", "--json", home=workspace)
    assert run.returncode != 0
    assert "can't read 'someday'" in run.stderr and "Q3 2025" in run.stderr


def test_demo_history_ends_yesterday_unless_as_of_is_given() -> None:
    from assistant.cli import demo_as_of

    assert demo_as_of(None, dt.date(2026, 12, 7)) == dt.date(2026, 12, 6)
    assert demo_as_of("2026-10-31", dt.date(2026, 12, 7)) == dt.date(2026, 10, 31)


def test_demo_as_of_in_the_future_is_refused() -> None:
    from assistant.cli import demo_as_of
    from foundation.errors import MaraError

    with pytest.raises(MaraError, match="in the future"):
        demo_as_of("2027-01-01", dt.date(2026, 12, 7))


def test_llm_mode_sees_the_three_tools_with_their_arguments(settings: MaraSettings) -> None:
    from langchain_core.utils.function_calling import convert_to_openai_tool

    from tools.registry import build_tools

    schemas = {t.name: convert_to_openai_tool(t)["function"] for t in build_tools(ToolContext(settings))}
    assert {"compare_periods", "explain_change", "find_anomalies"} <= set(schemas)
    assert {"period", "compare_to", "metric", "by", "premise"} <= set(schemas["compare_periods"]["parameters"]["properties"])


@pytest.fixture
def bare_log(tmp_path) -> MaraSettings:  # type: ignore[no-untyped-def]
    """A bare transaction log: customer id, date and amount, nothing else (no semantic model)."""
    home = tmp_path / "log"
    home.mkdir()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("CREATE TABLE transactions (customer_id VARCHAR, txn_date DATE, amount DECIMAL(10,2))")
    con.executemany("INSERT INTO transactions VALUES (?, ?, ?)", [
        ("c1", "2025-08-03", 100), ("c2", "2025-08-09", 40), ("c1", "2025-09-02", 70),
        ("c3", "2025-09-12", 25), ("c4", "2025-09-20", 15), ("c2", "2025-09-21", 10), ("c1", "2025-10-02", 30)])
    con.close()
    return MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]


def test_a_bare_log_explains_by_first_time_and_returning_customers(bare_log: MaraSettings) -> None:
    with Assistant(bare_log, today=dt.date(2025, 10, 5)) as a:
        result = a.run("why did sales drop in September?", scopes=EVERY_SCOPE)
    assert [c["name"] for c in result.tool_calls] == ["explain_change"]
    assert result.reply.startswith("Revenue fell 20 (−14.3%) from August 2025 (140) to September 2025 (120)")
    assert "first-time customers' revenue fell from 140 to 40; returning customers' revenue rose from 0 to 80" in result.reply


@pytest.fixture
def daily_log(tmp_path) -> MaraSettings:  # type: ignore[no-untyped-def]
    """Ten weeks of sales with a weekly rhythm (busy weekends) and one spike on Wed 17 Sep 2025."""
    home = tmp_path / "daily"
    home.mkdir()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("""CREATE TABLE sales AS
        WITH days AS (SELECT d, DATE '2025-07-14' + CAST(d AS INTEGER) AS day FROM range(77) t(d)),  -- from a Monday
        counts AS (SELECT d, day, CASE WHEN day = DATE '2025-09-17' THEN 40
                                       ELSE [10, 11, 10, 12, 14, 20, 18][isodow(day)] + CAST(d % 3 AS INTEGER) END AS n FROM days)
        SELECT 'c' || d || '-' || i AS customer_id, day AS sale_date, CAST(20 AS DECIMAL(10, 2)) AS amount
        FROM (SELECT d, day, unnest(range(n)) AS i FROM counts)""")
    con.close()
    return MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]


def test_the_spike_is_found_through_the_warehouse(daily_log: MaraSettings) -> None:
    from tools.analysis.analysis_tools import find_anomalies

    out = find_anomalies(ToolContext(daily_log), period="2025-09", metric={"agg": "count"}, table="sales",  # type: ignore[arg-type]
                         today="2025-10-01")
    assert [a["date"] for a in out.data["anomalies"]] == ["2025-09-17"]
    assert out.text.startswith("1 unusual day in sales during 1–28 Sep 2025: Wed 17 Sep: 40 vs about 11 expected")


def test_the_three_charts_are_valid_vega_lite(settings: MaraSettings, daily_log: MaraSettings) -> None:
    from tools.analysis.analysis_tools import find_anomalies
    from tools.charts import render_png

    ctx = ToolContext(settings)
    outputs = [compare_periods(ctx, period="2025-09", metric=REVENUE, table="orders", by="channel", today="2025-11-01"),  # type: ignore[arg-type]
               explain_change(ctx, period="2025-09", metric=REVENUE, table="orders", today="2025-11-01"),  # type: ignore[arg-type]
               find_anomalies(ToolContext(daily_log), period="2025-09", metric={"agg": "count"}, table="sales",  # type: ignore[arg-type]
                              today="2025-10-01")]
    for out in outputs:
        chart = next(a for a in out.artifacts if a["kind"] == "chart")
        assert render_png(chart["spec"]).startswith(b"\x89PNG")


def test_a_column_with_a_thousand_values_shows_the_top_and_other(daily_log: MaraSettings) -> None:
    out = compare_periods(ToolContext(daily_log), period="2025-09-01..2025-09-14", compare_to="previous",  # type: ignore[arg-type]
                          metric={"agg": "sum", "column": "amount"}, table="sales", by="customer_id", today="2025-10-01")
    groups = out.data["groups"]
    assert (len(groups), groups[-1]["name"]) == (21, "other")
    assert abs(sum(g["current"] for g in groups) - out.data["current"]["value"]) < 1e-6
    assert "smaller customer id values are grouped as “other”" in out.text
