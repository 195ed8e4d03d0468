"""`mara data load` reads values as real exports write them: two-digit years (Toast), German dates and
decimal-comma money (SumUp), percent text (Klaviyo), flags written every way at once, blank money that
stays unknown (Amazon), and money in several currencies that is never added across them (Chargebee)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb

from tools.data_load import load_file
from tools.schema_profile import load_profile
from tools.semantic_model import infer_semantic_model


def load(tmp_path: Path, text: str) -> tuple[dict[str, list[object]], list[str]]:
    """Load a small CSV; each column's values in file order, and the load report's notes."""
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    report = load_file(tmp_path / "w.duckdb", path, replace=True)
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        cursor = con.execute('SELECT * FROM "export"')
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        con.close()
    return {n: [r[i] for r in rows] for i, n in enumerate(names)}, report.notes


TOAST = ("Order Id,Order Date,Net Price\n"
         "418200058,11/3/25 11:01 AM,10.00\n418200059,11/14/25 7:45 PM,27.00\n418200060,11/30/25 9:00 PM,4.00\n")


def test_two_digit_years_in_a_date_and_time_are_this_century(tmp_path: Path) -> None:
    assert load(tmp_path, TOAST)[0]["Order Date"][0] == dt.datetime(2025, 11, 3, 11, 1)


def test_the_load_says_how_two_digit_years_were_read(tmp_path: Path) -> None:
    assert ("Order Date: date and time written as M/D/YY h:mm AM/PM → TIMESTAMP (2-digit years read as 20xx for 00–68, "
            "19xx for 69–99)") in load(tmp_path, TOAST)[1]


def test_a_two_digit_year_of_69_or_later_is_last_century(tmp_path: Path) -> None:
    values = load(tmp_path, "Member,Joined\nA,1/2/99\nB,3/4/05\nC,12/31/70\n")[0]["Joined"]
    assert [v.year for v in values] == [1999, 2005, 1970]  # type: ignore[attr-defined]


SUMUP = ('Transaction ID,Date,Total Amount,Payout,Payout Date\n'
         'TWQPHF6ABN,01.08.2025 09:56,"11,70 €","0,00",\n'
         'T45TK2W3S4,01.08.2025 15:03,"1.211,20 €","1.209,04",05.08.2025\n'
         'TM67SKZDXH,13.08.2025 17:31,"15,40 €","15,16",15.08.2025\n')


def test_german_dates_and_times_are_day_first(tmp_path: Path) -> None:
    assert load(tmp_path, SUMUP)[0]["Date"][2] == dt.datetime(2025, 8, 13, 17, 31)


def test_decimal_comma_money_with_a_currency_sign_is_a_number(tmp_path: Path) -> None:
    assert load(tmp_path, SUMUP)[0]["Total Amount"] == [Decimal("11.70"), Decimal("1211.20"), Decimal("15.40")]


def test_decimal_comma_numbers_without_a_currency_sign_are_numbers(tmp_path: Path) -> None:
    assert load(tmp_path, SUMUP)[0]["Payout"] == [Decimal("0.00"), Decimal("1209.04"), Decimal("15.16")]


def test_the_load_says_decimal_commas_were_read(tmp_path: Path) -> None:
    assert "Payout: decimal-comma numbers (e.g. 1.234,50) → DECIMAL(18,2)" in load(tmp_path, SUMUP)[1]


def test_thousands_commas_are_not_decimal_commas(tmp_path: Path) -> None:
    assert load(tmp_path, 'Campaign,Recipients\nA,"17,404"\nB,"1,661"\nC,"3,501"\n')[0]["Recipients"] == [17404, 1661, 3501]


KLAVIYO = "Campaign,Open Rate\nWeekly,38.13%\nFlash Sale,50.36%\nSMS,\n"


def test_percent_text_is_a_number_in_percent(tmp_path: Path) -> None:
    assert load(tmp_path, KLAVIYO)[0]["Open Rate"] == [38.13, 50.36, None]


def test_the_load_says_percent_text_is_kept_in_percent(tmp_path: Path) -> None:
    assert "Open Rate: percentages written as text (42.5%) → DOUBLE in percent (42.5, not 0.425)" in load(tmp_path, KLAVIYO)[1]


def test_a_day_above_12_decides_day_first_date_times(tmp_path: Path) -> None:
    values = load(tmp_path, "Ref,Booked\nA,03/04/2025 10:00\nB,25/04/2025 11:30\nC,01/05/2025 09:15\n")[0]["Booked"]
    assert values[0] == dt.datetime(2025, 4, 3, 10, 0)


def test_date_times_that_read_both_ways_say_month_first_was_assumed(tmp_path: Path) -> None:
    notes = load(tmp_path, "Ref,Booked\nA,03/04/2025 10:00\nB,01/02/2025 11:30\nC,12/05/2025 09:15\n")[1]
    assert any(n.startswith("Booked:") and "read as month/day" in n for n in notes)


def test_a_flag_written_every_way_at_once_is_a_boolean(tmp_path: Path) -> None:
    text = "Member,Birthday Club\nA,Yes\nB,no\nC,TRUE\nD,false\nE,1\nF,0\nG,Y\nH,\n"
    assert load(tmp_path, text)[0]["Birthday Club"] == [True, False, True, False, True, False, True, None]


def test_blank_money_on_pending_rows_stays_unknown_not_zero(tmp_path: Path) -> None:
    text = "order-id,order-status,item-price\n112-1,Shipped,29.99\n112-2,Pending,\n112-3,Cancelled,\n112-4,Shipped,$5.00\n"
    assert load(tmp_path, text)[0]["item-price"] == [Decimal("29.99"), None, None, Decimal("5.00")]


CHARGEBEE = ("subscription_id,status,currency_code,mrr\n"
             "AzZ1,active,USD,99.00\nAzZ2,active,EUR,79.00\nAzZ3,cancelled,GBP,0.00\nAzZ4,active,USD,199.00\n")


def test_money_in_several_currencies_records_its_currency_column(tmp_path: Path) -> None:
    load(tmp_path, CHARGEBEE)
    from tools.warehouse import DuckDBWarehouse

    model, _ = infer_semantic_model(load_profile(DuckDBWarehouse(tmp_path / "w.duckdb"), None))
    assert model.tables["export"].columns["mrr"].currency_column == "currency_code"


def test_money_in_one_currency_records_no_currency_column(tmp_path: Path) -> None:
    load(tmp_path, CHARGEBEE.replace("EUR", "USD").replace("GBP", "USD"))
    from tools.warehouse import DuckDBWarehouse

    profile = load_profile(DuckDBWarehouse(tmp_path / "w.duckdb"), None)
    assert profile.tables[0].column("mrr").currency_column is None  # type: ignore[union-attr]


def ask(tmp_path: Path, question: str) -> object:
    """The offline planner's reading of ``question`` over the loaded export (with its inferred semantic model)."""
    from assistant.planner.parser import parse_question
    from tools.semantic_model import apply_semantic_model
    from tools.warehouse import DuckDBWarehouse

    profile = load_profile(DuckDBWarehouse(tmp_path / "w.duckdb"), None)
    return parse_question(question, apply_semantic_model(profile, infer_semantic_model(profile)[0]), dt.date(2025, 12, 1))


