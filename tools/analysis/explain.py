"""Explain a change exactly: who and what the change of a metric between two periods came from.

Every decomposition here is exact — its contributions add up to the total change, to the last cent:

- **by a dimension, additive metric** (revenue, orders): each group's own change; groups not listed
  are one "other" line, the total minus the listed groups;
- **by a dimension, ratio metric** (average order value, click rate): each group's *rate* effect (its
  own ratio moved, at its average weight) plus its *mix* effect (its share of the denominator moved,
  at its average ratio measured against the overall average, so a below-average group that shrinks reads as
  raising the ratio) — the midpoint (Shapley) split of ``Σ w·r``, so nothing is left unexplained;
- **first-time vs returning customers** (first row ever in the period or before it): the same, as a
  dimension derived from any order log;
- **volume vs value** (revenue = orders × average order value): ``ΔR = ΔN·Ā + ΔA·N̄``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from foundation.errors import ToolInputError
from tools.analysis.compare import Comparison, Periods, compare
from tools.analysis.measures import Measure, Reader, Totals, breakdown_dimensions
from tools.query_spec import Metric

#: Lines that name no group: the folded rest and the rows without a value. Never a lead driver.
UNNAMED = frozenset(["other", "(none)"])


@dataclass(slots=True)
class Contribution:
    """One line of an explanation: a group's metric in both periods and its share of the change."""

    name: str
    previous: float | None
    current: float | None
    contribution: float
    rate_effect: float | None = None  # ratio metrics: its own ratio moved
    mix_effect: float | None = None  # ratio metrics: its weight moved

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "previous": self.previous, "current": self.current, "contribution": self.contribution}
        if self.rate_effect is not None:
            out.update(rate_effect=self.rate_effect, mix_effect=self.mix_effect)
        return out


@dataclass(slots=True)
class Breakdown:
    """The change split along one dimension; ``lines`` add up to ``total``."""

    dimension: str  # "channel", "customer type", "orders vs order value"
    lines: list[Contribution]
    total: float
    groups: int = 0  # distinct groups before folding into "other"
    own: bool = True  # a column of the metric's own table (channel of orders), not of a joined one

    @property
    def concentration(self) -> float:
        """How much of the change the largest line explains (1.0: all of it)."""
        moved = sum(abs(c.contribution) for c in self.lines if c.name != "other")
        named = [abs(c.contribution) for c in self.lines if c.name not in UNNAMED]
        if not moved or not named:
            return 0.0
        return max(named) / moved  # rows without a value ("(none)") explain nothing by themselves

    def to_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "total": self.total, "groups": self.groups,
                "lines": [c.to_dict() for c in self.lines]}


# --- exact decompositions (pure) ----------------------------------------------------------------


def additive_split(previous: Mapping[str, float], current: Mapping[str, float],
                   previous_total: float, current_total: float) -> list[Contribution]:
    """Each group's change; groups missing from the maps are "other" = total minus the listed ones."""
    lines = []
    for name in _names(previous, current):
        before, after = previous.get(name, 0.0), current.get(name, 0.0)
        lines.append(Contribution(name, before, after, after - before))
    other_before = previous_total - sum(previous.values())
    other_after = current_total - sum(current.values())
    if abs(other_before) > 1e-9 or abs(other_after) > 1e-9:
        lines.append(Contribution("other", other_before, other_after, other_after - other_before))
    return lines


