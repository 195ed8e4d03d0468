"""Charts: a query result becomes a Vega-Lite v5 spec (and, for the CLI and Slack, a PNG).

Plain functions first: :func:`chart_spec` picks a chart from the result's shape
(time + number → line, category + number → bar or pie, two numbers → scatter,
category + time + number → one line per category), overridable with ``kind``,
``x`` and ``y``. :func:`auto_chart` returns a spec only when a chart is obviously
useful. :func:`render_png` renders a spec offline with ``vl-convert-python``
(imported lazily). :func:`save_chart` keeps the spec (and PNG) in the artifact
store. :func:`chart_tools` is the thin tool the agent calls on a stored table.

Specs carry their data inline (``data.values``): front ends render them without
fetching anything. Theme colours are left to the front end (light/dark).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import math
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from foundation.errors import MaraError, ToolInputError
from foundation.settings import private_dir, write_private
from tools.csv_safety import restore_cell
from tools.declare import bound_tools, mara_tool
from tools.results import ArtifactStore, ToolOutput
from tools.warehouse import QueryResult, _jsonable

if TYPE_CHECKING:
    from tools.context import ToolContext

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"

#: Accepted ``kind`` values and the chart each one draws.
KINDS: dict[str, str] = {
    "bar": "bar",
    "column": "bar",
    "line": "line",
    "area": "area",
    "pie": "arc",
    "donut": "arc",
    "arc": "arc",
    "scatter": "point",
    "point": "point",
}
ACCEPTED_KINDS = ("bar", "line", "area", "pie", "donut", "scatter")

MAX_BARS = 30  # bars beyond this are cut to the top N by value
MAX_SLICES = 8  # pie slices beyond this are folded into "Other"
#: Okabe & Ito's colour-blind-safe palette (the 8th, black, made grey so it shows on dark pages
#: too): told apart with deuteranopia, protanopia and tritanopia. One colour per pie slice.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#8C8C8C")
#: Slices smaller than this carry no printed percentage (it would not fit; the tooltip has it).
MIN_LABELLED_SHARE = 0.04
#: Chart width on a 390 px phone, less card padding and the axis: vertical bar labels wider than
#: this in total would collide, so such bars are drawn horizontally instead.
PHONE_PLOT_PX = 300
AUTO_PIE_MAX = 6  # auto pie only for this many categories or fewer
MAX_SERIES = 12  # colour series beyond this are not distinguishable
PNG_WIDTH = 640  # "container" width has no container when rendering offline

_SHARE_WORDS = re.compile(
    r"\b(share|split|mix|breakdown|proportion|composition|distribution of)\b", re.I
)
_RATE_WORDS = re.compile(
    r"(rate|share|pct|percent|ratio|conversion|churn|retention|probab|propensity)", re.I
)
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}(-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?$"
)
_IDENTIFIER = re.compile(r"(^|_)(id|uuid|key|email|code)$", re.I)
_TEMPORAL_TYPES = ("DATE", "TIME", "TIMESTAMP", "DATETIME", "INTERVAL")
_NUMERIC_TYPES = ("INT", "DECIMAL", "NUMERIC", "DOUBLE", "FLOAT", "REAL", "NUMBER", "BIGINT")


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    role: str  # "quantitative" | "temporal" | "nominal"
    distinct: int
    max_label: int
    values: tuple[Any, ...]


# --- column roles ------------------------------------------------------------------------


def humanize(name: str) -> str:
    """An axis title from a column name: ``total_revenue`` → ``Total revenue``."""
    text = re.sub(r"[_\s]+", " ", name).strip()
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    if not text:
        return name
    return text[0].upper() + text[1:]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _role(name: str, type_name: str, values: Sequence[Any]) -> str:
    present = [v for v in values if v is not None]
    upper = type_name.upper()
    if upper and any(t in upper for t in _TEMPORAL_TYPES) and "INTERVAL" not in upper:
        return "temporal"
    if present and all(isinstance(v, (dt.date, dt.datetime)) for v in present):
        return "temporal"
    plain = [_jsonable(v) for v in present]  # Decimal and numpy scalars to float/int
    numeric = bool(plain) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in plain
    )
    if numeric and _IDENTIFIER.search(name):
        return "nominal"  # customer_id 17 is a label, not a quantity
    if numeric or (not present and any(t in upper for t in _NUMERIC_TYPES)):
        # a small-integer "year" column is a period, not a measure
        if name.lower() in ("year", "yr") and all(
            isinstance(v, int) and 1900 <= v <= 2200 for v in plain
        ):
            return "temporal"
        return "quantitative"
    if present and all(isinstance(v, str) and _ISO_DATE.match(v) for v in present):
        return "temporal"
    return "nominal"


def _columns(result: QueryResult) -> list[_Column]:
    out = []
    for index, name in enumerate(result.columns):
        values = tuple(_jsonable(row[index]) for row in result.rows)
        type_name = result.column_types[index] if index < len(result.column_types) else ""
        role = _role(name, type_name, [row[index] for row in result.rows])
        labels = {str(v) for v in values if v is not None}
        out.append(
            _Column(
                name=name,
                role=role,
                distinct=len(labels),
                max_label=max((len(v) for v in labels), default=0),
                values=values,
            )
        )
    return out


def _field(name: str) -> str:
    """A Vega-Lite field reference: dots and brackets in names are literal, not paths."""
    return re.sub(r"([.\[\]\\])", r"\\\1", name)


def _number_format(column: _Column) -> tuple[str, str]:
    """(axis format, tooltip format) for a numeric column."""
    numbers = [float(v) for v in column.values if _is_number(v)]
    if not numbers:
        return ",~f", ","
    lo, hi = min(numbers), max(numbers)
    if _RATE_WORDS.search(column.name) and lo >= 0 and hi <= 1:
        return ".0%", ".1%"
    integral = all(float(v).is_integer() for v in numbers)
    tooltip = ",.0f" if integral else ",.2f"
    axis = "~s" if max(abs(lo), abs(hi)) >= 10_000 else ",~f"
    return axis, tooltip


def _temporal_type(column: _Column) -> str:
    """Vega-Lite type for a period column: integer years are ordinal, dates temporal."""
    if any(isinstance(v, int) for v in column.values if v is not None):
        return "ordinal"
    return "temporal"


def _time_unit(column: _Column) -> str | None:
    """The period a date column holds (UTC: ISO dates parse as UTC midnight), or ``None``."""
    values = [str(v) for v in column.values if v is not None]
    if not values or not all(len(v) == 10 for v in values):
        return None  # timestamps: let Vega pick the ticks
    name = column.name.lower()
    firsts = all(v.endswith("-01") for v in values)
    months = {v[5:7] for v in values}
    if "year" in name or (firsts and months == {"01"} and len(set(values)) > 1):
        unit = "year"
    elif "quarter" in name or (firsts and len(months) > 1 and months <= {"01", "04", "07", "10"}):
        unit = "yearquarter"
    elif "month" in name or firsts:
        unit = "yearmonth"
    else:
        unit = "yearmonthdate"
    return "utc" + unit


def _time_encoding(column: _Column) -> dict[str, Any]:
    """Type and time unit (or format) for a period column on an axis or in a tooltip."""
    if _temporal_type(column) == "ordinal":
        return {"type": "ordinal"}
    unit = _time_unit(column)
    if unit is None:
        return {"type": "temporal", "axis": {"format": "%Y-%m-%d %H:%M"}}
    return {"type": "temporal", "timeUnit": unit}


# --- the spec ----------------------------------------------------------------------------


def chart_spec(
    result: QueryResult,
    kind: str | None = None,
    title: str = "",
    x: str | None = None,
    y: str | None = None,
) -> dict[str, Any]:
    """A Vega-Lite v5 spec for ``result`` with its rows inline.

    ``kind`` is one of :data:`ACCEPTED_KINDS` (``None`` picks from the data's
    shape); ``x`` names the category/time/first-number column and ``y`` the
    measure. Raises :class:`ToolInputError` when the result cannot be charted.
    """
    columns = _columns(result)
    by_name = {c.name: c for c in columns}
    valid = ", ".join(result.columns) or "(none)"
    for label, name in (("x", x), ("y", y)):
        if name is not None and name not in by_name:
            raise ToolInputError(f"Unknown {label} column '{name}'. Valid columns: {valid}.")
    mark: str | None = None
    if kind is not None:
        mark = KINDS.get(kind.strip().lower())
        if mark is None:
            raise ToolInputError(
                f"Unknown chart kind '{kind}'. Accepted kinds: {', '.join(ACCEPTED_KINDS)}."
            )
    if not result.rows:
        raise ToolInputError("The result has no rows, so there is nothing to chart.")
    numerics = [c for c in columns if c.role == "quantitative"]
    if not numerics:
        words = {"nominal": "text", "temporal": "date", "quantitative": "number"}
        kinds = ", ".join(f"{c.name} ({words[c.role]})" for c in columns)
        raise ToolInputError(
            f"No numeric column to chart; the result has {kinds}. "
            "Aggregate first (e.g. count or sum by a category)."
        )

    measure = by_name[y] if y else None
    if measure is not None and measure.role != "quantitative":
        names = ", ".join(c.name for c in numerics)
        raise ToolInputError(f"y column '{y}' is not numeric. Numeric columns: {names}.")
    others = [c for c in columns if c.name != (measure.name if measure else None)]
    base = by_name[x] if x else None
    times = [c for c in others if c.role == "temporal"]
    cats = [c for c in others if c.role == "nominal"]

    if mark is None:
        mark = _pick_mark(numerics, times, cats, base, title)

    if mark == "point":
        return _scatter(result, columns, numerics, cats, base, measure, title)
    if measure is None:
        candidates = [c for c in numerics if base is None or c.name != base.name]
        if not candidates:
            raise ToolInputError(
                f"Column '{base.name if base else ''}' is the only numeric column; "
                "name another column as y."
            )
        measure = candidates[0]
    if base is None:
        pool = times + cats if mark in ("line", "area") else cats + times
        if not pool:
            pool = [c for c in numerics if c.name != measure.name]
        if not pool:
            if len(result.rows) == 1:
                raise ToolInputError(
                    "The result is a single number; state it in words rather than charting it."
                )
            raise ToolInputError(
                f"No category or date column to put on the x axis. Valid columns: {valid}."
            )
        base = pool[0]
    if base.name == measure.name:
        raise ToolInputError("x and y must be different columns.")
    series = next(
        (c for c in cats if c.name not in (base.name, measure.name) and c.distinct > 1),
        None,
    )
    if mark == "arc":
        return _pie(result, columns, base, measure, title)
    if mark in ("line", "area"):
        return _line(result, columns, mark, base, measure, series, numerics, title)
    return _bar(result, columns, base, measure, series, title)


def _pick_mark(
    numerics: list[_Column],
    times: list[_Column],
    cats: list[_Column],
    base: _Column | None,
    title: str,
) -> str:
    """The chart the data's shape asks for."""
    x_role = base.role if base else None
    if x_role == "temporal" or (x_role is None and times):
        return "line"
    if x_role == "quantitative" or (x_role is None and not cats and len(numerics) >= 2):
        return "point"
    category = base or (cats[0] if cats else None)
    if (
        base is None
        and len(numerics) >= 2
        and category is not None
        and _IDENTIFIER.search(category.name)
    ):
        return "point"  # one row per customer with two measures: a scatter, labelled by id
    if category is not None:
        values = [v for c in numerics if c is not category for v in c.values]
        non_negative = all(not _is_number(v) or v >= 0 for v in values)
        if (
            _SHARE_WORDS.search(title)
            and 2 <= category.distinct <= AUTO_PIE_MAX
            and len(numerics) == 1
            and non_negative
            and len(cats) <= 1
        ):
            return "arc"
    return "bar"


