"""Real export shapes, loaded with the real loader: what the semantic model infers from names,
types and values, and that the inferred metrics compute the right figures.

Fixtures in tests/data/shapes/ (8-14 rows each, written for these tests): a bare sales log of
line items (no customer table), payments with two money columns, an account table with yes/no,
y/n and 0/1 flags, an e-mail events table and a per-campaign stats table. The export conventions further
down (refund rows, negative discounts, gross/net/fee, ad reports, help-desk tickets) are a few rows written
in each test.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from assistant.planner.parser import parse_question
from foundation.settings import MaraSettings
from tools.context import ToolContext
from tools.data import run_query_spec
from tools.data_load import load_file
from tools.query_spec import QuerySpec, compile_query
from tools.schema_profile import load_profile, name_phrase, name_words
from tools.semantic_model import (
    FILE_NAME,
    ColumnModel,
    Inference,
    infer_semantic_model,
    load_semantic_model,
    refresh_workspace_model,
    save_semantic_model,
)

SHAPES = Path(__file__).parent / "data" / "shapes"


def load(tmp_path: Path, *files: str) -> tuple[ToolContext, list[Inference]]:
    """A workspace holding ``files``, loaded as ``mara data load`` does; what was inferred for each."""
    home = tmp_path / "ws"
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    inferred: list[Inference] = []
    for name in files:
        report = load_file(settings.duckdb_path, SHAPES / name)
        (home / "schema_profile.json").unlink(missing_ok=True)
        refresh_workspace_model(settings, changed=[report.table], money={report.table: report.money_columns}, report=inferred)
    return ToolContext(settings), inferred


def value(ctx: ToolContext, table: str, metric: str, **spec: object) -> object:
    return run_query_spec(ctx, QuerySpec.model_validate({"table": table, "metrics": [{"name": metric}], **spec})).data["rows"][0][-1]


def by(ctx: ToolContext, table: str, metric: str, dimension: str) -> dict[str, float]:
    spec = QuerySpec.model_validate({"table": table, "metrics": [{"name": metric}], "dimensions": [dimension]})
    return {r[0]: float(r[1]) for r in run_query_spec(ctx, spec).data["rows"]}


# --- names as people write them ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [("orderValueUSD", ["order", "value", "usd"]), ("Lineitem quantity", ["lineitem", "quantity"]),
     ("CustomerID", ["customer", "id"]), ("MRR", ["mrr"]), ("Created at", ["created", "at"]), ("amt", ["amt"])],
)
def test_names_split_into_words(name: str, words: list[str]) -> None:
    assert name_words(name) == words


def test_abbreviations_are_spelled_out() -> None:
    assert name_phrase("Lineitem qty") == "line item quantity"


ROLES_TABLE = """CREATE TABLE t AS SELECT * FROM (VALUES
  (1, 12.50, 44.0, 49, 63.5, 2, 3, TIMESTAMP '2025-01-03 10:00', 10115, 'SKU-001', '+49 30 1234567', 'y', 1, 'yes'),
  (2, 20.00, 22.0, 99, 10.0, 1, 1, TIMESTAMP '2025-01-05 11:00', 20095, 'SKU-002', '(555) 123-4567', 'n', 0, 'no'),
  (3, 7.50, 8.25, 199, 7.0, 3, 2, TIMESTAMP '2025-02-01 09:30', 94105, 'SKU-003', '555.123.4567', 'y', 0, 'no'),
  (4, 99.00, 108.9, 49, 99.0, 1, 5, TIMESTAMP '2025-02-05 16:45', 60601, 'SKU-001', '+1 555 7654321', 'n', 1, 'yes'),
  (5, 5.00, 5.5, 99, 5.0, 1, 4, TIMESTAMP '2025-03-05 08:15', 10001, 'SKU-004', '+44 20 7946 0958', 'y', 1, 'no')
) v(id, amt, order_value_usd, "MRR", "Total", "Lineitem quantity", qty, "Created at", zip, sku, reach, phone_verified,
    is_active, "Accepts Marketing")"""


@pytest.fixture
def roles(tmp_path: Path) -> dict[str, tuple[str, bool]]:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(ROLES_TABLE)
    con.close()
    from tools.warehouse import DuckDBWarehouse

    table = load_profile(DuckDBWarehouse(path), None).tables[0]
    return {c.name: (c.role, c.pii) for c in table.columns}


@pytest.mark.parametrize(
    ("column", "role"),
    [("amt", "money"), ("order_value_usd", "money"), ("MRR", "money"), ("Total", "money"),
     ("Lineitem quantity", "number"), ("qty", "number"), ("Created at", "date"),
     ("phone_verified", "flag"), ("is_active", "flag"), ("Accepts Marketing", "flag")],
)
def test_roles_from_names_types_and_values(roles: dict[str, tuple[str, bool]], column: str, role: str) -> None:
    assert roles[column][0] == role


@pytest.mark.parametrize("column", ["zip", "sku", "reach"])
def test_codes_and_phones_are_never_numbers_or_money(roles: dict[str, tuple[str, bool]], column: str) -> None:
    assert roles[column][0] not in ("money", "number")


def test_phone_numbers_are_personal_data_by_their_values(roles: dict[str, tuple[str, bool]]) -> None:
    assert roles["reach"][1] is True  # the name says nothing; the values are phone numbers


def test_a_phone_verified_flag_is_not_personal_data(roles: dict[str, tuple[str, bool]]) -> None:
    assert roles["phone_verified"] == ("flag", False)


# --- a bare sales log: line items, no customer table ---------------------------------------------
# ana: R-1001 (Aug, 2 lines), R-1003 (Sep), R-1008 (Oct); ben: R-1002 (Aug), R-1006 (Oct);
# cy: R-1004 (Sep, refunded); dee: R-1005 (Sep, 2 lines); eve: R-1007 (Oct)
LOG_REVENUE = 2 * 10 + 5.5 + 3 * 10 + 20 + 20 + 2 * 10 + 5.5 + 2 * 20 + 10  # qty * unit price, refunded R-1004 left out


@pytest.fixture
def log(tmp_path: Path) -> tuple[ToolContext, Inference]:
    ctx, inferred = load(tmp_path, "sales_log.csv")
    return ctx, inferred[0]


def test_log_customer_key_is_the_repeated_email(log: tuple[ToolContext, Inference]) -> None:
    assert log[1].customer_key == "Buyer Email"


def test_log_order_key_is_the_receipt_number(log: tuple[ToolContext, Inference]) -> None:
    assert log[1].order_key == "Receipt No"


def test_log_inferred_model(log: tuple[ToolContext, Inference]) -> None:
    assert log[1].lines() == [
        "sales_log: one row per line item; Receipt No repeats (an order has several rows) (10 rows)",
        'customer key: Buyer Email ("customers" counts distinct Buyer Email, not rows)',
        "order key: Receipt No",
        "time ranges use: Sold On",
        "revenue: sum of qty * Unit Price (no line total column); leaves out Status = refunded",
        "metrics added: revenue, orders, kept_orders, aov, customers, new_customers, returning_customers, repeat_rate, units",
    ]


def test_log_revenue_is_quantity_times_unit_price_without_refunds(log: tuple[ToolContext, Inference]) -> None:
    assert float(value(log[0], "sales_log", "revenue")) == pytest.approx(LOG_REVENUE)  # type: ignore[arg-type]


def test_log_orders_are_distinct_receipts(log: tuple[ToolContext, Inference]) -> None:
    assert value(log[0], "sales_log", "orders") == 8


def test_log_aov_divides_by_the_orders_kept(log: tuple[ToolContext, Inference]) -> None:
    assert float(value(log[0], "sales_log", "aov")) == round(LOG_REVENUE / 7, 2)  # type: ignore[arg-type]


def test_log_customers_are_distinct_buyers_not_rows(log: tuple[ToolContext, Inference]) -> None:
    assert value(log[0], "sales_log", "customers") == 5


def test_log_new_customers_in_september(log: tuple[ToolContext, Inference]) -> None:
    september = {"time_range": {"start": "2025-09-01", "end": "2025-10-01"}}
    assert value(log[0], "sales_log", "new_customers", **september) == 2  # cy and dee bought first in September


def test_log_returning_customers_in_september(log: tuple[ToolContext, Inference]) -> None:
    september = {"time_range": {"start": "2025-09-01", "end": "2025-10-01"}}
    assert value(log[0], "sales_log", "returning_customers", **september) == 1  # ana, first in August


def test_log_new_customers_by_month(log: tuple[ToolContext, Inference]) -> None:
    spec = QuerySpec.model_validate({"table": "sales_log", "metrics": [{"name": "new_customers"}], "time_grain": "month"})
    assert [r[1] for r in run_query_spec(log[0], spec).data["rows"]] == [2, 2, 1]  # Aug ana+ben, Sep cy+dee, Oct eve


def test_log_repeat_rate_counts_receipts_not_lines(log: tuple[ToolContext, Inference]) -> None:
    assert float(value(log[0], "sales_log", "repeat_rate")) == 40.0  # type: ignore[arg-type]  # ana and ben; dee's 2 lines = 1 receipt


def test_log_units_sold(log: tuple[ToolContext, Inference]) -> None:
    assert value(log[0], "sales_log", "units") == 14  # cy's refunded 4 left out


# --- two money columns ----------------------------------------------------------------------------


@pytest.fixture
def payments(tmp_path: Path) -> tuple[ToolContext, Inference]:
    ctx, inferred = load(tmp_path, "payments.csv")
    return ctx, inferred[0]


def test_two_money_columns_revenue_uses_the_named_currency(payments: tuple[ToolContext, Inference]) -> None:
    assert payments[0].profile().metric("revenue").column == "order_value_usd"  # type: ignore[union-attr]


def test_two_money_columns_the_description_names_the_other(payments: tuple[ToolContext, Inference]) -> None:
    assert "amt also exists" in (payments[0].profile().metric("revenue").description or "")  # type: ignore[union-attr]


def test_two_money_columns_the_load_says_which_was_used(payments: tuple[ToolContext, Inference]) -> None:
    assert "note: two or more money columns could be revenue: used order_value_usd; amt also exists" in "\n".join(
        payments[1].lines())


def test_payments_customers_are_distinct_customer_ids(payments: tuple[ToolContext, Inference]) -> None:
    assert value(payments[0], "payments", "customers") == 5


# --- an account table with flags -----------------------------------------------------------------
# Churned Yes: A-102 (Pro), A-105 (Pro), A-107 (Team) of 8; is_active 0/1; phone_verified y/n


@pytest.fixture
def accounts(tmp_path: Path) -> tuple[ToolContext, Inference]:
    ctx, inferred = load(tmp_path, "accounts.csv")
    return ctx, inferred[0]


def test_accounts_inferred_model(accounts: tuple[ToolContext, Inference]) -> None:
    assert accounts[1].lines() == [
        "accounts: one row per account (Account ID) (8 rows)",
        'customer key: Account ID ("customers" counts distinct Account ID, not rows)',
        "time ranges use: Signup Date",
        "flags (each a filter and a rate): Churned, phone_verified, is_active",
        "metrics added: churned_rate, phone_verified_rate, active_rate",
        'note: accounts lists customers: one row each, so "how many" counts rows',
    ]


def test_yes_no_text_loads_as_boolean(accounts: tuple[ToolContext, Inference]) -> None:
    assert accounts[0].profile().table("accounts").column("Churned").type == "BOOLEAN"  # type: ignore[union-attr]


def test_a_flag_rate_overall(accounts: tuple[ToolContext, Inference]) -> None:
    assert float(value(accounts[0], "accounts", "churned_rate")) == 37.5  # type: ignore[arg-type]


def test_a_flag_rate_by_category(accounts: tuple[ToolContext, Inference]) -> None:
    assert by(accounts[0], "accounts", "churned_rate", "Plan") == {"Pro": 66.7, "Team": 50.0, "Starter": 0.0}


def test_a_0_1_flag_filters(accounts: tuple[ToolContext, Inference]) -> None:
    spec = {"table": "accounts", "filters": [{"column": "is_active", "value": True}]}
    assert run_query_spec(accounts[0], QuerySpec.model_validate(spec)).data["rows"] == [[5]]


def test_a_yes_no_flag_filters_by_a_word(accounts: tuple[ToolContext, Inference]) -> None:
    spec = {"table": "accounts", "filters": [{"column": "Churned", "value": "yes"}]}
    assert run_query_spec(accounts[0], QuerySpec.model_validate(spec)).data["rows"] == [[3]]


def test_an_account_table_gets_no_revenue(accounts: tuple[ToolContext, Inference]) -> None:
    assert accounts[0].profile().metric("revenue") is None  # MRR is summed as a column, not called revenue


def test_an_account_table_answers_to_customers(accounts: tuple[ToolContext, Inference]) -> None:
    assert "customers" in accounts[0].profile().table("accounts").synonyms  # type: ignore[union-attr]


def test_mrr_is_money(accounts: tuple[ToolContext, Inference]) -> None:
    assert accounts[0].profile().table("accounts").column("MRR").role == "money"  # type: ignore[union-attr]


def test_text_flags_compile_whatever_the_storage(tmp_path: Path) -> None:
    """A warehouse Mara did not load (yes/no kept as text): the flag still filters and averages."""
    home = tmp_path / "raw"
    home.mkdir()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("CREATE TABLE members (member_id INTEGER, tier VARCHAR, opted_in VARCHAR)")
    con.executemany("INSERT INTO members VALUES (?, ?, ?)", [(1, "gold", "Yes"), (2, "gold", "No"), (3, "basic", "yes"),
                                                              (4, "basic", "no"), (5, "basic", "no"), (6, "gold", "Y")])
    con.close()
    ctx = ToolContext(MaraSettings(home=home, mode="offline", _env_file=None))  # type: ignore[call-arg]
    refresh_workspace_model(ctx.settings)
    ctx = ToolContext(ctx.settings)
    assert by(ctx, "members", "opted_in_rate", "tier") == {"gold": 66.7, "basic": 33.3}


# --- events and campaigns --------------------------------------------------------------------------


def test_events_click_rate_by_campaign(tmp_path: Path) -> None:
    ctx, _ = load(tmp_path, "email_events.csv")
    assert by(ctx, "email_events", "click_rate", "campaign") == {"Autumn Drop": 66.7, "Spring Sale": 25.0}  # 2/3, 1/4


def test_events_inferred_metrics(tmp_path: Path) -> None:
    _, inferred = load(tmp_path, "email_events.csv")
    assert inferred[0].metrics == ["send_count", "open_count", "click_count", "unsubscribe_count", "open_rate", "click_rate",
                                   "unsubscribe_rate", "click_to_open_rate"]


def test_campaign_open_rate_is_unique_opens_over_delivered(tmp_path: Path) -> None:
    ctx, _ = load(tmp_path, "campaign_stats.csv")
    delivered, unique_opens = 980 + 1950 + 1470 + 1760 + 1180 + 890 + 598 + 690, 400 + 700 + 600 + 650 + 500 + 300 + 330 + 250
    assert float(value(ctx, "campaign_stats", "open_rate")) == round(100 * unique_opens / delivered, 1)  # type: ignore[arg-type]


def test_a_rate_column_is_never_summed(tmp_path: Path) -> None:
    """"42.5%" text loads as a number; summing rates would be a confident wrong answer."""
    from foundation.errors import ToolInputError

    home = tmp_path / "ws"
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    path = tmp_path / "reports.csv"
    path.write_text("Title,Open Rate\nA,42.5%\nB,30%\n")
    load_file(settings.duckdb_path, path)
    with pytest.raises(ToolInputError, match="'Open Rate' holds a rate"):
        run_query_spec(ToolContext(settings), QuerySpec.model_validate(
            {"table": "reports", "metrics": [{"agg": "sum", "column": "Open Rate"}]}))


def test_campaign_open_count_is_total_opens(tmp_path: Path) -> None:
    ctx, _ = load(tmp_path, "campaign_stats.csv")
    assert value(ctx, "campaign_stats", "open_count") == 520 + 900 + 700 + 800 + 610 + 380 + 400 + 300


# --- bad input -------------------------------------------------------------------------------------


def test_an_empty_table_gets_no_metrics_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, order_date DATE, total DECIMAL(10,2))")
    con.close()
    from tools.warehouse import DuckDBWarehouse

    model, inferred = infer_semantic_model(load_profile(DuckDBWarehouse(path), None))
    assert (model.metrics, inferred["orders"].notes) == ({}, ["orders has no rows: no metrics inferred (load data with rows to get them)"])


def test_two_customer_columns_a_note_says_which_is_used(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales AS SELECT * FROM (VALUES (1, 7, 'a@x.com', DATE '2025-01-01', 10.0),"
                " (2, 7, 'a@x.com', DATE '2025-01-02', 20.0), (3, 8, 'b@x.com', DATE '2025-01-03', 5.0)) "
                "v(sale_id, customer_id, email, sold_on, amount)")
    con.close()
    from tools.warehouse import DuckDBWarehouse

    _, inferred = infer_semantic_model(load_profile(DuckDBWarehouse(path), None))
    assert inferred["sales"].notes[0] == ("customers are identified by customer_id; email could also identify them "
                                          "(set tables.sales.customer_key to change)")


def test_an_expression_with_anything_but_columns_and_arithmetic_is_refused(log: tuple[ToolContext, Inference]) -> None:
    path = log[0].settings.home / FILE_NAME
    path.write_text(path.read_text().replace("expr: qty * \"Unit Price\"", "expr: qty; DROP TABLE sales_log"))
    from foundation.errors import SemanticModelError

    with pytest.raises(SemanticModelError, match="metrics.revenue.expr: Expression 'qty; DROP TABLE sales_log' has an unexpected"):
        ToolContext(log[0].settings).profile()


def test_synonyms_round_trip_from_semantic_yaml(log: tuple[ToolContext, Inference]) -> None:
    path = log[0].settings.home / FILE_NAME
    model = load_semantic_model(path)
    assert model is not None
    model.tables["sales_log"].columns["Store"] = ColumnModel(synonyms=["shop", "branch"])
    save_semantic_model(model, path)
    profile = ToolContext(log[0].settings).profile()
    assert profile.table("sales_log").column("Store").synonyms == ["shop", "branch"]  # type: ignore[union-attr]


def test_metric_synonyms_reach_the_profile(log: tuple[ToolContext, Inference]) -> None:
    assert "sales" in log[0].profile().metric("revenue").synonyms  # type: ignore[union-attr]


@pytest.mark.integration
def test_cli_load_says_what_it_inferred(tmp_path: Path) -> None:
    from tests.test_cli import mara

    home = tmp_path / "ws"
    home.mkdir()
    run = mara("data", "load", str(SHAPES / "sales_log.csv"), "--json", home=home)
    assert run.returncode == 0, run.stderr
    inferred = json.loads(run.stdout)["inferred"]
    assert (inferred["customer_key"], inferred["order_key"], inferred["revenue"]) == (
        "Buyer Email", "Receipt No",
        "sum of qty * Unit Price (no line total column); leaves out Status = refunded")
    shown = mara("data", "load", str(SHAPES / "accounts.csv"), home=home)
    assert "flags (each a filter and a rate): Churned, phone_verified, is_active" in shown.stderr


def test_new_customers_sql_keeps_other_metrics_on_all_rows(log: tuple[ToolContext, Inference]) -> None:
    spec = QuerySpec.model_validate({"table": "sales_log", "metrics": [{"name": "new_customers"}, {"agg": "count"}]})
    assert " LEFT JOIN " in compile_query(spec, log[0].profile())
    assert run_query_spec(log[0], spec).data["rows"] == [[5, 10]]



# --- export conventions, decided by the values -----------------------------------------------------
# Each file is written here, a few rows, in the shape a real export has; loaded with the real loader.


def load_text(tmp_path: Path, name: str, text: str) -> tuple[ToolContext, Inference]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    ctx, inferred = load(tmp_path, str(path))  # SHAPES / an absolute path is that path
    return ctx, inferred[0]


# a payments log: Type charge/refund (refunds written as negative rows), Status succeeded/failed.
# Decided: revenue is what was sold (refund rows left out, as a status "refunded" is); refunds are their own metric.
BALANCE = """id,Created,Type,Status,Amount,Fee,Net,Customer Email
txn_1,1756684800,charge,succeeded,29.00,1.14,27.86,a@shop.test
txn_2,1756771200,charge,failed,19.00,0.00,19.00,b@shop.test
txn_3,1756857600,charge,succeeded,99.00,3.17,95.83,c@shop.test
txn_3r,1756861200,refund,succeeded,-99.00,0.00,-99.00,c@shop.test
txn_4,1756944000,charge,succeeded,49.00,1.72,47.28,a@shop.test
txn_5,1757030400,charge,succeeded,19.00,0.85,18.15,d@shop.test
"""


@pytest.fixture
def balance(tmp_path: Path) -> tuple[ToolContext, Inference]:
    return load_text(tmp_path, "balance.csv", BALANCE)


def test_revenue_leaves_out_refund_rows_and_failed_charges(balance: tuple[ToolContext, Inference]) -> None:
    assert float(value(balance[0], "balance", "revenue")) == 29 + 99 + 49 + 19  # type: ignore[arg-type]  # what was sold


def test_revenue_is_the_amount_customers_paid_not_the_payout_after_fees(balance: tuple[ToolContext, Inference]) -> None:
    assert balance[0].profile().metric("revenue").column == "Amount"  # type: ignore[union-attr]


def test_the_load_says_why_revenue_is_not_the_net(balance: tuple[ToolContext, Inference]) -> None:
    assert "note: Net = Amount - Fee on every row: Net is after fees (a payout), so revenue is Amount, what customers paid" in (
        balance[1].lines())


def test_the_load_says_what_revenue_leaves_out(balance: tuple[ToolContext, Inference]) -> None:
    assert ("revenue: sum of Amount; leaves out Type = refund; Type = refund rows are refunds (negative amounts): metric "
            "refunds reports them as a positive amount; leaves out Status = failed") in balance[1].lines()


def test_a_refund_row_is_not_an_order(balance: tuple[ToolContext, Inference]) -> None:
    assert value(balance[0], "balance", "orders") == 5  # six rows, one of them the refund


def test_refunds_are_reported_as_a_positive_amount(balance: tuple[ToolContext, Inference]) -> None:
    assert float(value(balance[0], "balance", "refunds")) == 99.0  # type: ignore[arg-type]


def test_unix_time_is_the_date_of_a_payments_log(balance: tuple[ToolContext, Inference]) -> None:
    assert balance[1].main_date == "Created"


# item sales as Square writes them: money as text, discounts negative, net = gross + discounts (exactly, on
# every row, and on 3+ rows where a discount was given: the evidence the loader needs to choose the net)
ITEM_SALES = """Date,Transaction ID,Customer ID,Item,Qty,Gross Sales,Discounts,Net Sales
09/01/2025,T5001,CUST-005,Mug,3,"$36.00","-$3.60","$32.40"
09/01/2025,T5002,CUST-002,Muffin,1,"$3.00","$0.00","$3.00"
09/13/2025,T5003,CUST-014,Latte,3,"$13.50","-$1.35","$12.15"
09/14/2025,T5004,CUST-002,Mug,1,"$12.00","$0.00","$12.00"
09/15/2025,T5005,CUST-007,Latte,2,"$9.00","-$0.90","$8.10"
09/16/2025,T5006,CUST-005,Muffin,2,"$6.00","-$0.60","$5.40"
"""


@pytest.fixture
def item_sales(tmp_path: Path) -> tuple[ToolContext, Inference]:
    return load_text(tmp_path, "item_sales.csv", ITEM_SALES)


def test_revenue_is_net_sales_after_discounts(item_sales: tuple[ToolContext, Inference]) -> None:
    assert item_sales[0].profile().metric("revenue").column == "Net Sales"  # type: ignore[union-attr]


def test_discounts_stored_negative_are_reported_as_a_positive_amount(item_sales: tuple[ToolContext, Inference]) -> None:
    assert float(value(item_sales[0], "item_sales", "discounts")) == 6.45  # type: ignore[arg-type]


def test_the_load_says_discounts_are_stored_negative(item_sales: tuple[ToolContext, Inference]) -> None:
    assert ("note: Discounts is stored as negative amounts: metric discounts reports it as a positive amount"
            in item_sales[1].lines())


def test_every_revenue_answer_says_net_is_gross_minus_discounts(item_sales: tuple[ToolContext, Inference]) -> None:
    assert item_sales[0].profile().metric("revenue").convention == "Gross Sales minus Discounts"  # type: ignore[union-attr]


def test_a_question_before_discounts_sums_the_gross(item_sales: tuple[ToolContext, Inference]) -> None:
    parsed = parse_question("revenue before discounts", item_sales[0].profile(), dt.date(2025, 10, 1))
    assert parsed is not None and parsed.spec.metrics[0].column == "item_sales.Gross Sales"


def test_a_question_after_fees_with_no_fee_column_is_told_so(item_sales: tuple[ToolContext, Inference]) -> None:
    parsed = parse_question("revenue after fees", item_sales[0].profile(), dt.date(2025, 10, 1))
    assert parsed is not None and parsed.clarify is not None and "can't tell revenue after fees apart" in parsed.clarify


# gross and net by name, with no exact relation between them on the rows (a hand-edited export): names alone
# decide nothing, so revenue is asked about rather than silently one of them
GROSS_NET_LOOSE = """Date,Order,Customer,Gross Sales,Net Sales
09/01/2025,A1,c1,"$36.00","$30.00"
09/02/2025,A2,c2,"$12.00","$12.00"
09/03/2025,A3,c1,"$20.00","$17.50"
09/04/2025,A4,c3,"$15.00","$11.00"
"""


def test_gross_and_net_without_an_exact_relation_are_asked_about(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "gross_net.csv", GROSS_NET_LOOSE)
    parsed = parse_question("what was revenue", ctx.profile(), dt.date(2025, 10, 1))
    assert parsed is not None and parsed.clarify is not None and "Gross Sales" in parsed.clarify


# Toast-style item lines: a Void? flag; voided lines are no sale and no order
VOIDED = """Order Id,Order Date,Menu Item,Qty,Net Price,Void?
1,11/3/25 11:01 AM,Latte,1,4.00,false
1,11/3/25 11:01 AM,Muffin,1,3.00,false
2,11/3/25 6:15 PM,Latte,2,8.00,true
3,11/4/25 9:30 AM,Latte,1,4.00,false
"""


def test_voided_lines_are_left_out_of_revenue(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "voided.csv", VOIDED)
    assert float(value(ctx, "voided", "revenue")) == 11.0  # type: ignore[arg-type]


def test_voided_lines_are_no_order(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "voided.csv", VOIDED)
    assert value(ctx, "voided", "orders") == 2


def test_a_two_digit_year_with_am_pm_is_this_century(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "voided.csv", VOIDED)
    assert ctx.warehouse.query('SELECT min("Order Date") FROM voided').rows[0][0].year == 2025


# Amazon's All Orders report: "item-price" is the line's total (2 units cost twice the 1-unit row of that sku)
AMAZON = "amazon-order-id\tpurchase-date\tsku\tquantity\titem-price\titem-tax\n" + "".join(
    f"11{i}-1\t2025-09-0{i}T20:13:21+00:00\t{sku}\t{qty}\t{price}\t{tax}\n" for i, (sku, qty, price, tax) in enumerate(
        [("BOWL", 1, "29.99", "2.17"), ("BOWL", 2, "59.98", "4.34"), ("KNIFE", 1, "39.99", "2.90"), ("KNIFE", 3, "119.97", "8.70"),
         ("BOWL", 2, "59.98", "4.34"), ("KNIFE", 1, "39.99", "2.90")], 1))


def test_a_price_that_grows_with_quantity_is_a_line_total_summed_for_revenue(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "amazon.tsv", AMAZON)
    assert float(value(ctx, "amazon", "revenue")) == pytest.approx(29.99 + 59.98 + 39.99 + 119.97 + 59.98 + 39.99)  # type: ignore[arg-type]


def test_a_payments_ledger_counts_customers_who_paid(balance: tuple[ToolContext, Inference]) -> None:
    assert value(balance[0], "balance", "customers") == 3  # b@ only has a failed charge


def test_a_payments_ledger_aov_divides_by_the_payments_revenue_counts(balance: tuple[ToolContext, Inference]) -> None:
    assert float(value(balance[0], "balance", "aov")) == pytest.approx((29 + 99 + 49 + 19) / 4)  # type: ignore[arg-type]


def test_a_line_total_is_found_by_its_values_whatever_its_name(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "lines.csv", "Invoice No,Customer ID,Date,Qty,Price,Extended\n"
                       "1001,C1,2025-01-01,2,5.00,10.00\n1001,C1,2025-01-01,1,3.00,3.00\n"
                       "1002,C2,2025-01-02,4,2.50,10.00\n1003,C1,2025-01-03,3,1.00,3.00\n")
    assert ctx.profile().metric("revenue").column == "Extended"  # type: ignore[union-attr]


def test_returning_customers_are_not_a_refund(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "orders.csv", "Order ID,Customer ID,Date,Customer Type,Total\n"
                       "1,C1,2025-01-01,New,10.00\n2,C1,2025-01-05,Returning,20.00\n3,C2,2025-01-06,New,5.00\n")
    assert ctx.profile().metric("revenue").where == ()  # type: ignore[union-attr]


def test_zip_codes_phones_and_order_numbers_are_never_summed(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "codes.csv", "Order Number,Customer,Zip,Phone,Amount (USD)\n"
                       "100234,C1,10115,5551234567,5.00\n100235,C2,94105,5559876543,6.00\n100236,C1,60601,5551112222,7.00\n")
    table = ctx.profile().table("codes")
    assert table is not None and [c.name for c in table.columns if c.role in ("money", "number")] == ["Amount (USD)"]


def test_an_ad_report_under_a_title_line_gets_rates_per_impression_and_click(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "ads.csv", "Campaign performance report\nCampaign,Impr.,Clicks,Cost,Conversions\n"
                       'Brand,1000,50,"$25.00",5\nGeneric,3000,50,"$60.00",1\nRetargeting,1000,20,"$5.00",1\n')
    assert (float(value(ctx, "ads", "click_rate")), float(value(ctx, "ads", "conversion_rate"))) == (  # type: ignore[arg-type]
        2.4, 5.8)  # 120 clicks / 5000 impressions; 7 conversions / 120 clicks


def test_ad_cost_answers_to_spend(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "ads.csv", "Campaign,Impr.,Clicks,Cost\nBrand,1000,50,\"$25.00\"\nGeneric,3000,50,\"$60.00\"\n")
    assert "spend" in ctx.profile().table("ads").column("Cost").synonyms  # type: ignore[union-attr]


# --- two money columns with an equal claim: the model says so and the planner asks ---------------


@pytest.fixture
def two_amounts(tmp_path: Path) -> ToolContext:
    return load_text(tmp_path, "payments.csv", "Payment ID,Customer ID,Date,Amount,Paid\n"
                     "1,C1,2025-01-01,10.00,9.00\n2,C2,2025-01-02,20.00,20.00\n3,C1,2025-01-03,5.00,5.00\n")[0]


def test_two_money_columns_with_an_equal_claim_are_recorded(two_amounts: ToolContext) -> None:
    assert two_amounts.profile().metric("revenue").ambiguous_with == ("Paid",)  # type: ignore[union-attr]


def test_the_planner_asks_which_money_column_revenue_means(two_amounts: ToolContext) -> None:
    parsed = parse_question("What is our total revenue?", two_amounts.profile(), dt.date(2025, 2, 1))
    assert parsed is not None and parsed.clarify == (
        "Your payments table has several money columns that could be revenue (Amount, Paid). Which one do you mean?")


def test_naming_the_column_answers_without_asking(two_amounts: ToolContext) -> None:
    parsed = parse_question("What is the total Paid?", two_amounts.profile(), dt.date(2025, 2, 1))
    assert parsed is not None and parsed.clarify is None


def test_withdrawals_to_the_bank_are_not_sales(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "activity.csv", "Date,Type,Status,Gross,Fee,Net,From Email Address,Transaction ID\n"
                       "01/05/2024,Express Checkout Payment,Completed,45.00,-2.06,42.94,a@x.test,T001\n"
                       "01/06/2024,Website Payment,Completed,76.00,-3.14,72.86,b@x.test,T002\n"
                       "01/07/2024,General Withdrawal,Completed,-100.00,0.00,-100.00,shop@x.test,T003\n"
                       "01/08/2024,Express Checkout Payment,Completed,30.00,-1.20,28.80,a@x.test,T004\n")
    assert float(value(ctx, "activity", "revenue")) == 151.0  # type: ignore[arg-type]


def test_a_fee_stored_negative_is_reported_positive_on_the_sales_revenue_counts(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "activity.csv", "Date,Type,Status,Gross,Fee,Net,From Email Address,Transaction ID\n"
                       "01/05/2024,Express Checkout Payment,Completed,45.00,-2.06,42.94,a@x.test,T001\n"
                       "01/06/2024,Website Payment,Denied,76.00,-3.14,72.86,b@x.test,T002\n"
                       "01/08/2024,Express Checkout Payment,Completed,30.00,-1.20,28.80,a@x.test,T004\n")
    assert float(value(ctx, "activity", "fee")) == 3.26  # type: ignore[arg-type]


def test_a_column_filled_only_on_some_rows_is_no_rival_for_revenue(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "orders.csv", "Order ID,Buyer,Sale Date,Order Total,Adjusted Order Total\n"
                       "1,ann,2025-01-01,10.00,\n2,bo,2025-01-02,20.00,15.00\n3,ann,2025-01-03,5.00,\n"
                       "4,cy,2025-01-04,8.00,\n")
    assert ctx.profile().metric("revenue").ambiguous_with == ()  # type: ignore[union-attr]


def test_tables_joined_by_a_column_name_with_spaces(tmp_path: Path) -> None:
    (tmp_path / "gifts.csv").write_text("Gift ID,Supporter ID,Gift Date,Amount,Status\nG1,S1,22/06/2022,£60.00,Received\n"
                                        "G2,S2,26/06/2022,£15.00,Received\nG3,S1,29/06/2022,£30.00,Refunded\n")
    load_text(tmp_path, "supporters.csv", "Supporter ID,Region,Date Added\nS1,London,08/06/2022\nS2,Wales,10/06/2022\n")
    ctx, _ = load(tmp_path, str(tmp_path / "gifts.csv"))
    assert by(ctx, "gifts", "revenue", "supporters.Region") == {"London": 60.0, "Wales": 15.0}  # G3 refunded


def test_a_supporter_table_lists_customers(tmp_path: Path) -> None:
    _, info = load_text(tmp_path, "supporters.csv", "Supporter ID,Region,Date Added\nS1,London,08/06/2022\nS2,Wales,10/06/2022\n")
    assert info.customer_key == "Supporter ID"


ADS = ("Campaign report\n\"June 2, 2025 - June 15, 2025\"\nWeek,Campaign,Impr.,Clicks,CTR,Cost,Conversions,Cost / conv.,Conv. value\n"
       '2025-06-02,Brand,"5,000",500,10.00%,100.00,20.00,5.00,"1,000.00"\n'
       "2025-06-02,Generic,1000,0,0.00%,0.00,0.00,--,0.00\n"
       '2025-06-09,Brand,"4,000",300,7.50%,50.00,5.00,10.00,500.00\n')


@pytest.mark.parametrize(("metric", "expected"), [("click_rate", 8.0), ("cpc", 0.19), ("cost_per_conversion", 6.0),
                                                  ("roas", 10.0), ("spend", 150.0), ("impression_count", 10000)])
def test_an_ad_reports_ratios_are_recomputed_from_sums(tmp_path: Path, metric: str, expected: float) -> None:
    ctx, _ = load_text(tmp_path, "campaigns.csv", ADS)
    assert float(value(ctx, "campaigns", metric)) == expected  # type: ignore[arg-type]


GIFTS = "Gift ID,Supporter ID,Gift Date,Amount,Status\nG1,S1,2025-01-02,£60.00,Received\nG2,S2,2025-01-03,£15.00,Pending\n" \
        "G3,S1,2025-01-04,£30.00,Refunded\nG4,S3,2025-01-05,£10.00,Received\n"


def test_a_pending_gift_is_not_money_received(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "gifts.csv", GIFTS)
    assert float(value(ctx, "gifts", "revenue")) == 70.0  # type: ignore[arg-type]


def test_a_pending_order_is_still_a_sale(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "orders.csv", GIFTS.replace("Gift ID", "Order ID").replace("Supporter ID", "Customer ID"))
    assert float(value(ctx, "orders", "revenue")) == 85.0  # type: ignore[arg-type]


TICKETS = "Id,Requester email,Via,Satisfaction Score,Created at\n1,a@x.test,Email,Good,2025-06-01\n2,b@x.test,Chat,Bad,2025-06-02\n" \
          "3,a@x.test,Email,Offered,2025-06-03\n4,c@x.test,Web,Good,2025-06-04\n5,d@x.test,Chat,Unoffered,2025-06-05\n"


def test_csat_is_good_over_rated_tickets(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "tickets.csv", TICKETS)
    assert float(value(ctx, "tickets", "satisfaction_rate")) == 66.7  # type: ignore[arg-type]  # 2 good of 3 rated


def test_a_help_desks_via_answers_to_channel(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "tickets.csv", TICKETS)
    assert ctx.profile().table("tickets").column("Via").synonyms == ["channel"]  # type: ignore[union-attr]


# ship-state typed by buyers: one state as "CA", "California" and "ca"
STATES = """order-id,purchase-date,ship-state,item-price
o1,2025-09-01,CA,10.00
o2,2025-09-02,California,20.00
o3,2025-09-03,ca,30.00
o4,2025-09-04,TX,40.00
o5,2025-09-05,NY,50.00
"""


def test_a_state_filter_takes_every_spelling_of_the_state(tmp_path: Path) -> None:
    ctx, _ = load_text(tmp_path, "states.csv", STATES)
    parsed = parse_question("how many orders from California", ctx.profile(), dt.date(2025, 10, 1))
    assert parsed is not None and run_query_spec(ctx, parsed.spec).data["rows"][0][-1] == 3