def test_a_total_across_currencies_is_refused_with_what_to_ask_instead(tmp_path: Path) -> None:
    load(tmp_path, CHARGEBEE)
    assert "several currencies" in (getattr(ask(tmp_path, "What is our total MRR?"), "clarify", None) or "")


def test_a_total_in_one_currency_is_answered(tmp_path: Path) -> None:
    load(tmp_path, CHARGEBEE)
    assert getattr(ask(tmp_path, "What's our MRR in USD?"), "clarify", "") is None


def test_a_total_per_currency_is_answered(tmp_path: Path) -> None:
    load(tmp_path, CHARGEBEE)
    assert getattr(ask(tmp_path, "MRR by currency"), "clarify", "") is None


STRIPE = ("id,Amount,Currency,Converted Amount,Converted Currency,Fee\n"
          "ch_1,29.00,usd,29.00,usd,1.14\nch_2,99.00,eur,107.50,usd,3.42\nch_3,49.00,usd,49.00,usd,1.72\n")


def test_an_amount_converted_to_one_currency_adds_up(tmp_path: Path) -> None:
    load(tmp_path, STRIPE)
    assert getattr(ask(tmp_path, "What is the total converted amount?"), "clarify", "") is None


def test_the_amount_in_each_rows_own_currency_does_not(tmp_path: Path) -> None:
    load(tmp_path, STRIPE)
    from tools.warehouse import DuckDBWarehouse

    table = load_profile(DuckDBWarehouse(tmp_path / "w.duckdb"), None).tables[0]
    assert [c.name for c in table.columns if c.currency_column] == ["Amount"]  # Fee is in the account's currency


def test_the_smallest_amount_across_currencies_is_refused(tmp_path: Path) -> None:
    load(tmp_path, CHARGEBEE)  # 79 EUR is not less than 99 USD
    assert "several currencies" in (getattr(ask(tmp_path, "What is the minimum MRR?"), "clarify", None) or "")


def test_the_smallest_amount_in_one_currency_is_answered(tmp_path: Path) -> None:
    load(tmp_path, CHARGEBEE)
    assert getattr(ask(tmp_path, "What's the minimum MRR in USD?"), "clarify", "") is None


def test_day_first_two_digit_years_are_not_read_year_first(tmp_path: Path) -> None:
    # DuckDB's sniffer reads 13/02/25 as %y/%m/%d (2013-02-25); only D/M/YY reads every value
    assert load(tmp_path, "order_id,order_date\n1,13/02/25\n2,01/03/25\n")[0]["order_date"] == [dt.date(2025, 2, 13), dt.date(2025, 3, 1)]