def _values(result: QueryResult, columns: list[_Column]) -> list[dict[str, Any]]:
    names = [c.name for c in columns]
    out = []
    for row in result.rows:
        record = {}
        for name, value in zip(names, row, strict=True):
            value = _jsonable(value)
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            record[name] = value
        out.append(record)
    return out


def _base(title: str, values: list[dict[str, Any]], description: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "$schema": VEGA_LITE_SCHEMA,
        "description": description,
        "width": "container",
        "height": 300,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": values},
        "config": {
            "view": {"stroke": None},
            "axis": {"labelLimit": 180},
            "scale": {"bandPaddingInner": 0.25},
        },
    }
    if title:
        spec["title"] = title
    return spec


def _measure_encoding(column: _Column, channel_title: str | None = None) -> dict[str, Any]:
    axis_format, _ = _number_format(column)
    # few, non-overlapping ticks: "1.2M1.3M" on a narrow chart helps nobody
    # labelSeparation: Vega drops a label closer than 6 px to its neighbour; no labelFlush: the
    # last label pulled inside the axis end sat on its neighbour on phones ("1M1.2M")
    axis: dict[str, Any] = {
        "format": axis_format, "tickCount": 5, "labelOverlap": True, "labelSeparation": 6,
        "labelFlush": False,
    }
    if all(isinstance(v, int) for v in column.values if v is not None):
        axis["tickMinStep"] = 1  # counts: no 0.5 ticks
    return {
        "field": _field(column.name),
        "type": "quantitative",
        "title": channel_title or humanize(column.name),
        "axis": axis,
    }


