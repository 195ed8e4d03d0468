"""Audience profiles for copy: who a segment or saved audience is, in numbers and traits.

:class:`AudienceProfile` carries size, share of customers, top product categories, average
order value (and the all-customer baseline it is compared with), average recency and
frequency, the dominant RFM segment and trait words. The offline generator picks its
lifecycle framing and angles from it (a lapsed high-value audience gets a "what's new in
your category" angle, new customers a getting-started one) and the model prompt gets
:meth:`AudienceProfile.summary`. Profiles come from the data (:func:`segment_profile` for
an RFM segment, :func:`audience_profile` for a saved audience, :func:`profile_for_ids`
for any ids) or are passed in as JSON by API callers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from foundation.errors import ToolInputError

Lifecycle = Literal["winback", "appreciation", "welcome", "nudge", "default"]
FRAMING: dict[str, tuple[str, ...]] = {
    "winback": ("At Risk", "Can't Lose Them", "Hibernating", "Lost", "About to Sleep"),
    "appreciation": ("Champions", "Loyal"),
    "welcome": ("New", "Promising", "Potential Loyalist"),
    "nudge": ("Need Attention",),
}


def framing_for(segment: str | None) -> Lifecycle:
    """The lifecycle framing for an RFM/cluster/audience name (``default`` when unknown)."""
    if not segment:
        return "default"
    low = segment.strip().lower()
    for key, names in FRAMING.items():
        if any(low == n.lower() for n in names):
            return key  # type: ignore[return-value]
    if any(w in low for w in ("lapsed", "churn", "dormant", "inactive", "win", "at risk", "sleep")):
        return "winback"
    if any(w in low for w in ("vip", "gold", "loyal", "champion", "top", "frequent")):
        return "appreciation"
    if "new" in low or "first" in low or "recent" in low:
        return "welcome"
    return "default"


class AudienceProfile(BaseModel):
    """What is known about an audience; every field is optional."""

    name: str | None = None
    kind: str = "segment"
    size: int | None = Field(default=None, ge=0)
    share: float | None = Field(default=None, ge=0, le=1)
    top_categories: list[str] = Field(default_factory=list)
    avg_order_value: float | None = Field(default=None, ge=0)
    baseline_order_value: float | None = Field(default=None, ge=0)
    avg_recency_days: float | None = Field(default=None, ge=0)
    baseline_recency_days: float | None = Field(default=None, ge=0)
    avg_frequency: float | None = Field(default=None, ge=0)
    dominant_segment: str | None = None
    traits: list[str] = Field(default_factory=list)
    description: str = ""

    @property
    def value_tier(self) -> Literal["high", "mid", "low"] | None:
        """Trait words (also in a cluster's name), else average order value against the baseline
        (``high`` ≥ 1.2×, ``low`` ≤ 0.8×)."""
        traits = {t.lower() for t in self.traits} | set(re.findall(r"[a-z-]+", (self.name or "").lower()))
        if {"high-spend", "big-basket", "high-value"} & traits:
            return "high"
        if {"low-spend", "small-basket", "low-value"} & traits:
            return "low"
        if self.avg_order_value is None or not self.baseline_order_value:
            return None
        ratio = self.avg_order_value / self.baseline_order_value
        return "high" if ratio >= 1.2 else "low" if ratio <= 0.8 else "mid"

    @property
    def lifecycle(self) -> Lifecycle:
        """Framing from the name, then the dominant segment, then traits and recency."""
        for candidate in (self.name, self.dominant_segment, " ".join(self.traits)):
            framing = framing_for(candidate)
            if framing != "default":
                return framing
        if self.avg_recency_days is not None and self.baseline_recency_days:
            if self.avg_recency_days >= 1.5 * self.baseline_recency_days:
                return "winback"
            if self.avg_frequency is not None and self.avg_frequency <= 1.2 and \
                    self.avg_recency_days <= 0.5 * self.baseline_recency_days:
                return "welcome"
        return "default"

    @property
    def top_category(self) -> str | None:
        return self.top_categories[0] if self.top_categories else None

    def summary(self) -> str:
        """One line for prompts and reports."""
        parts = [self.name or "audience"]
        if self.size is not None:
            parts.append(f"{self.size:,} customers" + (f" ({self.share:.0%} of all)" if self.share else ""))
        if self.top_categories:
            parts.append("top categories: " + ", ".join(self.top_categories[:3]))
        if self.avg_order_value is not None:
            base = f" vs {self.baseline_order_value:.0f} overall" if self.baseline_order_value else ""
            parts.append(f"average order value {self.avg_order_value:.0f}{base}")
        if self.avg_recency_days is not None:
            parts.append(f"last order {self.avg_recency_days:.0f} days ago on average")
        if self.avg_frequency is not None:
            parts.append(f"{self.avg_frequency:.1f} orders each")
        if self.dominant_segment and self.dominant_segment != self.name:
            parts.append(f"mostly {self.dominant_segment}")
        if self.traits:
            parts.append("traits: " + ", ".join(self.traits))
        parts.append(f"lifecycle: {self.lifecycle}; value: {self.value_tier or 'unknown'}")
        return "; ".join(parts) + ". Never tell customers which segment they are in."


def as_profile(value: AudienceProfile | dict[str, Any] | str | None) -> AudienceProfile | None:
    """A profile from a profile, a dict (JSON from the API) or a bare segment name."""
    if value is None or isinstance(value, AudienceProfile):
        return value
    if isinstance(value, str):
        return AudienceProfile(name=value)
    try:
        return AudienceProfile.model_validate(value)
    except Exception as err:
        raise ToolInputError(f"Invalid audience profile: {err}".splitlines()[0],
                             hint=f"Keys: {', '.join(AudienceProfile.model_fields)}.") from None


def _top_categories(ds: Any, ids: set[Any] | None, limit: int = 3) -> list[str]:
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.model_data import q

    tables = ds.columns_by_table()
    items, products, orders = tables.get("order_items"), tables.get("products"), tables.get("orders")
    if items and products and orders and "category" in products and "product_id" in items \
            and "order_id" in items and "customer_id" in orders:
        amount = next((c for c in ("line_total_usd", "line_total", "quantity") if c in items), None)
        measure = f"sum(i.{q(amount)})" if amount else "count(*)"
        frame = ds.df(
            f"SELECT o.customer_id AS customer_id, p.category AS category, {measure} AS value "
            f"FROM {q('order_items')} i JOIN {q('orders')} o ON i.order_id = o.order_id "
            f"JOIN {q('products')} p ON i.product_id = p.product_id GROUP BY 1, 2"
        )
    elif (customers := tables.get("customers")) and "preferred_category" in customers:
        key = "customer_id" if "customer_id" in customers else "id"
        frame = ds.df(f"SELECT {q(key)} AS customer_id, preferred_category AS category, 1 AS value "
                      f"FROM {q('customers')}")
    else:
        return []
    if ids is not None:
        frame = frame[frame["customer_id"].isin(ids)]
    frame = frame.dropna(subset=["category"])
    totals = frame.groupby("category")["value"].sum().sort_values(ascending=False)
    return [str(c) for c in totals.index[:limit]]


def profile_for_ids(
    source: Any, ids: Sequence[Any] | None, *, name: str | None = None, kind: str = "audience",
    orders_table: str = "orders",
) -> AudienceProfile:
    """The profile of customers ``ids`` (all customers when ``None``) from orders and products."""
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.model_data import open_source
    from tools.segments import rfm_segments

    rfm = rfm_segments(source, orders_table)
    everyone = rfm.customers
    wanted = set(ids) if ids is not None else None
    members = everyone if wanted is None else everyone[everyone["customer_id"].isin(wanted)]
    base_aov = float(everyone["monetary"].sum()) / max(float(everyone["frequency"].sum()), 1.0)
    with open_source(source) as ds:
        top = _top_categories(ds, wanted)
    size = len(ids) if ids is not None else len(everyone)
    if members.empty:
        return AudienceProfile(name=name, kind=kind, size=size, top_categories=top,
                               baseline_order_value=round(base_aov, 2))
    dominant = str(members["segment"].value_counts().index[0])
    traits = []
    rec, base_rec = float(members["recency_days"].mean()), float(everyone["recency_days"].mean())
    aov = float(members["monetary"].sum()) / max(float(members["frequency"].sum()), 1.0)
    freq, base_freq = float(members["frequency"].mean()), float(everyone["frequency"].mean())
    if rec >= 1.5 * base_rec:
        traits.append("lapsed")
    elif rec <= 0.5 * base_rec:
        traits.append("recent")
    if freq >= 1.5 * base_freq:
        traits.append("frequent")
    elif freq <= 1.1:
        traits.append("one-off")
    if aov >= 1.2 * base_aov:
        traits.append("high-spend")
    elif aov <= 0.8 * base_aov:
        traits.append("low-spend")
    return AudienceProfile(
        name=name, kind=kind, size=size, share=min(1.0, size / max(len(everyone), 1)),
        top_categories=top, avg_order_value=round(aov, 2), baseline_order_value=round(base_aov, 2),
        avg_recency_days=round(rec, 1), baseline_recency_days=round(base_rec, 1),
        avg_frequency=round(freq, 2), dominant_segment=dominant, traits=traits,
    )


def segment_profile(source: Any, segment: str, orders_table: str = "orders") -> AudienceProfile:
    """The profile of an RFM segment ("At Risk", "Champions"...)."""
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.segments import SEGMENTS, rfm_segments

    match = next((s for s in SEGMENTS if s.lower() == segment.strip().lower()), None)
    if match is None:
        raise ToolInputError(f"Unknown RFM segment {segment!r}.", hint=f"Segments: {', '.join(SEGMENTS)}.")
    customers = rfm_segments(source, orders_table).customers
    ids = customers.loc[customers["segment"] == match, "customer_id"].tolist()
    profile = profile_for_ids(source, ids, name=match, kind="rfm_segment", orders_table=orders_table)
    profile.description = SEGMENTS[match]
    return profile


def audience_profile(source: Any, home: Path, audience: str, orders_table: str = "orders") -> AudienceProfile:
    """The profile of a saved audience (:mod:`tools.audiences`)."""
    # lazy: pandas, numpy, sqlglot load slowly; only this path needs them
    from tools.audiences import load_audience

    saved, ids = load_audience(home, audience)
    profile = profile_for_ids(source, ids, name=saved.name, kind=saved.kind, orders_table=orders_table)
    segments = saved.params.get("segments") if isinstance(saved.params, dict) else None
    if saved.kind == "rfm_segment" and segments:
        profile.dominant_segment = str(segments[0])
    if saved.kind == "cluster" and saved.params.get("cluster"):
        words = str(saved.params["cluster"]).lower().replace(" customers", "").split()
        profile.traits = list(dict.fromkeys([*profile.traits, *words]))
    return profile
