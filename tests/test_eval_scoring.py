"""The answer scorer: which figures a reply states and whether they are the truth (real reply shapes)."""

from __future__ import annotations

from assistant.evaluation.scoring import extract_figures, matches, names_group, score_reply

OFFLINE_BREAKDOWN = (
    "Revenue (sum of orders.total) by country (last month (2025-10-01 to 2025-10-31)): 10 groups. "
    "Highest first — Germany: **1,234.57**, United States: **990.00**, France: **87.35** and 7 more. "
    "The full table (revenue) is attached.\n\n_How: one read-only query over `orders`._\n\n"
    "_Offline mode: answered by Mara's built-in planner, no LLM involved. Set OPENAI_API_KEY or "
    "MARA_LLM_BASE_URL for free-form answers._"
)
OFFLINE_TREND = ("Orders by month: 10 groups. From 2025-01-01 to 2025-10-01: highest 2025-03-01 (**412**), "
                 "lowest 2025-01-01 (97), latest 250. The full table (orders) is attached.")
LLM_TABLE = """Here is revenue by channel for Q3 2025:

| Channel | Revenue |
|---|---|
| Web | $12,400.50 |
| App | $8,150.00 |
| Store | $1.2K |

```sql
SELECT channel, SUM(total) FROM orders WHERE order_date >= '2025-07-01' GROUP BY 1 LIMIT 10
```"""
COULDNT_MAP = ("I couldn't map that question to a query over your data. Here is what I can see:\n\n"
               "Your warehouse has 2 tables:\n- **orders** — 1,250 rows; columns: order_id, total\n"
               "- **customers** — 300 rows; columns: customer_id, country")


def values(reply: str) -> list[float]:
    return [f.values[0] for f in extract_figures(reply)]


def test_breakdown_figures_are_the_bold_numbers() -> None:
    assert values(OFFLINE_BREAKDOWN) == [1234.57, 990.0, 87.35]


def test_group_count_and_period_dates_are_not_figures() -> None:
    assert 10.0 not in values(OFFLINE_BREAKDOWN)


def test_trend_dates_are_not_figures() -> None:
    assert values(OFFLINE_TREND) == [412.0, 97.0, 250.0]


def test_currency_in_a_markdown_table() -> None:
    assert values(LLM_TABLE)[:2] == [12400.5, 8150.0]


def test_abbreviation_is_scaled() -> None:
    assert values(LLM_TABLE)[2] == 1200.0


def test_sql_in_code_is_not_a_figure() -> None:
    assert len(values(LLM_TABLE)) == 3


def test_quarter_label_is_not_a_figure() -> None:
    assert values("In Q3 2025 you had **42** orders.") == [42.0]


def test_negative_number() -> None:
    assert values("Net change: **-1,250.75** vs last month.") == [-1250.75]


def test_unicode_minus_and_currency() -> None:
    assert values("Refunds came to −$45.10.") == [-45.1]


def test_accounting_negative_needs_a_currency() -> None:
    assert values("Loss ($45.10); lowest month (12).") == [-45.1, 12.0]


def test_dash_between_label_and_number_is_no_sign() -> None:
    assert values("Germany - 1,234") == [1234.0]


def test_month_name_dates_are_not_figures() -> None:
    assert values("Between March 5, 2025 and 12 April 2025 there were 17 sign-ups.") == [17.0]


def test_numbered_list_markers_are_not_figures() -> None:
    assert values("1. Germany — 512 customers\n2. France — 230 customers") == [512.0, 230.0]


def test_percentage_reads_as_share_and_percent() -> None:
    (figure,) = extract_figures("**23.7%** of customers opted in to SMS.")
    assert figure.values == (23.7, 0.237)


def test_share_truth_matches_percentage() -> None:
    (figure,) = extract_figures("23.7%")
    assert matches(figure, 0.2371)


def test_rounding_of_shown_digits_matches() -> None:
    (figure,) = extract_figures("$1,234.6")
    assert matches(figure, 1234.567)


def test_relative_half_percent_matches() -> None:
    (figure,) = extract_figures("about 1,230")
    assert matches(figure, 1234.567)


def test_abbreviation_outside_one_percent_does_not_match() -> None:
    (figure,) = extract_figures("1.2K")
    assert not matches(figure, 1234.567)


def test_abbreviation_within_one_percent_matches() -> None:
    (figure,) = extract_figures("$1.23K")
    assert matches(figure, 1234.567)


def test_different_number_does_not_match() -> None:
    (figure,) = extract_figures("1,240")
    assert not matches(figure, 1230.0)


def test_breakdown_with_the_first_three_truths_is_right() -> None:
    assert score_reply(OFFLINE_BREAKDOWN, "rows", [1234.567, 990.0, 87.35]).outcome == "right"


def test_breakdown_missing_one_truth_is_wrong() -> None:
    assert score_reply(OFFLINE_BREAKDOWN, "rows", [1234.567, 990.0, 88.0]).outcome == "wrong"


def test_value_among_other_figures_is_right() -> None:
    reply = "**4.8%** of orders (6,712 of 139,411) have status returned."
    assert score_reply(reply, "value", [6712.0]).outcome == "right"


def test_other_figure_is_wrong() -> None:
    assert score_reply("You have **8** orders.", "value", [3.0]).outcome == "wrong"


def test_year_alone_is_not_a_wrong_figure() -> None:
    assert score_reply("I have no data for 2024.", "value", [3.0]).outcome == "declined"


def test_year_like_count_still_matches() -> None:
    assert score_reply("There were 2024 orders.", "value", [2024.0]).outcome == "right"