def _comparable(columns: Sequence[_Column]) -> bool:
    """True when the measures share one axis honestly (peaks within 10x of each other)."""
    peaks = []
    for c in columns:
        numbers = [abs(float(v)) for v in c.values if _is_number(v)]
        peaks.append(max(numbers, default=0.0))
    return min(peaks) > 0 and max(peaks) / min(peaks) <= 10


def _tooltip(columns: Sequence[_Column]) -> list[dict[str, Any]]:
    out = []
    for c in columns:
        item: dict[str, Any] = {"field": _field(c.name), "title": humanize(c.name)}
        if c.role == "quantitative":
            item["type"] = "quantitative"
            item["format"] = _number_format(c)[1]
        elif c.role == "temporal":
            time = _time_encoding(c)
            item.update({k: v for k, v in time.items() if k != "axis"})
            if "axis" in time:
                item["format"] = time["axis"]["format"]
        else:
            item["type"] = "nominal"
        out.append(item)
    return out


def _top_rows(
    result: QueryResult, columns: list[_Column], base: _Column, measure: _Column, limit: int
) -> tuple[QueryResult, int]:
    """At most ``limit`` categories of ``base``, the largest by summed ``measure``."""
    bi = result.columns.index(base.name)
    mi = result.columns.index(measure.name)
    totals: dict[Any, float] = {}
    for row in result.rows:
        value = _jsonable(row[mi])
        totals[row[bi]] = totals.get(row[bi], 0.0) + (float(value) if _is_number(value) else 0.0)
    if len(totals) <= limit:
        return result, len(totals)
    keep = set(sorted(totals, key=lambda k: totals[k], reverse=True)[:limit])
    rows = [r for r in result.rows if r[bi] in keep]
    return (
        QueryResult(
            list(result.columns), rows, result.truncated, result.sql, 0.0, list(result.column_types)
        ),
        len(totals),
    )