def ratio_split(previous: Mapping[str, tuple[float, float]], current: Mapping[str, tuple[float, float]],
                previous_total: tuple[float, float], current_total: tuple[float, float], scale: float = 1.0) -> list[Contribution]:
    """Rate and mix effects per group of a ratio ``num / den`` (see the module docstring).

    With weights ``w = den_g / den`` and rates ``r = num_g / den_g``, the ratio is ``Σ w·r`` and
    ``w₁r₁ − w₀r₀ = (r₁ − r₀)(w₀ + w₁)/2 + (w₁ − w₀)(r₀ + r₁)/2`` per group, exactly. The mix part is
    measured against the overall average ``R̄ = (R₀ + R₁)/2``: ``(w₁ − w₀)((r₀ + r₁)/2 − R̄)``. Since
    ``Σ(w₁ − w₀) = 0`` the parts still add up exactly, and each group's sign reads right — a group
    below the average that shrinks *raises* the ratio. A group absent in one period takes its rate from
    the other (its rate effect is then 0).
    """
    prev, cur = dict(previous), dict(current)
    for parts, total in ((prev, previous_total), (cur, current_total)):
        rest = (total[0] - sum(p[0] for p in parts.values()), total[1] - sum(p[1] for p in parts.values()))
        if abs(rest[1]) > 1e-9 or abs(rest[0]) > 1e-9:
            parts["other"] = rest
    den0, den1 = previous_total[1], current_total[1]
    # centring needs both weight sets to sum to 1 (Σ Δw = 0); with an empty side it would break the sum
    average = (previous_total[0] / den0 + current_total[0] / den1) / 2 if den0 and den1 else 0.0
    lines = []
    for name in _names(prev, cur):
        n0, d0 = prev.get(name, (0.0, 0.0))
        n1, d1 = cur.get(name, (0.0, 0.0))
        w0 = d0 / den0 if den0 else 0.0
        w1 = d1 / den1 if den1 else 0.0
        r0 = n0 / d0 if d0 else None
        r1 = n1 / d1 if d1 else None
        if r0 is None and r1 is None:
            continue
        a0 = r0 if r0 is not None else r1
        a1 = r1 if r1 is not None else r0
        assert a0 is not None and a1 is not None
        rate = scale * (a1 - a0) * (w0 + w1) / 2
        mix = scale * (w1 - w0) * ((a0 + a1) / 2 - average)
        lines.append(Contribution(name, None if r0 is None else scale * r0, None if r1 is None else scale * r1,
                                  rate + mix, rate, mix))
    return lines


def volume_value_split(orders: tuple[float, float], revenue: tuple[float, float]) -> tuple[float, float]:
    """``(volume effect, value effect)`` of revenue = orders × value per order; they add up to ΔR."""
    n0, n1 = orders
    r0, r1 = revenue
    a0 = r0 / n0 if n0 else 0.0
    a1 = r1 / n1 if n1 else 0.0
    if not n0 or not n1:  # no value per order on one side: it is all volume
        return r1 - r0, 0.0
    return (n1 - n0) * (a0 + a1) / 2, (a1 - a0) * (n0 + n1) / 2


def top_lines(lines: Sequence[Contribution], top: int, additive: bool) -> list[Contribution]:
    """The ``top`` lines by size of contribution, the rest folded into one "other" line (sums kept)."""
    ranked = sorted((c for c in lines if c.name != "other"), key=lambda c: -abs(c.contribution))
    keep, rest = ranked[:top], ranked[top:] + [c for c in lines if c.name == "other"]
    if rest:
        contribution = sum(c.contribution for c in rest)
        before = sum(c.previous or 0.0 for c in rest) if additive else None
        after = sum(c.current or 0.0 for c in rest) if additive else None
        keep.append(Contribution("other", before, after, contribution))
    return keep


