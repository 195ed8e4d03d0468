"""The churn answer through the offline agent loop, and “save them as an audience” after it (issue 21).

A tiny shop of 160 named customers with a year of orders: the reply states how many are at
risk (headline and risk bands), names customers instead of listing ids, and the follow-up
saves the high-risk customers as an audience through the ``save_audience`` tool.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from assistant.agent import Assistant, TurnResult
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tools.audiences import load_audience

FIRST = ["Anna", "Ben", "Chloé", "Dara", "Emil", "Fay", "Gus", "Hana", "Ivo", "Jana"]
LAST = ["Schmidt", "Miller", "Martin", "Jones", "Weber", "Brown", "Novak", "Rossi"]
START = date(2025, 1, 1)
DAYS = 400


def _shop(path: Path, customers: int = 160, seed: int = 3) -> None:
    """Buy-till-you-die customers: Poisson buying, a chance to drop out after each order."""
    rng = np.random.default_rng(seed)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE customers (customer_id INTEGER, first_name VARCHAR, last_name VARCHAR, country VARCHAR)")
    con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", [
        (c, FIRST[c % len(FIRST)], f"{LAST[c % len(LAST)]}{c}", "Germany") for c in range(1, customers + 1)])
    con.execute("CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, order_date DATE, total DECIMAL(10,2))")
    rows, order_id = [], 0
    for cid in range(1, customers + 1):
        day = float(rng.uniform(0, DAYS * 0.4))
        rate, drop = rng.gamma(2.0, 1 / 50), rng.beta(1.0, 3.0)
        while day < DAYS:
            order_id += 1
            rows.append((order_id, cid, START + timedelta(days=int(day)), round(float(rng.gamma(2, 40)), 2)))
            if rng.random() < drop:
                break
            day += rng.exponential(1 / rate)
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", rows)
    con.close()


@pytest.fixture(scope="module")
def turns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MaraSettings, TurnResult, TurnResult]]:
    home = tmp_path_factory.mktemp("churn") / "ws"
    home.mkdir()
    _shop(home / "warehouse.duckdb")
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with Assistant(settings) as assistant:
        answer = assistant.run("Which customers are likely to churn next quarter?", conversation_id="c", scopes=EVERY_SCOPE)
        saved = assistant.run("save them as an audience", conversation_id="c", scopes=EVERY_SCOPE)
    yield settings, answer, saved


@pytest.mark.integration
def test_the_churn_answer_opens_with_how_many_are_at_risk(turns: tuple) -> None:  # type: ignore[type-arg]
    assert re.match(r"I trained .*\n\n(No customers|[\d,]+ customers \(\d+% of the [\d,]+ (active|scored)\)) "
                    r".*churn risk in the next 90 days", turns[1].reply, re.S)


@pytest.mark.integration
def test_the_churn_answer_gives_risk_bands(turns: tuple) -> None:  # type: ignore[type-arg]
    assert re.search(r"Risk bands among .*: high ≥ 70%: [\d,]+; medium 40–70%: [\d,]+; low < 40%: [\d,]+\.",
                     turns[1].reply)


@pytest.mark.integration
def test_the_churn_answer_names_customers(turns: tuple) -> None:  # type: ignore[type-arg]
    table = turns[1].reply.split("Highest scores:")[1].split("Save them")[0]
    assert len(re.findall(r"\| (?:" + "|".join(FIRST) + r") [A-Z][a-z]+\d+ \|", table)) >= 5


@pytest.mark.integration
def test_the_churn_answer_has_no_bare_id_column_first(turns: tuple) -> None:  # type: ignore[type-arg]
    header = turns[1].reply.split("Highest scores:")[1].strip().splitlines()[1]
    assert "full_name" in header and "segment" in header


@pytest.mark.integration
def test_the_churn_answer_keeps_metrics_for_the_details_view(turns: tuple) -> None:  # type: ignore[type-arg]
    body, _, details = turns[1].reply.partition("Details:")
    assert (re.search(r"AUC \d", body), bool(re.search(r"AUC \d", details))) == (None, True)


@pytest.mark.integration
def test_save_them_calls_the_audience_tool(turns: tuple) -> None:  # type: ignore[type-arg]
    assert [c["name"] for c in turns[2].tool_calls] == ["save_audience"]


@pytest.mark.integration
def test_save_them_uses_the_answers_model_and_high_band(turns: tuple) -> None:  # type: ignore[type-arg]
    args = turns[2].tool_calls[0]["args"]
    assert (args["threshold"], f"--model {args['model_id']} " in turns[1].reply) == (0.7, True)


@pytest.mark.integration
def test_the_saved_audience_is_the_high_risk_band(turns: tuple) -> None:  # type: ignore[type-arg]
    settings, answer, saved = turns
    high = int(re.search(r"high ≥ 70%: ([\d,]+);", answer.reply).group(1).replace(",", ""))
    audience, ids = load_audience(settings.home, saved.tool_calls[0]["args"]["name"])
    assert (audience.size, len(ids)) == (high, high)


@pytest.mark.integration
def test_the_save_reply_says_name_and_size(turns: tuple) -> None:  # type: ignore[type-arg]
    name = turns[2].tool_calls[0]["args"]["name"]
    assert re.search(rf"Saved the audience \*\*{re.escape(name)}\*\*: [\d,]+ customers", turns[2].reply)


SUGGESTED = {"suggested_audience": {"name": "churn-90d-high", "model_id": "churn-1", "threshold": 0.7,
                                    "active_days": 365}}


@pytest.mark.parametrize(("message", "name"), [
    ("save them as an audience", "churn-90d-high"),
    ("Save the high-risk customers as winback-q4", "winback-q4"),
    ("make that a segment called lapsing_vips", "lapsing_vips"),
])
def test_save_follow_ups_name_the_audience(message: str, name: str) -> None:
    from assistant.planner.hooks import audience_follow_up

    assert (audience_follow_up(message, SUGGESTED) or {}).get("name") == name


def test_a_top_n_follow_up_saves_the_n_best() -> None:
    from assistant.planner.hooks import audience_follow_up

    args = audience_follow_up("save the top 50 as an audience", SUGGESTED) or {}
    assert (args.get("top"), "threshold" in args) == (50, False)


@pytest.mark.parametrize("message", ["how many of them are in Germany?", "save"])
def test_other_follow_ups_are_not_saves(message: str) -> None:
    from assistant.planner.hooks import audience_follow_up

    assert audience_follow_up(message, SUGGESTED) is None


def test_nothing_is_saved_without_an_offered_audience() -> None:
    from assistant.planner.hooks import audience_follow_up

    assert audience_follow_up("save them as an audience", {"rows": []}) is None