def _bar(
    result: QueryResult,
    columns: list[_Column],
    base: _Column,
    measure: _Column,
    series: _Column | None,
    title: str,
) -> dict[str, Any]:
    if base.role == "nominal":
        shown, total = _top_rows(result, columns, base, measure, MAX_BARS)
    else:
        shown, total = result, base.distinct
    count = min(total, MAX_BARS) if base.role == "nominal" else total
    horizontal = base.role == "nominal" and (
        count > 8 or base.max_label > 12 or _label_px(count, base.max_label) > PHONE_PLOT_PX
    )
    category: dict[str, Any] = {
        "field": _field(base.name),
        "type": "nominal",
        "title": humanize(base.name),
    }
    if base.role == "temporal":
        category.update(_time_encoding(base))
        if category["type"] == "temporal":
            category.setdefault("timeUnit", "yearmonthdate")
    elif base.role == "quantitative":
        category["type"] = "ordinal"
    else:
        category["sort"] = "-x" if horizontal else "-y"
        category["axis"] = (
            {"labelLimit": 180} if horizontal else {"labelAngle": 0 if count <= 6 else -40}
        )
    value = _measure_encoding(measure)
    encoding: dict[str, Any] = (
        {"y": category, "x": value} if horizontal else {"x": category, "y": value}
    )
    tips = [base, measure]
    if series is not None:
        encoding["color"] = {
            "field": _field(series.name),
            "type": "nominal",
            "title": humanize(series.name),
            "scale": {"range": list(PALETTE)},
        }
        tips.append(series)
    encoding["tooltip"] = _tooltip(tips)
    description = f"Bar chart of {humanize(measure.name).lower()} by {humanize(base.name).lower()}"
    spec = _base(title or _auto_title(measure, base, series), _values(shown, columns), description)
    spec["mark"] = {"type": "bar", "tooltip": True, "cornerRadiusEnd": 2}
    spec["encoding"] = encoding
    if horizontal:
        spec["height"] = max(90, 24 * count)  # a fixed height: "container" width + step warns
    if total > count:
        spec["title"] = {"text": spec.get("title", ""), "subtitle": f"Top {count} of {total}"}
    return spec


