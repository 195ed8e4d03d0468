"""A column on order lines and on their order ("Ship Country", "status") is read as the order's only when the
line's is a copy of it (the same values); otherwise the line's own column is what the question names."""

from __future__ import annotations

from tests.test_parser_lapsed import col, parse
from tools.schema_profile import SchemaProfile, TableProfile


def _lines_and_orders(line_status: list[str]) -> SchemaProfile:
    return SchemaProfile(tables=[
        TableProfile("orders", 50, [col("order_id", "id"), col("status", "category", ["pending", "shipped", "cancelled", "refunded"]),
                                    col("order_date", "date", low="2025-01-01", high="2026-12-01")], primary_key="order_id",
                     main_date="order_date"),
        TableProfile("items", 120, [col("item_id", "id"), col("order_id", "id"), col("status", "category", line_status)],
                     primary_key="item_id"),
    ])


def test_a_line_status_that_is_a_subset_of_the_orders_stays_the_lines() -> None:
    spec = parse("how many items by status", _lines_and_orders(["shipped", "cancelled"])).spec
    assert spec.dimensions == ["items.status"]


def test_a_line_column_holding_the_orders_values_is_the_orders() -> None:
    spec = parse("how many items by status", _lines_and_orders(["pending", "shipped", "cancelled", "refunded"])).spec
    assert spec.dimensions == ["orders.status"]
