"""Predictions on the history people have: short histories, eligibility, bad input, usable scores."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foundation.errors import ToolInputError
from tools.clv import BGNBD
from tools.propensity import Calibrated
from tools.propensity_events import train_propensity_events
from tools.propensity_scoring import break_ties, score_frame

START = date(2025, 1, 1)


def _orders(customers: int, days: int, seed: int = 0, single: bool = False) -> pd.DataFrame:
    """Buy-till-you-die customers over ``days`` days: Poisson buying, drop-out after a purchase."""
    rng = np.random.default_rng(seed)
    rows = []
    for cid in range(1, customers + 1):
        day = float(rng.uniform(0, days * 0.5))
        rate = rng.gamma(2.0, 1 / 40)  # about one order every 20 days
        drop = rng.beta(1.0, 4.0)
        while day < days:
            rows.append((cid, START + timedelta(days=int(day)), round(float(rng.gamma(2, 30)), 2)))
            if single or rng.random() < drop:
                break
            day += rng.exponential(1 / rate)
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame.insert(0, "order_id", np.arange(1, len(frame) + 1))
    return frame


@pytest.fixture(scope="module")
def short_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:  # type: ignore[type-arg]
    """240 days of orders, a 120-day churn question: the full set-up would need 360 days."""
    home = tmp_path_factory.mktemp("short")
    meta = train_propensity_events(
        {"orders": _orders(600, 240)},
        "orders",
        "churn",
        120,
        models_dir=home,
        today=date(2025, 9, 1),
    )
    return meta, home


def test_short_history_still_answers_with_a_shorter_window(short_model: tuple) -> None:  # type: ignore[type-arg]
    assert short_model[0]["method"] == "short"


def test_short_history_window_is_a_third_of_the_history(short_model: tuple) -> None:  # type: ignore[type-arg]
    assert short_model[0]["label_window_days"] == 80


def test_method_sentence_says_what_was_used_and_why(short_model: tuple) -> None:  # type: ignore[type-arg]
    text = short_model[0]["method_text"]
    assert "needs 12 months" in text and "80-day windows" in text and "BG/NBD" in text


def test_eligibility_is_stated(short_model: tuple) -> None:  # type: ignore[type-arg]
    assert short_model[0]["eligibility"]["statement"][0].startswith("Data: 600 customers")


def test_probabilities_are_reported_with_reliability(short_model: tuple) -> None:  # type: ignore[type-arg]
    assert short_model[0]["metrics"]["calibration_error"] < 0.1


def test_scores_are_probabilities_for_the_whole_horizon(short_model: tuple) -> None:  # type: ignore[type-arg]
    meta, home = short_model
    scores = score_frame({"orders": _orders(600, 240)}, home, meta["model_id"])["score"]
    assert scores.between(0, 1).all() and scores.nunique() > len(scores) * 0.5


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    """35 days of orders, a 90-day churn question: too short for any supervised window."""
    home = tmp_path_factory.mktemp("tiny")
    return train_propensity_events(
        {"orders": _orders(400, 35, seed=1)}, "orders", "churn", 90, models_dir=home
    )


def test_very_short_history_is_scored_with_bgnbd(tiny_model: dict) -> None:  # type: ignore[type-arg]
    assert tiny_model["method"] == "bgnbd"


def test_horizon_longer_than_history_is_said(tiny_model: dict) -> None:  # type: ignore[type-arg]
    assert any("longer than the history" in s for s in tiny_model["eligibility"]["statement"])


def test_single_purchase_per_customer_is_refused_and_nothing_saved(tmp_path: Path) -> None:
    with pytest.raises(ToolInputError, match="single purchase day"):
        train_propensity_events(
            {"orders": _orders(200, 200, single=True)}, "orders", "churn", 30, models_dir=tmp_path
        )
    assert not list(tmp_path.iterdir())


def test_nothing_estimable_names_the_minimum(tmp_path: Path) -> None:
    orders = _orders(200, 10, seed=3)
    with pytest.raises(ToolInputError) as err:
        train_propensity_events({"orders": orders}, "orders", "churn", 30, models_dir=tmp_path)
    assert "42 days of history" in (err.value.hint or "")


def test_no_recent_orders_is_said(tmp_path: Path) -> None:
    meta = train_propensity_events(
        {"orders": _orders(400, 35, seed=1)},
        "orders",
        "churn",
        30,
        models_dir=None,
        today=date(2027, 1, 1),
    )
    assert any(s.startswith("No recent orders") for s in meta["eligibility"]["statement"])


def test_negative_amounts_are_left_out_with_a_note() -> None:
    orders = _orders(400, 35, seed=1)
    orders.loc[orders.index[:5], "amount"] = -20.0
    meta = train_propensity_events({"orders": orders}, "orders", "churn", 30, models_dir=None)
    assert any("5 rows with a negative amount" in n for n in meta["notes"])


def test_ties_are_broken_by_the_next_key() -> None:
    p = np.array([0.9, 0.9, 0.9, 0.5])
    broken = break_ties(p, [np.array([0.1, 0.3, 0.2, 0.0])])
    assert list(np.argsort(-broken)) == [1, 2, 0, 3]


def test_tie_break_keeps_the_order_between_scores() -> None:
    p = np.array([0.9, 0.9, 0.8999, 0.5])
    broken = break_ties(p, [np.array([0.0, 1.0, 5.0, 9.0])])
    assert broken[:2].min() > broken[2]


def test_customers_equal_on_every_key_stay_tied() -> None:
    broken = break_ties(np.array([0.7, 0.7]), [np.array([0.2, 0.2])])
    assert broken[0] == broken[1]


def test_platt_scaling_fixes_overconfident_scores() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(0.05, 0.6, 4_000)
    y = (rng.random(4_000) < truth).astype(int)
    shown = np.clip(truth + 0.3, 0, 0.99)  # every score 30 points too high

    class Fixed:
        def predict_proba(self, x: np.ndarray) -> np.ndarray:
            return np.column_stack([1 - x[:, 0], x[:, 0]])

    calibrated = Calibrated.fit_curve(Fixed(), shown, y)
    mean = calibrated.predict_proba(shown.reshape(-1, 1))[:, 1].mean()
    assert abs(mean - y.mean()) < 0.02


def test_bgnbd_p_purchase_grows_with_the_horizon_up_to_p_alive() -> None:
    model = BGNBD(r=0.5, alpha=5.0, a=0.8, b=2.5, log_likelihood=0.0)
    x, tx, T = np.array([3.0]), np.array([10.0]), np.array([20.0])
    short, long_ = model.p_purchase(4, x, tx, T)[0], model.p_purchase(52, x, tx, T)[0]
    assert short < long_ < model.p_alive(x, tx, T)[0]