def _line(
    result: QueryResult,
    columns: list[_Column],
    mark: str,
    base: _Column,
    measure: _Column,
    series: _Column | None,
    numerics: list[_Column],
    title: str,
) -> dict[str, Any]:
    subtitle = ""
    if series is not None and series.distinct > MAX_SERIES:
        # more lines than colours: keep the largest series
        result, total = _top_rows(result, columns, series, measure, MAX_SERIES)
        subtitle = f"Top {MAX_SERIES} of {total} {humanize(series.name).lower()} values"
    values = _values(result, columns)
    x_enc: dict[str, Any] = {"field": _field(base.name), "title": humanize(base.name)}
    if base.role == "temporal":
        x_enc.update(_time_encoding(base))
    elif base.role == "quantitative":
        x_enc["type"] = "quantitative"
    else:
        x_enc["type"] = "ordinal"
        x_enc["sort"] = None  # keep the result's order
    encoding: dict[str, Any] = {"x": x_enc, "y": _measure_encoding(measure)}
    tips: list[_Column] = [base, measure]
    spec_title = title
    folded: list[str] = []
    if series is not None:
        encoding["color"] = {
            "field": _field(series.name),
            "type": "nominal",
            "title": humanize(series.name),
        }
        tips.append(series)
    elif series is None:
        extra = [c for c in numerics if c.name not in (measure.name, base.name)]
        if extra and len(extra) <= 4 and _comparable([measure, *extra]):
            folded = [measure.name, *(c.name for c in extra)]
        else:
            tips.extend(extra)  # other measures in other units: in the tooltip only
    mark_def: dict[str, Any] = {"type": mark, "tooltip": True}
    if mark == "line":
        mark_def["point"] = len(result.rows) <= 60
    else:
        mark_def["opacity"] = 0.75 if (series is not None or folded) else 0.85
        mark_def["line"] = True
    description = f"{mark.title()} chart of {humanize(measure.name).lower()} over {humanize(base.name).lower()}"
    spec = _base(
        spec_title or _auto_title(measure, base, series if "color" in encoding else None),
        values,
        description,
    )
    spec["mark"] = mark_def
    if folded:
        spec["transform"] = [{"fold": folded, "as": ["measure", "value"]}]
        axis_format, tip_format = _number_format(measure)
        encoding["y"] = {
            "field": "value",
            "type": "quantitative",
            "title": "Value",
            "axis": {"format": axis_format, "tickCount": 5, "labelOverlap": True},
        }
        encoding["color"] = {"field": "measure", "type": "nominal", "title": None, "sort": folded}
        encoding["tooltip"] = [
            *_tooltip([base]),
            {"field": "measure", "type": "nominal", "title": "Measure"},
            {"field": "value", "type": "quantitative", "title": "Value", "format": tip_format},
        ]
        if not title:
            spec["title"] = (
                f"{', '.join(humanize(n) for n in folded)} by {humanize(base.name).lower()}"
            )
    else:
        encoding["tooltip"] = _tooltip(tips)
    if mark == "area" and "color" in encoding:
        encoding["y"]["stack"] = "zero" if not folded else None
    spec["encoding"] = encoding
    if subtitle:
        spec["title"] = {"text": spec.get("title", ""), "subtitle": subtitle}
    return spec


def _pie(
    result: QueryResult,
    columns: list[_Column],
    base: _Column,
    measure: _Column,
    title: str,
) -> dict[str, Any]:
    bi = result.columns.index(base.name)
    mi = result.columns.index(measure.name)
    totals: dict[str, float] = {}
    for row in result.rows:
        value = _jsonable(row[mi])
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if not _is_number(value) or value < 0:
            raise ToolInputError(
                f"A pie chart needs non-negative values; '{measure.name}' has {value!r}. "
                "Use kind='bar'."
            )
        label = "∅" if row[bi] is None else str(_jsonable(row[bi]))
        totals[label] = totals.get(label, 0.0) + float(value)
    ordered = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
    if len(ordered) > MAX_SLICES:
        head, tail = ordered[: MAX_SLICES - 1], ordered[MAX_SLICES - 1 :]
        ordered = [*head, ("Other", sum(v for _, v in tail))]
    grand = sum(v for _, v in ordered) or 1.0
    values = [
        {
            base.name: label,
            measure.name: value,
            "share": value / grand,
            # half up, as people round (Python's format would print 12.5% as "12%")
            SHARE_LABEL: f"{math.floor(value / grand * 100 + 0.5)}%" if value / grand >= MIN_LABELLED_SHARE else "",
            LABEL_INK: _ink(PALETTE[i % len(PALETTE)]),
        }
        for i, (label, value) in enumerate(ordered)
    ]
    _, tip_format = _number_format(measure)
    description = f"Pie chart of {humanize(measure.name).lower()} by {humanize(base.name).lower()}"
    spec = _base(title or _auto_title(measure, base, None, share=True), values, description)
    spec["height"] = 300
    spec["encoding"] = {
        "theta": {"field": _field(measure.name), "type": "quantitative", "stack": True},
        "color": {
            "field": _field(base.name),
            "type": "nominal",
            "title": humanize(base.name),
            "sort": [label for label, _ in ordered],
            "scale": {"range": list(PALETTE)},
            "legend": {"orient": "bottom", "columns": 2, "labelLimit": 160},  # room on phones
        },
        "order": {"field": _field(measure.name), "type": "quantitative", "sort": "descending"},
    }
    tooltip = {
        "tooltip": [
            {"field": _field(base.name), "type": "nominal", "title": humanize(base.name)},
            {
                "field": _field(measure.name),
                "type": "quantitative",
                "title": humanize(measure.name),
                "format": tip_format,
            },
            {"field": "share", "type": "quantitative", "title": "Share", "format": ".1%"},
        ],
    }
    # the percentage printed on each slice, in black or white, whichever reads better on it
    spec["layer"] = [
        {"mark": {"type": "arc", "innerRadius": 55, "outerRadius": 115, "tooltip": True}, "encoding": tooltip},
        {
            "mark": {"type": "text", "radius": 85, "fontSize": 12, "fontWeight": "bold"},
            "encoding": {
                "text": {"field": SHARE_LABEL, "type": "nominal"},
                "fill": {"field": LABEL_INK, "type": "nominal", "scale": None, "legend": None},
                **tooltip,
            },
        },
    ]
    return spec


