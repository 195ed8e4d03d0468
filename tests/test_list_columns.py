"""List columns: exports that hold several values in one cell (Shopify and Mailchimp tags,
Zendesk ticket tags). Told apart by their values, their items are the column's values, a
filter on one means "the cell holds this item", and a group-by counts a row once under each item.

Fixtures are a few rows written here, in the three shapes the exports use: comma-separated
(Shopify "VIP, Newsletter"), quoted and comma-separated (Mailchimp "\"VIP\",\"Newsletter\"")
and space-separated (Zendesk "billing vip").
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assistant.planner.parser import parse_question
from foundation.settings import MaraSettings
from tools.context import ToolContext
from tools.data import run_query_spec
from tools.data_load import load_file
from tools.query_spec import QuerySpec, compile_query
from tools.semantic_model import load_semantic_model, refresh_workspace_model

# Shopify customers: "VIP Gold" is its own tag, not VIP
SHOPIFY = """Customer ID,Email,Tags,Total Spent
C1,a@x.test,"VIP, Newsletter",10
C2,b@x.test,Newsletter,20
C3,c@x.test,"Newsletter, VIP, Wholesale",30
C4,d@x.test,,40
C5,e@x.test,"Wholesale, VIP Gold",50
C6,f@x.test,VIP,60
C7,g@x.test,VIP Gold,70
"""

MAILCHIMP = '''Email Address,First Name,TAGS
a@x.test,Ann,"""VIP"",""Newsletter"""
b@x.test,Bob,"""Newsletter"""
c@x.test,Cy,"""Newsletter"",""VIP"""
d@x.test,Di,"""Promo"""
e@x.test,Ed,"""Promo"",""Newsletter"""
'''

ZENDESK = """Id,Subject,Tags
1,Card declined,billing vip
2,Money back,refund
3,Call me,vip
4,Double charge,refund billing
5,Locked out,login
6,Refund please,vip refund
7,Reset,login billing
"""


# a Mailchimp audience: first names repeat too, yet they are no way to slice the audience
AUDIENCE = """Email Address,First Name,Last Name,Country,Status
a@x.test,Ann,Lee,France,subscribed
b@x.test,Bob,Kim,Spain,subscribed
c@x.test,Ann,Roy,France,unsubscribed
d@x.test,Cy,Lee,Italy,subscribed
e@x.test,Bob,Kim,Germany,cleaned
"""


def workspace(tmp_path: Path, name: str, text: str) -> ToolContext:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    settings = MaraSettings(home=tmp_path / "ws", mode="offline", _env_file=None)  # type: ignore[call-arg]
    report = load_file(settings.duckdb_path, path)
    refresh_workspace_model(settings, changed=[report.table], money={report.table: report.money_columns})
    return ToolContext(settings)


def count(ctx: ToolContext, table: str, **spec: object) -> int:
    query = QuerySpec.model_validate({"table": table, "metrics": [{"agg": "count"}], **spec})
    return int(run_query_spec(ctx, query).data["rows"][0][-1])


@pytest.fixture(scope="module")
def shopify(tmp_path_factory: pytest.TempPathFactory) -> ToolContext:
    return workspace(tmp_path_factory.mktemp("shopify"), "customers.csv", SHOPIFY)


@pytest.fixture(scope="module")
def mailchimp(tmp_path_factory: pytest.TempPathFactory) -> ToolContext:
    return workspace(tmp_path_factory.mktemp("mailchimp"), "members.csv", MAILCHIMP)


@pytest.fixture(scope="module")
def zendesk(tmp_path_factory: pytest.TempPathFactory) -> ToolContext:
    return workspace(tmp_path_factory.mktemp("zendesk"), "tickets.csv", ZENDESK)


@pytest.fixture(scope="module")
def audience(tmp_path_factory: pytest.TempPathFactory) -> ToolContext:
    return workspace(tmp_path_factory.mktemp("audience"), "audience.csv", AUDIENCE)


def test_comma_tags_are_a_list_of_items(shopify: ToolContext) -> None:
    column = shopify.profile().table("customers").column("Tags")  # type: ignore[union-attr]
    assert (column.list_separator, sorted(column.values)) == (",", ["Newsletter", "VIP", "VIP Gold", "Wholesale"])  # type: ignore[union-attr]


def test_quoted_comma_tags_are_a_list_of_items(mailchimp: ToolContext) -> None:
    column = mailchimp.profile().table("members").column("TAGS")  # type: ignore[union-attr]
    assert (column.list_separator, sorted(column.values)) == (",", ["Newsletter", "Promo", "VIP"])  # type: ignore[union-attr]


def test_space_separated_tags_are_a_list_of_items(zendesk: ToolContext) -> None:
    column = zendesk.profile().table("tickets").column("Tags")  # type: ignore[union-attr]
    assert (column.list_separator, sorted(column.values)) == (" ", ["billing", "login", "refund", "vip"])  # type: ignore[union-attr]


def test_the_separator_is_written_to_the_semantic_model(zendesk: ToolContext) -> None:
    model = load_semantic_model(zendesk.settings.home / "semantic.yaml")
    assert model is not None and model.tables["tickets"].columns["Tags"].list_separator == " "


def test_values_with_spaces_are_not_a_list(tmp_path: Path) -> None:
    ctx = workspace(tmp_path, "stores.csv", "Store,City,Product\n" + "".join(
        f"S{i},{city},{product}\n" for i, (city, product) in enumerate([
            ("New York", "Trail Tent"), ("Los Angeles", "Trail Shoes"), ("New York", "Road Shoes"),
            ("Boston", "Road Tent"), ("Los Angeles", "Trail Hat"), ("New York", "Road Hat")])))
    table = ctx.profile().table("stores")
    assert [table.column(c).list_separator for c in ("City", "Product")] == [None, None]  # type: ignore[union-attr]


def test_a_filter_on_a_comma_list_matches_the_whole_item(shopify: ToolContext) -> None:
    assert count(shopify, "customers", filters=[{"column": "Tags", "op": "=", "value": "vip"}]) == 3


def test_a_filter_on_quoted_tags(mailchimp: ToolContext) -> None:
    assert count(mailchimp, "members", filters=[{"column": "TAGS", "op": "=", "value": "Newsletter"}]) == 4


def test_a_filter_on_space_separated_tags(zendesk: ToolContext) -> None:
    assert count(zendesk, "tickets", filters=[{"column": "Tags", "op": "=", "value": "billing"}]) == 3


def test_not_tagged_counts_rows_without_the_item_and_empty_cells(shopify: ToolContext) -> None:
    assert count(shopify, "customers", filters=[{"column": "Tags", "op": "!=", "value": "VIP"}]) == 4


def test_a_group_by_counts_a_row_once_under_each_item(zendesk: ToolContext) -> None:
    query = QuerySpec.model_validate({"table": "tickets", "metrics": [{"agg": "count"}], "dimensions": ["Tags"]})
    rows = run_query_spec(zendesk, query).data["rows"]
    assert {r[0]: int(r[1]) for r in rows} == {"billing": 3, "refund": 3, "vip": 3, "login": 2}


def test_an_item_is_a_literal_never_a_wildcard(shopify: ToolContext) -> None:
    sql = compile_query(QuerySpec.model_validate({"table": "customers", "metrics": [{"agg": "count"}],
                                                  "filters": [{"column": "Tags", "op": "=", "value": "VIP"}]}), shopify.profile())
    assert "LIKE" not in sql.upper()


def test_the_planner_counts_customers_tagged_vip(shopify: ToolContext) -> None:
    parsed = parse_question("How many customers are tagged VIP?", shopify.profile(), dt.date(2025, 2, 1))
    assert parsed is not None and int(run_query_spec(shopify, parsed.spec).data["rows"][0][-1]) == 3


def test_a_clarifying_question_offers_categories_not_names(audience: ToolContext) -> None:
    parsed = parse_question("How many contacts are platinum?", audience.profile(), dt.date(2025, 2, 1))
    assert parsed is not None and parsed.clarify is not None and "Name" not in parsed.clarify


def test_a_clarifying_question_offers_the_fewest_values_first(audience: ToolContext) -> None:
    parsed = parse_question("How many contacts are platinum?", audience.profile(), dt.date(2025, 2, 1))
    assert parsed is not None and parsed.clarify is not None and parsed.clarify.index("Status") < parsed.clarify.index("Country")
