"""Finding 6: a query result is capped in bytes, bounded in time as a whole, and artifacts expire.

The attack: ``SELECT customer_id, lpad('x', 100000, 'y') FROM customers LIMIT 10000`` — few
rows, huge cells — held the whole result in memory, ran past the timeout while it was
serialised and left a 1 GB artifact that was never cleaned up. Here the same shape (48 rows of
100 kB) meets a 1 MB cap.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
import tracemalloc
from pathlib import Path

import pytest

from foundation.errors import QueryError
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse
from tests.test_postgres import pg_database, requires_postgres  # noqa: F401 - fixture
from tools.context import ToolContext
from tools.data import run_read_only_sql
from tools.results import ArtifactStore
from tools.warehouse import QueryResult, SQLAlchemyWarehouse, fetch_capped

CAP = 1_000_000
WIDE = (
    "SELECT c.customer_id, lpad('x', 100000, 'y') AS pad "
    "FROM customers c, orders o LIMIT 10000"
)  # 48 rows x 100 kB = 4.8 MB


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    home = tmp_path / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    settings = MaraSettings(home=home, mode="offline", max_result_bytes=CAP, _env_file=None)  # type: ignore[call-arg]
    return ToolContext(settings)


def test_wide_rows_stop_at_the_byte_cap_and_say_so(ctx: ToolContext) -> None:
    output = run_read_only_sql(ctx, WIDE)
    assert output.data["truncated"] is True
    assert output.data["truncated_reason"] == "bytes"
    assert 0 < output.data["row_count"] <= CAP // 100_000


def test_the_artifact_stays_under_the_cap_and_its_metadata_says_why(ctx: ToolContext) -> None:
    output = run_read_only_sql(ctx, WIDE)
    artifact_id = output.data["artifact_id"]
    assert ctx.artifacts.csv_path(artifact_id).stat().st_size <= CAP + 10_000
    meta = json.loads((ctx.artifacts.root / f"{artifact_id}.json").read_text())
    assert (meta["truncated"], meta["truncated_reason"]) == (True, "bytes")


def test_memory_does_not_balloon(ctx: ToolContext) -> None:
    run_read_only_sql(ctx, "SELECT 1 AS warm_up FROM customers")
    tracemalloc.start()
    try:
        run_read_only_sql(ctx, WIDE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * CAP  # the whole result would be 4.8 MB of Python strings


def test_the_model_is_told_the_size_cap_cut_the_result(ctx: ToolContext) -> None:
    assert "MARA_MAX_RESULT_BYTES" in run_read_only_sql(ctx, WIDE).text


def test_a_slow_fetch_counts_against_the_timeout() -> None:
    def slow_fetch(n: int) -> list[tuple[int]]:
        time.sleep(0.05)
        return [(1,)] * n

    with pytest.raises(QueryError, match="longer than 0.1 s"):
        fetch_capped(slow_fetch, row_cap=10**9, max_bytes=10**9,
                     deadline=time.monotonic() + 0.1, timeout_s=0.1)


def test_writing_past_the_deadline_keeps_nothing(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    result = QueryResult(columns=["n"], rows=[(i,) for i in range(1000)])
    with pytest.raises(QueryError, match="longer than the query timeout"):
        store.save_table(result, deadline=time.monotonic() - 1)
    assert list(store.root.iterdir()) == []


def _age(store: ArtifactStore, artifact_id: str, days: float) -> None:
    old = time.time() - days * 86_400
    for path in store.root.glob(f"{artifact_id}.*"):
        os.utime(path, (old, old))


def test_artifacts_older_than_the_retention_age_are_deleted(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts", max_age_days=7)
    old = store.save_table(QueryResult(columns=["n"], rows=[(1,)]))
    _age(store, old, days=8)
    fresh = store.save_table(QueryResult(columns=["n"], rows=[(2,)]))
    assert store.prune() == [old]
    assert [p.name for p in sorted(store.root.iterdir())] == [f"{fresh}.csv", f"{fresh}.json"]


def test_the_oldest_artifacts_go_when_the_folder_is_over_its_size(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts", max_total_bytes=25_000)
    big = QueryResult(columns=["pad"], rows=[("y" * 10_000,)])
    ids = []
    for age in (3, 2, 1):
        ids.append(store.save_table(big))
        _age(store, ids[-1], days=age)
    store.prune()
    assert sorted({p.name.split(".")[0] for p in store.root.iterdir()}) == sorted(ids[1:])


def test_writing_an_artifact_applies_retention(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts", max_age_days=1)
    store.root.mkdir()
    (store.root / "0123456789ab.csv").write_text("n\n1\n")
    _age(store, "0123456789ab", days=2)
    store.save_table(QueryResult(columns=["n"], rows=[(1,)]))
    assert not (store.root / "0123456789ab.csv").exists()


@pytest.mark.integration
@requires_postgres
def test_postgres_results_stream_under_the_byte_cap(pg_database: str) -> None:  # noqa: F811
    warehouse = SQLAlchemyWarehouse(pg_database)
    try:
        result = warehouse.query(
            "SELECT c.customer_id, lpad('x', 100000, 'y') AS pad FROM customers c, orders o",
            max_bytes=CAP,
        )
    finally:
        warehouse.engine.dispose()
    assert (result.truncated, result.truncated_reason) == (True, "bytes")
    assert sum(len(r[1]) for r in result.rows) <= CAP


def test_csv_of_a_capped_result_reads_back(ctx: ToolContext) -> None:
    output = run_read_only_sql(ctx, WIDE)
    rows = list(csv.reader(io.StringIO(ctx.artifacts.csv_path(output.data["artifact_id"]).read_text())))
    assert rows[0] == ["customer_id", "pad"] and len(rows) - 1 == output.data["row_count"]