def test_couldnt_map_reply_with_row_counts_is_declined() -> None:
    assert score_reply(COULDNT_MAP, "value", [42.0]).outcome == "declined"


def test_no_column_reply_is_declined() -> None:
    reply = "I couldn't find a column for “TikTok” in your data, so I won't guess. You can break results down by: channel."
    assert score_reply(reply, "value", [42.0]).outcome == "declined"


def test_clarifying_question_without_figures_is_declined() -> None:
    assert score_reply("Do you mean revenue or number of orders?", "value", [42.0]).outcome == "declined"


def test_decline_truth_right_when_reply_declines() -> None:
    reply = "Your data doesn't track which ad an order came from, so I can't count TikTok orders."
    assert score_reply(reply, "decline").outcome == "right"


def test_decline_truth_wrong_when_reply_states_a_figure() -> None:
    assert score_reply("You have **8** orders.", "decline").outcome == "wrong"


def test_group_named_case_insensitively() -> None:
    assert score_reply("Most revenue comes from GERMANY (**1,234**).", "group", label="Germany").outcome == "right"


def test_group_needs_word_boundaries() -> None:
    assert not names_group("Sales in Germanyland rose.", "Germany")


def test_group_label_with_underscore_matches_spaces() -> None:
    assert names_group("Paid social leads.", "paid_social")


def test_group_not_named_with_figures_is_wrong() -> None:
    assert score_reply("France leads with **990**.", "group", label="Germany").outcome == "wrong"


def test_group_not_named_without_figures_is_still_wrong() -> None:
    assert score_reply("France brings the most revenue.", "group", label="Germany").outcome == "wrong"


def test_group_question_declined() -> None:
    assert score_reply("I can't tell which country: there is no country column.", "group", label="Germany").outcome == "declined"


def test_tool_error_reply_is_declined() -> None:
    reply = ("I couldn't answer that with `predict_churn`: orders has 6 customers with counted orders; "
             "at least 50 are needed. Load more order history.")
    assert score_reply(reply, "value", [125.5]).outcome == "declined"


def test_sql_type_parameters_are_not_figures() -> None:
    assert values("Error: no function replace(DECIMAL(18,2), VARCHAR) matches.") == []


# --- "which group" answers: the headline is the answer -------------------------------------------------

def test_group_named_only_further_down_a_list_is_wrong() -> None:
    reply = "**United States** is first by contacts (**22**). Highest first — United States: **22**, Germany: **6**."
    assert score_reply(reply, "group", label="Germany").outcome == "wrong"


def test_group_in_the_bold_headline_is_right() -> None:
    reply = "**Germany** is first by revenue (**1,234.00**). Highest first — Germany: **1,234.00**, France: **990.00**."
    assert score_reply(reply, "group", label="Germany").outcome == "right"


def test_group_headline_skips_bold_figures() -> None:
    assert score_reply("Top: **1,234** orders from **Germany**.", "group", label="Germany").outcome == "right"


def test_group_headline_period_label_names_its_month() -> None:
    assert score_reply("**April 2025** is first by orders (**15**).", "group", label="April").outcome == "right"


def test_group_headline_of_an_unbolded_list_is_its_first_item() -> None:
    assert score_reply("Orders by country — France: 12, Germany: 9.", "group", label="Germany").outcome == "wrong"


def test_group_headline_of_a_table_is_its_first_row() -> None:
    reply = "Here is what the data says:\n\n| country | n |\n|---|---|\n| Germany | 12 |\n| France | 9 |"
    assert score_reply(reply, "group", label="Germany").outcome == "right"


def test_group_only_among_a_clarifying_questions_options_is_declined() -> None:
    reply = "I couldn't match “land” to anything in your data, so I won't guess. Did you mean country (Germany, France)?"
    assert score_reply(reply, "group", label="Germany").outcome == "declined"


def test_group_in_a_plain_opening_sentence_is_right() -> None:
    assert score_reply("Germany brings in the most revenue.\n\n_Computed: revenue by country._", "group",
                       label="Germany").outcome == "right"


def test_group_headline_label_may_hold_a_number() -> None:
    assert score_reply("**Size 42** is first by units (**310**).", "group", label="Size 42").outcome == "right"


def test_group_headline_skips_a_bold_figure_with_its_unit() -> None:
    assert score_reply("**1,234 orders** came from **Germany**.", "group", label="Germany").outcome == "right"


def test_group_true_label_is_named_by_a_flag_groups_yes() -> None:
    assert score_reply("**is churned = yes** is first by MRR (**4,100**).", "group", label="True").outcome == "right"


ASKS_WHICH = ("Your items table has several money columns that could be revenue (Gross Price, Net Price). "
              "Which one do you mean?")
STATED = "**9,120.50** — revenue (sum of items.Net Price — Gross Price minus Discount)."
UNSTATED = "**9,120.50** — revenue (sum of items.amount)."


def test_ask_truth_right_when_the_reply_asks_back() -> None:
    assert score_reply(ASKS_WHICH, "ask", conventions=["gross", "net"]).outcome == "right"


def test_ask_truth_declined_when_the_reply_names_its_convention() -> None:
    assert score_reply(STATED, "ask", conventions=["gross", "net"]).outcome == "declined"


def test_ask_truth_wrong_when_one_convention_is_silently_chosen() -> None:
    assert score_reply(UNSTATED, "ask", conventions=["gross", "net"]).outcome == "wrong"


def test_ask_truth_declined_when_the_reply_cannot_map() -> None:
    assert score_reply(COULDNT_MAP, "ask", conventions=["gross", "net"]).outcome == "declined"