def _names(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return list(dict.fromkeys([*a, *b]))


# --- reading the warehouse ------------------------------------------------------------------------


@dataclass(slots=True)
class Explanation:
    comparison: Comparison
    breakdowns: list[Breakdown] = field(default_factory=list)
    customers: Breakdown | None = None
    volume: Breakdown | None = None
    skipped: list[str] = field(default_factory=list)  # dimensions not used, and why

    @property
    def lead(self) -> Breakdown | None:
        """The dimension that explains the change most simply (its largest line explains the most)."""
        candidates = [b for b in self.breakdowns if b.lines]
        # the simplest story first; the metric's own columns (channel) before looked-up ones (gender)
        return max(candidates, key=lambda b: b.concentration + (0.15 if b.own else 0.0)) if candidates else None

    def to_dict(self) -> dict[str, Any]:
        return {**self.comparison.to_dict(), "breakdowns": [b.to_dict() for b in self.breakdowns],
                "customers": self.customers.to_dict() if self.customers else None,
                "volume": self.volume.to_dict() if self.volume else None, "skipped": self.skipped}


def explain(reader: Reader, periods: Periods, dimensions: list[str] | None = None, *, top: int = 5) -> Explanation:
    """Split the change of ``reader``'s metric between ``periods`` by each dimension (default: the
    category columns of its table and of the tables it references, except those the metric itself
    filters on), by first-time vs returning customers, and — for a money sum — into orders vs value
    per order. One query (:meth:`Reader.cube`) when the metric allows, else a few per period."""
    measure = reader.measure
    if measure.kind == "other":
        raise ToolInputError(
            f"{measure.label.capitalize()} is not a sum, count or ratio, so its change cannot be split exactly into parts.",
            hint="Explain a sum or count (revenue, orders) or a ratio metric (average order value, a rate) instead; "
                 "a comparison of the two periods still shows how it changed.")
    names = dimensions or [d for d in breakdown_dimensions(reader.profile, measure.table, limit=8)
                           if d.rsplit(".", 1)[-1].lower() not in _filtered_columns(reader)]
    counter = _order_counter(reader) if measure.kind == "additive" and measure.unit == "money" else None
    pair = [periods.previous, periods.current]
    cube = reader.cube(pair, names, customer_type=True, extra=[counter] if counter is not None else [])
    if cube is not None:
        comparison = Comparison(measure, periods, cube.totals[0], cube.totals[1])
        by_dimension = {d: (cube.dimensions[d][0], cube.dimensions[d][1]) for d in names}
        types = (cube.types[0], cube.types[1]) if cube.types is not None else None
        counts = (cube.totals[0].parts[-1], cube.totals[1].parts[-1]) if counter is not None else None
    else:  # a two-stage metric: per period and dimension
        comparison = compare(reader, periods)
        by_dimension = {d: (reader.by(periods.previous, d, comparison.previous_totals),
                            reader.by(periods.current, d, comparison.current_totals)) for d in names}
        before, after = (reader.by_customer_type(p, t) for p, t in ((periods.previous, comparison.previous_totals),
                                                                     (periods.current, comparison.current_totals)))
        types = (before, after) if before is not None and after is not None else None
        counts = None
    result = Explanation(comparison)
    change = comparison.change or 0.0
    for dimension, (before, after) in by_dimension.items():
        label = dimension.rsplit(".", 1)[-1].replace("_", " ")
        groups = len(set(before.groups) | set(after.groups))
        if groups < 2:
            result.skipped.append(f"{label} (one value only)")
            continue
        if not dimensions and _dominated(before) and _dominated(after):
            result.skipped.append(f"{label} (one value holds almost everything)")
            continue
        lines = split(measure, before, after)
        own = dimension.rsplit(".", 1)[0].lower() == measure.table.name.lower() if "." in dimension else True
        result.breakdowns.append(Breakdown(label, top_lines(lines, top, measure.kind == "additive"), change, groups, own))
    if types is not None and types[0].groups or types is not None and types[1].groups:
        lines = split(measure, types[0], types[1])
        result.customers = Breakdown("customer type", lines, change, len(lines))
    if counts is not None:
        result.volume = _volume(comparison, counts)
    return result


def _filtered_columns(reader: Reader) -> set[str]:
    """Columns the metric's own definition filters on (revenue excludes cancelled orders: not a driver)."""
    out = {f.column.rsplit(".", 1)[-1].lower() for f in reader.measure.filters}
    for component in reader.measure.components:
        definition = reader.profile.metric(component.name) if component.name else None
        if definition is not None:
            out |= {w.column.lower() for w in definition.where}
            for part in definition.ratio or ():
                inner = reader.profile.metric(part)
                out |= {w.column.lower() for w in inner.where} if inner is not None else set()
    return out


def _dominated(totals: Totals) -> bool:
    """One group holds 95 %+ of the metric's first component: splitting by it says nothing."""
    total = sum(abs(v[0]) for v in totals.groups.values())
    return bool(total) and max(abs(v[0]) for v in totals.groups.values()) >= 0.95 * total


def _order_counter(reader: Reader) -> Metric:
    """What "orders" means for a revenue metric: the denominator of its own average (aov), else rows."""
    numerator = reader.measure.components[0].name
    for definition in reader.profile.metrics.values():
        if numerator and definition.ratio and definition.ratio[0] == numerator:
            return Metric(name=definition.ratio[1], alias="__n")
    return Metric(agg="count", alias="__n")


def split(measure: Measure, before: Totals, after: Totals) -> list[Contribution]:
    """The exact per-group split of the change between two breakdowns of the same dimension."""
    if measure.kind == "ratio":
        return ratio_split({k: (v[0], v[1]) for k, v in before.groups.items()},
                           {k: (v[0], v[1]) for k, v in after.groups.items()},
                           (before.parts[0], before.parts[1]), (after.parts[0], after.parts[1]), measure.scale)
    return additive_split({k: v[0] for k, v in before.groups.items()}, {k: v[0] for k, v in after.groups.items()},
                          before.parts[0], after.parts[0])


def _volume(comparison: Comparison, counts: tuple[float, float]) -> Breakdown:
    """Revenue = orders × value per order, split exactly into the two effects."""
    revenue = (comparison.previous or 0.0, comparison.current or 0.0)
    volume, value = volume_value_split(counts, revenue)
    a0 = revenue[0] / counts[0] if counts[0] else None
    a1 = revenue[1] / counts[1] if counts[1] else None
    lines = [Contribution("number of orders", counts[0], counts[1], volume),
             Contribution("value per order", a0, a1, value)]
    return Breakdown("orders vs order value", lines, revenue[1] - revenue[0], 2)
