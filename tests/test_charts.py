"""Charts: Vega-Lite specs chosen from a result's shape, overrides, errors, PNG, the chart tool."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import ToolMessage

from assistant.agent import _tool_events
from foundation.errors import ToolInputError
from foundation.settings import MaraSettings
from tools.charts import (
    ACCEPTED_KINDS,
    MAX_BARS,
    MAX_SLICES,
    PALETTE,
    PHONE_PLOT_PX,
    auto_chart,
    chart_spec,
    chart_tools,
    contrast,
    humanize,
    load_table,
    mark_type,
    render_png,
    save_chart,
)
from tools.context import ToolContext
from tools.data import data_tools
from tools.results import ArtifactStore
from tools.warehouse import QueryResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def monthly() -> QueryResult:
    rows = [(dt.date(2025, m, 1), Decimal(f"{m * 1000}.50")) for m in range(1, 10)]
    return QueryResult(["month", "revenue"], rows, column_types=["DATE", "DECIMAL(18,2)"])


def by_country() -> QueryResult:
    rows = [("Germany", 1200.0), ("France", 800.0), ("United Kingdom", 300.5)]
    return QueryResult(["country", "revenue"], rows, column_types=["VARCHAR", "DOUBLE"])


def by_channel() -> QueryResult:
    return QueryResult(["channel", "orders"], [("web", 5), ("app", 2), ("store", 1)])


def rfm_points() -> QueryResult:
    rows = [(f"c{i}", i, i * 2.5 + 1) for i in range(1, 21)]
    return QueryResult(["customer_id", "recency_days", "monetary"], rows)


def mark_of(spec: dict[str, Any]) -> str:
    return str(mark_type(spec))


def values_of(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec["data"]["values"])


def assert_valid_vega_lite(spec: dict[str, Any]) -> None:
    """Plain JSON (no NaN, no dates) that Vega-Lite compiles to Vega."""
    text = json.dumps(spec, allow_nan=False)
    assert json.loads(text) == spec
    assert spec["$schema"].endswith("/vega-lite/v5.json")
    vl_convert = pytest.importorskip("vl_convert")
    compiled = vl_convert.vegalite_to_vega(spec)
    assert compiled.get("marks")


# --- the shape picks the chart ---------------------------------------------------------------


def test_date_and_number_make_a_line_over_time() -> None:
    spec = chart_spec(monthly())
    assert mark_of(spec) == "line"
    x, y = spec["encoding"]["x"], spec["encoding"]["y"]
    assert x["field"] == "month" and x["type"] == "temporal"
    assert x["timeUnit"] == "utcyearmonth"  # monthly periods, ISO dates parse as UTC
    assert y["field"] == "revenue" and y["type"] == "quantitative"
    assert x["title"] == "Month" and y["title"] == "Revenue"
    assert spec["title"] == "Revenue by month"
    assert spec["width"] == "container"
    assert values_of(spec)[0] == {"month": "2025-01-01", "revenue": 1000.5}
    assert {t["field"] for t in spec["encoding"]["tooltip"]} == {"month", "revenue"}
    assert_valid_vega_lite(spec)


def test_category_and_number_make_a_bar_sorted_by_value() -> None:
    spec = chart_spec(by_country())
    assert mark_of(spec) == "bar"
    encoding = spec["encoding"]
    # a label longer than 12 characters turns the bars horizontal
    assert encoding["y"]["field"] == "country" and encoding["y"]["sort"] == "-x"
    assert encoding["x"]["field"] == "revenue"
    tooltip = {t["field"]: t for t in encoding["tooltip"]}
    assert tooltip["revenue"]["format"] == ",.2f"
    assert_valid_vega_lite(spec)


def test_short_labels_make_vertical_bars() -> None:
    result = QueryResult(["tier", "customers"], [("gold", 3), ("silver", 2), ("none", 9)])
    spec = chart_spec(result)
    assert mark_of(spec) == "bar"
    assert spec["encoding"]["x"]["field"] == "tier" and spec["encoding"]["x"]["sort"] == "-y"
    axis = spec["encoding"]["y"]["axis"]
    assert axis["format"] == ",~f" and axis["tickMinStep"] == 1 and axis["labelOverlap"] is True


def test_many_categories_keep_the_largest_bars() -> None:
    rows = [(f"City {i:02d}", i) for i in range(MAX_BARS + 10)]
    spec = chart_spec(QueryResult(["city", "customers"], rows))
    assert len(values_of(spec)) == MAX_BARS
    assert min(v["customers"] for v in values_of(spec)) == 10
    assert spec["title"]["subtitle"] == f"Top {MAX_BARS} of {MAX_BARS + 10}"
    assert spec["encoding"]["y"]["field"] == "city"  # many bars: horizontal
    assert_valid_vega_lite(spec)


def test_share_wording_with_few_categories_makes_a_pie() -> None:
    spec = chart_spec(by_channel(), title="Order share by channel")
    assert mark_of(spec) == "arc"
    assert spec["encoding"]["theta"]["field"] == "orders"
    assert spec["encoding"]["color"]["field"] == "channel"
    shares = [v["share"] for v in values_of(spec)]
    assert sum(shares) == pytest.approx(1.0)
    assert_valid_vega_lite(spec)
    # the same data without share wording is a bar chart
    assert mark_of(chart_spec(by_channel())) == "bar"


def test_two_numbers_make_a_scatter_with_labels_in_the_tooltip() -> None:
    spec = chart_spec(rfm_points())
    assert mark_of(spec) == "point"
    assert spec["encoding"]["x"]["field"] == "recency_days"
    assert spec["encoding"]["y"]["field"] == "monetary"
    assert spec["encoding"]["tooltip"][0]["field"] == "customer_id"
    assert_valid_vega_lite(spec)


def test_category_date_and_number_make_one_line_per_category() -> None:
    rows = [(f"2025-0{m}-01", ch, m * 10.0) for m in range(1, 7) for ch in ("web", "app")]
    spec = chart_spec(QueryResult(["month", "channel", "revenue"], rows))
    assert mark_of(spec) == "line"
    assert spec["encoding"]["color"]["field"] == "channel"
    assert spec["encoding"]["x"]["type"] == "temporal"
    assert spec["title"] == "Revenue by month and channel"
    assert_valid_vega_lite(spec)


def test_too_many_series_keep_the_largest_lines() -> None:
    rows = [(f"2025-0{m}-01", f"city {c:02d}", c * 10 + m) for m in range(1, 4) for c in range(20)]
    spec = chart_spec(QueryResult(["month", "city", "orders"], rows))
    assert {v["city"] for v in values_of(spec)} == {f"city {c:02d}" for c in range(8, 20)}
    assert spec["title"]["subtitle"] == "Top 12 of 20 city values"
    assert_valid_vega_lite(spec)


def test_several_measures_over_time_are_folded_into_series() -> None:
    rows = [(f"2025-0{m}-01", m * 10, m * 7) for m in range(1, 7)]
    spec = chart_spec(QueryResult(["month", "new_customers", "returning_customers"], rows))
    assert spec["transform"] == [
        {"fold": ["new_customers", "returning_customers"], "as": ["measure", "value"]}
    ]
    assert spec["encoding"]["color"]["field"] == "measure"
    assert_valid_vega_lite(spec)


def test_measures_in_different_units_are_not_folded_onto_one_axis() -> None:
    rows = [(f"2025-0{m}-01", m * 1000.0, m) for m in range(1, 7)]
    spec = chart_spec(QueryResult(["month", "revenue", "orders"], rows))
    assert "transform" not in spec
    assert spec["encoding"]["y"]["field"] == "revenue"
    assert [t["field"] for t in spec["encoding"]["tooltip"]] == ["month", "revenue", "orders"]


def test_integer_years_are_periods_not_measures() -> None:
    spec = chart_spec(QueryResult(["year", "orders"], [(2023, 5), (2024, 9), (2025, 12)]))
    assert mark_of(spec) == "line"
    assert spec["encoding"]["x"] == {"field": "year", "title": "Year", "type": "ordinal"}
    assert spec["encoding"]["y"]["field"] == "orders"


def test_rates_are_formatted_as_percentages_and_dotted_names_escaped() -> None:
    result = QueryResult(["segment.name", "conversion_rate"], [("a", 0.1), ("b", 0.25)])
    spec = chart_spec(result)
    assert spec["encoding"]["x"]["field"] == "segment\\.name"
    assert spec["encoding"]["y"]["axis"]["format"] == ".0%"
    assert values_of(spec)[0] == {"segment.name": "a", "conversion_rate": 0.1}
    assert_valid_vega_lite(spec)


def test_large_numbers_get_si_axis_labels() -> None:
    result = QueryResult(["country", "revenue"], [("DE", 2_500_000.0), ("FR", 1_200_000.0)])
    assert chart_spec(result)["encoding"]["y"]["axis"]["format"] == "~s"


def test_nan_and_infinity_become_nulls() -> None:
    result = QueryResult(["country", "aov"], [("DE", float("nan")), ("FR", 12.5), ("UK", 3.0)])
    spec = chart_spec(result)
    assert {"country": "DE", "aov": None} in values_of(spec)
    json.dumps(spec, allow_nan=False)


# --- overrides ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mark"),
    [("bar", "bar"), ("line", "line"), ("area", "area"), ("pie", "arc"), ("donut", "arc")],
)
def test_kind_overrides_the_choice(kind: str, mark: str) -> None:
    spec = chart_spec(by_channel(), kind=kind)
    assert mark_of(spec) == mark
    assert_valid_vega_lite(spec)


def test_kind_is_case_insensitive_and_title_is_used() -> None:
    spec = chart_spec(monthly(), kind=" Bar ", title="Monthly revenue")
    assert mark_of(spec) == "bar"
    assert spec["title"] == "Monthly revenue"
    assert spec["encoding"]["x"]["timeUnit"] == "utcyearmonth"
    assert_valid_vega_lite(spec)


def test_x_and_y_choose_the_columns() -> None:
    result = QueryResult(
        ["country", "channel", "revenue", "orders"],
        [("DE", "web", 10.0, 1), ("FR", "app", 20.0, 2), ("UK", "web", 5.0, 4)],
    )
    spec = chart_spec(result, x="channel", y="orders")
    assert spec["encoding"]["x"]["field"] == "channel"
    assert spec["encoding"]["y"]["field"] == "orders"
    scatter = chart_spec(result, kind="scatter", x="revenue", y="orders")
    assert scatter["encoding"]["x"]["field"] == "revenue"
    assert scatter["encoding"]["y"]["field"] == "orders"


def test_pie_with_many_categories_folds_the_rest_into_other() -> None:
    rows = [(f"c{i}", i + 1) for i in range(12)]
    spec = chart_spec(QueryResult(["city", "orders"], rows), kind="pie")
    labels = [v["city"] for v in values_of(spec)]
    assert len(labels) == MAX_SLICES and labels[-1] == "Other"
    assert sum(v["orders"] for v in values_of(spec)) == sum(r[1] for r in rows)


# --- errors ------------------------------------------------------------------------------


def test_unknown_kind_lists_the_accepted_kinds() -> None:
    with pytest.raises(ToolInputError) as err:
        chart_spec(by_country(), kind="radar")
    assert "radar" in str(err.value)
    for kind in ACCEPTED_KINDS:
        assert kind in str(err.value)


@pytest.mark.parametrize("axis", ["x", "y"])
def test_unknown_column_lists_the_valid_columns(axis: str) -> None:
    with pytest.raises(ToolInputError, match=r"Unknown .* column 'revenu'.*country, revenue"):
        chart_spec(by_country(), **{axis: "revenu"})


def test_no_numeric_column_is_refused() -> None:
    result = QueryResult(["country", "city"], [("DE", "Berlin"), ("FR", "Lyon")])
    with pytest.raises(ToolInputError, match="No numeric column"):
        chart_spec(result)


def test_non_numeric_y_is_refused() -> None:
    with pytest.raises(ToolInputError, match="not numeric.*revenue"):
        chart_spec(by_country(), y="country")


def test_empty_result_and_single_number_are_refused() -> None:
    with pytest.raises(ToolInputError, match="no rows"):
        chart_spec(QueryResult(["country", "revenue"], []))
    with pytest.raises(ToolInputError, match="single number"):
        chart_spec(QueryResult(["customers"], [(6,)]))


def test_scatter_needs_two_numbers_and_pie_non_negative_values() -> None:
    with pytest.raises(ToolInputError, match="two numeric columns"):
        chart_spec(by_country(), kind="scatter")
    result = QueryResult(["country", "growth"], [("DE", 3.0), ("FR", -1.0)])
    with pytest.raises(ToolInputError, match="non-negative"):
        chart_spec(result, kind="pie")


# --- auto_chart --------------------------------------------------------------------------


def test_auto_chart_only_for_obvious_shapes() -> None:
    spec = auto_chart(by_country())
    assert spec is not None and mark_of(spec) == "bar"
    line = auto_chart(monthly())
    assert line is not None and mark_of(line) == "line"
    assert auto_chart(QueryResult(["customers"], [(6,)])) is None
    assert auto_chart(QueryResult(["country", "revenue"], [("DE", 1.0)])) is None
    assert auto_chart(rfm_points()) is None
    assert auto_chart(QueryResult(["email", "city"], [("a@x", "B"), ("b@x", "L")])) is None
    ids = QueryResult(["customer_id", "score"], [(1, 0.5), (2, 0.7)])
    assert auto_chart(ids) is None  # two numbers: not obviously a chart


def test_humanize() -> None:
    assert humanize("total_revenue") == "Total revenue"
    assert humanize("avgOrderValue") == "Avg Order Value"
    assert humanize("country") == "Country"


# --- PNG and storage ---------------------------------------------------------------------


@pytest.mark.integration
def test_render_png_produces_a_png() -> None:
    png = render_png(chart_spec(monthly()))
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 2000


def test_save_chart_writes_spec_and_png(tmp_path: Any) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    spec = chart_spec(by_country(), title="Revenue by country")
    artifact = save_chart(store, spec, png=True, table_id="abc123")
    assert artifact["kind"] == "chart"
    assert artifact["title"] == "Revenue by country"
    assert artifact["spec"] == spec
    assert artifact["table_id"] == "abc123"
    chart_id = artifact["artifact_id"]
    assert json.loads((store.root / f"{chart_id}.vl.json").read_text()) == spec
    assert (store.root / f"{chart_id}.png").read_bytes().startswith(PNG_SIGNATURE)
    assert not list(store.root.glob("*.tmp"))


# --- the tool ----------------------------------------------------------------------------


@pytest.fixture
def ctx(settings: MaraSettings) -> ToolContext:
    return ToolContext(settings)


def _query_tool(ctx: ToolContext) -> Any:
    return {fn.__name__: fn for fn in data_tools(ctx)}


def test_make_chart_charts_a_stored_table(ctx: ToolContext) -> None:
    query = _query_tool(ctx)["run_sql"]
    table = query(
        "SELECT channel, SUM(total) AS revenue FROM orders GROUP BY channel ORDER BY revenue DESC"
    )
    table_id = table.artifacts[0]["artifact_id"]
    [make_chart] = chart_tools(ctx)
    assert make_chart.__name__ == "make_chart" and make_chart.__doc__

    output = make_chart(table_id)
    [artifact] = output.artifacts
    assert artifact["kind"] == "chart" and artifact["table_id"] == table_id
    spec = artifact["spec"]
    assert mark_of(spec) == "bar"
    assert {v["channel"] for v in values_of(spec)} == {"web", "app", "store"}
    assert sum(v["revenue"] for v in values_of(spec)) == pytest.approx(1475.65)
    assert "bar chart" in output.text and "\n" not in output.text
    assert (ctx.artifacts.root / f"{artifact['artifact_id']}.vl.json").exists()

    pie = make_chart(table_id, kind="pie", title="Revenue share by channel")
    assert mark_of(pie.artifacts[0]["spec"]) == "arc"
    assert pie.artifacts[0]["title"] == "Revenue share by channel"
    assert_valid_vega_lite(pie.artifacts[0]["spec"])


def test_make_chart_reads_dates_back_from_csv(ctx: ToolContext) -> None:
    query = _query_tool(ctx)["run_sql"]
    table = query(
        "SELECT CAST(date_trunc('month', order_date) AS DATE) AS month, COUNT(*) AS orders "
        "FROM orders GROUP BY 1 ORDER BY 1"
    )
    result = load_table(ctx.artifacts, table.artifacts[0]["artifact_id"])
    assert result.columns == ["month", "orders"]
    assert result.rows[0] == ("2025-01-01", 1)
    [make_chart] = chart_tools(ctx)
    spec = make_chart(table.artifacts[0]["artifact_id"]).artifacts[0]["spec"]
    assert mark_of(spec) == "line"
    assert_valid_vega_lite(spec)


def test_make_chart_errors_are_for_the_model(ctx: ToolContext) -> None:
    [make_chart] = chart_tools(ctx)
    with pytest.raises(ToolInputError, match="No table artifact with id 'nope'"):
        make_chart("nope")
    with pytest.raises(ToolInputError, match="No table artifact"):
        make_chart("../../etc/passwd")
    query = _query_tool(ctx)["run_sql"]
    table = query("SELECT country, COUNT(*) AS customers FROM customers GROUP BY country")
    with pytest.raises(ToolInputError, match="Valid columns: country, customers"):
        make_chart(table.artifacts[0]["artifact_id"], x="nation")


def test_chart_artifacts_become_chart_events(tmp_path: Any) -> None:
    """The agent turns the tool's chart artifact into the ``chart`` event front ends draw."""
    spec = chart_spec(by_channel())
    artifact = save_chart(ArtifactStore(tmp_path), spec, png=False, table_id="t1")
    message = ToolMessage(
        content="Showed a bar chart.",
        tool_call_id="call-1",
        name="make_chart",
        artifact={"artifacts": [artifact], "citations": [], "data": {}},
    )
    [chart] = [e for e in _tool_events(message) if e.type == "chart"]
    assert chart.data["spec"] == spec and chart.data["table_id"] == "t1"
    assert chart.data["artifact_id"] == artifact["artifact_id"]
    assert chart.data["title"] == "Orders by channel"
    json.dumps(chart.data, allow_nan=False)