SHARE_LABEL = "mara_share_label"
LABEL_INK = "mara_label_ink"


def mark_type(spec: dict[str, Any]) -> str | None:
    """A spec's main mark (``arc`` for a pie, whose first layer it is), or None."""
    mark = spec.get("mark")
    if mark is None and spec.get("layer"):
        mark = spec["layer"][0].get("mark")
    return str(mark.get("type")) if isinstance(mark, dict) else (str(mark) if mark else None)


def _luminance(colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _ink(fill: str) -> str:
    """Black or white text, whichever contrasts more with ``fill``."""
    return "#000000" if contrast(fill, "#000000") >= contrast(fill, "#ffffff") else "#ffffff"


def _label_px(count: int, longest: int) -> float:
    """Rough width of ``count`` horizontal axis labels of ``longest`` characters (11.5 px font)."""
    return count * (longest * 6.5 + 10)


def _scatter(
    result: QueryResult,
    columns: list[_Column],
    numerics: list[_Column],
    cats: list[_Column],
    base: _Column | None,
    measure: _Column | None,
    title: str,
) -> dict[str, Any]:
    if base is not None and base.role != "quantitative":
        names = ", ".join(c.name for c in numerics)
        raise ToolInputError(
            f"A scatter chart needs a numeric x; '{base.name}' is {base.role}. "
            f"Numeric columns: {names}."
        )
    pool = [c for c in numerics if c is not base and c is not measure]
    x_col = base or (pool.pop(0) if pool else None)
    y_col = measure or (pool.pop(0) if pool else None)
    if x_col is None or y_col is None or x_col.name == y_col.name:
        names = ", ".join(c.name for c in numerics)
        raise ToolInputError(
            f"A scatter chart needs two numeric columns; the result has: {names}. "
            "Use kind='bar' or 'line'."
        )
    label = next((c for c in cats if c.distinct > 1), None)
    encoding: dict[str, Any] = {
        "x": {**_measure_encoding(x_col), "scale": {"zero": False}},
        "y": {**_measure_encoding(y_col), "scale": {"zero": False}},
    }
    tips = [x_col, y_col]
    if label is not None:
        tips.insert(0, label)
        if label.distinct <= MAX_SERIES and not _IDENTIFIER.search(label.name):
            encoding["color"] = {
                "field": _field(label.name),
                "type": "nominal",
                "title": humanize(label.name),
            }
    encoding["tooltip"] = _tooltip(tips)
    description = (
        f"Scatter chart of {humanize(y_col.name).lower()} against {humanize(x_col.name).lower()}"
    )
    spec = _base(
        title or f"{humanize(y_col.name)} vs {humanize(x_col.name).lower()}",
        _values(result, columns),
        description,
    )
    spec["mark"] = {
        "type": "point",
        "filled": True,
        "opacity": 0.7,
        "tooltip": True,
        "size": 60 if len(result.rows) <= 500 else 20,
    }
    spec["encoding"] = encoding
    return spec


def _auto_title(
    measure: _Column, base: _Column, series: _Column | None, *, share: bool = False
) -> str:
    what = humanize(measure.name)
    by = humanize(base.name).lower()
    text = f"Share of {what.lower()} by {by}" if share else f"{what} by {by}"
    if series is not None:
        text += f" and {humanize(series.name).lower()}"
    return text


def auto_chart(result: QueryResult, title: str = "") -> dict[str, Any] | None:
    """A spec when ``result`` is obviously chartable, else ``None``.

    Obviously chartable: at least two rows, one category or period column and one
    numeric column (the shape of "revenue by country" or "orders per month").
    """
    if result.row_count < 2 or len(result.columns) != 2:
        return None
    columns = _columns(result)
    roles = sorted(c.role for c in columns)
    if roles not in (["nominal", "quantitative"], ["quantitative", "temporal"]):
        return None
    dimension = next(c for c in columns if c.role != "quantitative")
    if _IDENTIFIER.search(dimension.name):
        return None  # a value per customer id is a list, not a chart
    if dimension.distinct < 2 or (dimension.role == "nominal" and dimension.distinct > 100):
        return None
    try:
        return chart_spec(result, title=title)
    except ToolInputError:
        return None


# --- analysis charts: two periods side by side, a change step by step -----------------------------


def grouped_bar_spec(rows: Sequence[dict[str, Any]], *, category: str, series: str, measure: str,
                     title: str, number_format: str = ",.0f") -> dict[str, Any]:
    """Bars of ``measure`` per ``category``, one bar per ``series`` value side by side (two periods).

    ``rows`` are records with those three keys; the series keep their order in ``rows``.
    """
    values = [{k: _jsonable(v) for k, v in row.items()} for row in rows]
    order = list(dict.fromkeys(str(r[series]) for r in values))
    spec = _base(title, values, f"Grouped bar chart of {measure} by {category} and {series}")
    spec["mark"] = {"type": "bar", "tooltip": True, "cornerRadiusEnd": 2}
    spec["encoding"] = {
        "x": {"field": _field(category), "type": "nominal", "title": humanize(category), "sort": None,
              "axis": {"labelAngle": 0 if len({r[category] for r in values}) <= 6 else -40}},
        "xOffset": {"field": _field(series), "type": "nominal", "sort": order},
        "y": {"field": _field(measure), "type": "quantitative", "title": humanize(measure),
              "axis": {"format": number_format, "tickCount": 5, "labelOverlap": True}},
        "color": {"field": _field(series), "type": "nominal", "title": humanize(series), "sort": order},
        "tooltip": [{"field": _field(category), "type": "nominal"}, {"field": _field(series), "type": "nominal"},
                    {"field": _field(measure), "type": "quantitative", "format": number_format}],
    }
    return spec


def waterfall_spec(start: tuple[str, float], steps: Sequence[tuple[str, float]], end: tuple[str, float], *,
                   title: str, measure: str = "value", number_format: str = ",.0f") -> dict[str, Any]:
    """A waterfall: the ``start`` bar, one floating bar per step (up or down), the ``end`` bar.

    The steps should add up from ``start`` to ``end``; each bar's from/to is computed here.
    """
    values: list[dict[str, Any]] = [{"label": start[0], "from": 0.0, "to": float(start[1]), "amount": float(start[1]),
                                     "kind": "total"}]
    level = float(start[1])
    for label, amount in steps:
        values.append({"label": label, "from": level, "to": level + float(amount), "amount": float(amount),
                       "kind": "increase" if amount >= 0 else "decrease"})
        level += float(amount)
    values.append({"label": end[0], "from": 0.0, "to": float(end[1]), "amount": float(end[1]), "kind": "total"})
    spec = _base(title, values, f"Waterfall chart of the change in {measure}")
    spec["mark"] = {"type": "bar", "tooltip": True}
    spec["encoding"] = {
        "x": {"field": "label", "type": "nominal", "sort": None, "title": None,
              "axis": {"labelAngle": 0 if len(values) <= 6 else -30, "labelLimit": 140}},
        "y": {"field": "from", "type": "quantitative", "title": humanize(measure),
              "axis": {"format": number_format, "tickCount": 5}, "scale": {"zero": False}},
        "y2": {"field": "to"},
        "color": {"field": "kind", "type": "nominal", "title": None,
                  "scale": {"domain": ["total", "increase", "decrease"], "range": ["#6b7280", "#16a34a", "#dc2626"]},
                  "legend": None},
        "tooltip": [{"field": "label", "type": "nominal", "title": "Step"},
                    {"field": "amount", "type": "quantitative", "format": number_format, "title": humanize(measure)}],
    }
    return spec


# --- PNG and storage ---------------------------------------------------------------------


def render_png(spec: dict[str, Any], *, scale: float = 2.0) -> bytes:
    """Render a Vega-Lite spec to PNG bytes offline (``vl-convert-python``, light theme)."""
    try:
        # lazy: optional dependency (its ImportError is handled here)
        import vl_convert as vlc  # lazy: only the CLI/Slack paths need it
    except ImportError as err:  # pragma: no cover - a broken install
        raise MaraError(
            "PNG charts need the vl-convert-python package, which is not installed.",
            hint="Reinstall Mara (pip install -e .) or run: pip install vl-convert-python",
        ) from err

    fixed = copy.deepcopy(spec)
    if fixed.get("width") == "container":
        fixed["width"] = PNG_WIDTH
    if fixed.get("height") == "container":
        fixed["height"] = 300
    config = fixed.setdefault("config", {})
    config.setdefault("background", "white")
    config.setdefault("padding", 12)
    try:
        png: bytes = vlc.vegalite_to_png(fixed, scale=scale)
    except Exception as err:  # vl-convert raises ValueError with the Vega message
        raise ToolInputError(f"The chart could not be rendered: {err}") from err
    return png


def save_chart(
    store: ArtifactStore,
    spec: dict[str, Any],
    png: bool = False,
    *,
    table_id: str | None = None,
) -> dict[str, Any]:
    """Store ``<id>.vl.json`` (and ``<id>.png``) in the artifact folder; return the chart artifact.

    ``table_id`` names the table artifact the chart was drawn from (its CSV download).
    """
    private_dir(store.root)
    artifact_id = uuid.uuid4().hex[:12]
    title = spec.get("title", "")
    if isinstance(title, dict):
        title = title.get("text", "")
    if png:
        data = render_png(spec)
        tmp_png = store.root / f"{artifact_id}.png.tmp"
        write_private(tmp_png, data)
        tmp_png.replace(store.root / f"{artifact_id}.png")
    tmp = store.root / f"{artifact_id}.vl.json.tmp"
    write_private(tmp, json.dumps(spec, allow_nan=False))
    tmp.replace(store.root / f"{artifact_id}.vl.json")
    artifact: dict[str, Any] = {
        "kind": "chart",
        "artifact_id": artifact_id,
        "title": str(title or ""),
        "spec": spec,
    }
    if table_id:
        artifact["table_id"] = table_id
    if png:
        artifact["png"] = f"{artifact_id}.png"
    return artifact


def load_table(store: ArtifactStore, artifact_id: str) -> QueryResult:
    """A stored table artifact back as a :class:`QueryResult` (numbers parsed from the CSV)."""
    try:
        path = store.csv_path(artifact_id)
    except KeyError:
        recent = sorted(store.root.glob("*.csv"), key=lambda p: p.stat().st_mtime)
        known = [p.name[: -len(".csv")] for p in recent]
        hint = f" Recent table ids: {', '.join(known[-5:])}." if known else ""
        raise ToolInputError(
            f"No table artifact with id '{artifact_id}'. Use the artifact_id a query returned.{hint}"
        ) from None
    meta_path = path.with_suffix(".json")
    meta: dict[str, Any] = {}
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except ValueError:
            meta = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)  # cells neutralised against formulas are restored
        header = [restore_cell(c) for c in next(reader, [])]
        raw = [[restore_cell(c) for c in row] for row in reader]
    parsed_cols = [
        _parse_column([row[i] if i < len(row) else "" for row in raw]) for i in range(len(header))
    ]
    rows = [tuple(col[r] for col in parsed_cols) for r in range(len(raw))]
    return QueryResult(
        columns=header,
        rows=rows,
        truncated=bool(meta.get("truncated", False)),
        truncated_reason=meta.get("truncated_reason"),
        sql=str(meta.get("sql", "")),
    )


def _parse_column(cells: list[str]) -> list[Any]:
    """CSV text back to numbers when every non-empty cell of the column is one."""
    present = [c for c in cells if c != ""]
    for convert in (int, float):
        try:
            values = [None if c == "" else convert(c) for c in cells]
        except ValueError:
            continue
        if present and all(
            v is None or not isinstance(v, float) or math.isfinite(v) for v in values
        ):
            return values
    return [None if c == "" else c for c in cells]


# --- the tool ----------------------------------------------------------------------------


@mara_tool(
    scope="data:read",
    examples=[
        "chart that",
        "show it as a bar chart",
        "plot revenue per month as a line chart",
        "make a pie chart of customers by country",
    ],
    route_offline=False,  # reached after a query (chart follow-ups), not from a message
)
def make_chart(
    ctx: ToolContext,
    artifact_id: str,
    kind: str | None = None,
    x: str | None = None,
    y: str | None = None,
    title: str = "",
) -> ToolOutput:
    """Draw a chart of a table a previous query returned (its artifact_id).

    kind: bar|line|area|pie|donut|scatter, or omit to pick from the data (dates → line,
    categories → bar, two numbers → scatter). x: the category/date column; y: the numeric
    column. title: a short chart title. The user sees the chart; you get a one-line note.
    """
    result = load_table(ctx.artifacts, artifact_id)
    spec = chart_spec(result, kind=kind, title=title, x=x, y=y)
    artifact = save_chart(ctx.artifacts, spec, png=False, table_id=artifact_id)
    mark = spec.get("mark", {})
    mark_type = mark.get("type") if isinstance(mark, dict) else mark
    name = {"arc": "pie", "point": "scatter"}.get(str(mark_type), str(mark_type))
    text = (
        f"Showed the user a {name} chart '{artifact['title']}' of {result.row_count} rows "
        f"(chart id {artifact['artifact_id']})."
    )
    data = {"chart_id": artifact["artifact_id"], "kind": name, "title": artifact["title"]}
    return ToolOutput(text=text, artifacts=[artifact], data=data)


def chart_tools(ctx: ToolContext) -> list[Callable[..., ToolOutput]]:
    """The chart tool bound to ``ctx`` (wrapped for LangChain by :mod:`tools.registry`)."""
    return bound_tools(ctx, __name__)