# --- a real browser draws the charts under the page's CSP ------------------------------------

_CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)

_HARNESS = """
window.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations = (window.cspViolations || []).concat(e.violatedDirective);
});
window.addEventListener("load", () => {
  const box = document.getElementById("messages");
  for (const data of CHARTS) box.append(window.Mara.renderChart(data));
  const started = Date.now();
  const timer = setInterval(() => {
    const pending = document.querySelectorAll(".chart-status:not(.chart-error)").length;
    if (pending && Date.now() - started < 30000) return;  // wait until every chart settled
    clearInterval(timer);
    fetch("/result", { method: "POST", body: JSON.stringify({
      svgs: document.querySelectorAll(".chart-view svg").length,
      marks: document.querySelectorAll(".chart-view svg path").length,
      fallbacks: document.querySelectorAll(".chart-error").length,
      errors: [...document.querySelectorAll("[data-chart-error]")]
        .map((n) => n.dataset.chartError),
      csp: window.cspViolations || [],
    }) });
  }, 100);
});
"""


def _browser_run(tmp_path: Any, charts: list[dict[str, Any]], *, drop: str = "") -> dict[str, Any]:
    """Serve api/static with the real CSP, render ``charts`` in headless Chromium, read back.

    The page posts what it drew to ``/result`` (same origin, so the CSP allows it); real
    time, not Chromium's virtual time, so a busy machine only makes it slower.
    """
    import http.server
    import subprocess
    import threading
    from pathlib import Path

    from api.routes.web import CONTENT_SECURITY_POLICY, STATIC_DIR

    root = tmp_path / "site"
    shutil.copytree(STATIC_DIR, root / "static")
    if drop:
        (root / "static" / "vendor" / drop).unlink()
    (root / "static" / "chart-test.js").write_text(
        f"const CHARTS = {json.dumps(charts)};\n{_HARNESS}", encoding="utf-8"
    )
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = page.replace(
        '<script src="/static/app.js" defer></script>',
        '<script src="/static/app.js" defer></script>\n'
        '<script src="/static/chart-test.js" defer></script>',
    )
    (root / "chart-test.html").write_text(page, encoding="utf-8")
    results: list[dict[str, Any]] = []
    done = threading.Event()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def end_headers(self) -> None:
            self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            super().end_headers()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            results.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()
            done.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/chart-test.html"
    assert _CHROMIUM is not None
    browser = subprocess.Popen(
        [
            _CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={Path(tmp_path) / 'profile'}",
            "--window-size=900,1400",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        finished = done.wait(timeout=90)
    finally:
        browser.terminate()
        try:
            _, stderr = browser.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            browser.kill()
            _, stderr = browser.communicate()
        server.shutdown()
        server.server_close()
    assert finished and results, f"the page reported nothing; Chromium said: {stderr[-2000:]}"
    return results[0]


@pytest.mark.integration
@pytest.mark.skipif(_CHROMIUM is None, reason="no Chromium on this machine")
def test_web_chat_draws_charts_in_a_real_browser_under_the_csp(tmp_path: Any) -> None:
    specs = [
        chart_spec(monthly()),
        chart_spec(by_country()),
        chart_spec(by_channel(), kind="pie"),
        chart_spec(rfm_points()),
    ]
    charts = [{"artifact_id": f"c{i}", "table_id": "t1", "spec": s} for i, s in enumerate(specs)]
    seen = _browser_run(tmp_path, charts)
    assert seen["csp"] == [] and seen["errors"] == [] and seen["fallbacks"] == 0
    assert seen["svgs"] == len(specs) and seen["marks"] > 20


@pytest.mark.integration
@pytest.mark.skipif(_CHROMIUM is None, reason="no Chromium on this machine")
def test_web_chat_falls_back_to_the_card_when_vega_is_missing(tmp_path: Any) -> None:
    charts = [{"artifact_id": "c1", "spec": chart_spec(by_country())}]
    seen = _browser_run(tmp_path, charts, drop="vega-embed.min.js")
    assert seen["svgs"] == 0 and seen["fallbacks"] == 1
    assert "could not load" in seen["errors"][0]


# --- accessibility: colour-blind-safe colours, values on the marks, phone-width labels -------


def pie_layers(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    arc, text = spec["layer"]
    return arc, text


def test_pie_slices_print_their_percentages() -> None:
    spec = chart_spec(by_channel(), kind="pie")
    arc, text = pie_layers(spec)
    assert arc["mark"]["type"] == "arc" and text["mark"]["type"] == "text"
    assert [v["mara_share_label"] for v in values_of(spec)] == ["63%", "25%", "13%"]
    assert text["encoding"]["text"]["field"] == "mara_share_label"
    assert_valid_vega_lite(spec)


def test_tiny_slices_carry_no_label_that_would_not_fit() -> None:
    result = QueryResult(["channel", "orders"], [("web", 97), ("fax", 3)])
    labels = [v["mara_share_label"] for v in values_of(chart_spec(result, kind="pie"))]
    assert labels == ["97%", ""]


def test_slice_labels_contrast_with_their_slice() -> None:
    rows = [(f"c{i}", 10 - i) for i in range(8)]
    spec = chart_spec(QueryResult(["channel", "orders"], rows), kind="pie")
    for i, value in enumerate(values_of(spec)):
        assert contrast(PALETTE[i], value["mara_label_ink"]) >= 4.5, (PALETTE[i], value)


def test_pie_and_series_use_the_colour_blind_safe_palette() -> None:
    pie = chart_spec(by_channel(), kind="pie")
    assert pie["encoding"]["color"]["scale"]["range"] == list(PALETTE)
    series = QueryResult(
        ["country", "channel", "revenue"],
        [("DE", "web", 1.0), ("DE", "app", 2.0), ("FR", "web", 3.0), ("FR", "app", 1.5)],
    )
    bar = chart_spec(series, kind="bar")
    assert bar["encoding"]["color"]["scale"]["range"] == list(PALETTE)


def test_the_palette_has_one_distinct_colour_per_slice() -> None:
    assert len(set(PALETTE)) == len(PALETTE) == MAX_SLICES


def test_a_pie_is_still_an_arc_to_readers_of_the_spec() -> None:
    assert mark_type(chart_spec(by_channel(), kind="pie")) == "arc"
    assert mark_type({"mark": "bar"}) == "bar"
    assert mark_type({}) is None


def test_labels_that_would_collide_on_a_phone_turn_the_bars_horizontal() -> None:
    # seven 10-letter labels: about 525 px side by side, wider than a phone's plot
    rows = [(f"Category {c}", i + 1) for i, c in enumerate("ABCDEFG")]
    spec = chart_spec(QueryResult(["segment", "customers"], rows))
    assert spec["encoding"]["y"]["field"] == "segment"
    assert PHONE_PLOT_PX < 7 * (10 * 6.5 + 10)


def test_few_short_labels_stay_vertical() -> None:
    result = QueryResult(["tier", "customers"], [("gold", 3), ("silver", 2), ("none", 9)])
    assert chart_spec(result)["encoding"]["x"]["field"] == "tier"


def test_value_axis_labels_keep_apart_and_are_not_pulled_onto_each_other() -> None:
    axis = chart_spec(by_country())["encoding"]["x"]["axis"]
    assert axis["labelOverlap"] is True and axis["labelSeparation"] >= 4
    assert axis["labelFlush"] is False  # a flushed last label sat on its neighbour at 390 px
