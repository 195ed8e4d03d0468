"""The data, query, knowledge, audience, copy and metrics routes through real HTTP."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse
from tests.test_api import LiveServer, assert_error

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("routes") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    settings = MaraSettings(  # type: ignore[call-arg]
        home=home, mode="offline", max_upload_bytes=64 * 1024, _env_file=None
    )
    with LiveServer(create_app(settings)) as server:
        yield server.url


@pytest.fixture
def client(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, timeout=60) as c:
        yield c


# --- data -------------------------------------------------------------------------------------


def test_data_tables(client: httpx.Client) -> None:
    tables = {t["name"]: t for t in client.get("/v1/data/tables").json()}
    assert set(tables) == {"customers", "orders"}
    assert tables["customers"]["rows"] == 6
    assert {"name": "country", "type": "VARCHAR"} in tables["customers"]["columns"]


def test_structured_query_returns_rows_and_a_csv(client: httpx.Client) -> None:
    spec = {
        "table": "orders",
        "metrics": [{"agg": "sum", "column": "total", "alias": "revenue"}],
        "dimensions": ["customers.country"],
        "order": "desc",
    }
    response = client.post("/v1/query", json=spec)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["country", "revenue"]
    assert body["row_count"] == 3 and not body["truncated"]
    assert body["rows"][0] == ["Germany", pytest.approx(1005.5)]
    assert body["sql"].upper().startswith("SELECT") and body["title"] == "Revenue by country"
    download = client.get(body["csv_url"])
    assert download.status_code == 200
    assert list(csv.reader(io.StringIO(download.text)))[0] == ["country", "revenue"]


@pytest.mark.parametrize(
    ("spec", "status", "words"),
    [
        ({"table": "order"}, 400, "orders"),  # names the closest valid table
        ({"table": "orders", "dimensions": ["contry"]}, 400, "country"),
        ({"table": "orders", "metrics": [{"agg": "median", "column": "total"}]}, 422, "agg"),
        ({"table": "orders", "limit": 0}, 422, "limit"),
        ({"table": "orders", "drop": "table"}, 422, "drop"),
        ({}, 422, "table"),
    ],
)
def test_bad_queries_name_the_problem(
    client: httpx.Client, spec: dict[str, Any], status: int, words: str
) -> None:
    response = client.post("/v1/query", json=spec)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]


# --- knowledge --------------------------------------------------------------------------------


def test_upload_then_search_knowledge(client: httpx.Client) -> None:
    doc = (
        "# Returns policy\n\nCustomers may return unworn boots within 60 days for a full refund. "
        "Bring the receipt to any Trailhead store.\n"
    )
    response = client.post(
        "/v1/kb/documents",
        files=[
            ("files", ("returns-policy.md", doc.encode(), "text/markdown")),
            ("files", ("../../notes.txt", b"Store hours are 9 to 6.\n", "text/plain")),
        ],
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert sorted(report["added"]) == ["notes.txt", "returns-policy.md"]
    assert report["chunks_added"] >= 2 and report["errors"] == []
    again = client.post(
        "/v1/kb/documents", files=[("files", ("returns-policy.md", doc.encode(), "text/markdown"))]
    )
    assert again.json()["unchanged"] == ["returns-policy.md"]

    found = client.post("/v1/kb/search", json={"query": "can I return boots?", "k": 2})
    assert found.status_code == 200
    passages = found.json()["passages"]
    assert passages and passages[0]["source"] == "returns-policy.md"
    assert "60 days" in passages[0]["text"] and 0 < passages[0]["score"] <= 1


def test_bad_uploads_and_searches(client: httpx.Client) -> None:
    binary = client.post(
        "/v1/kb/documents", files=[("files", ("deck.zip", b"PK\x03\x04", "application/zip"))]
    )
    assert ".md" in assert_error(binary, 415, "unsupported_file_type")["message"]
    not_utf8 = client.post(
        "/v1/kb/documents", files=[("files", ("latin.txt", "café".encode("latin-1"), "text/plain"))]
    )
    assert "latin.txt" in assert_error(not_utf8, 400, "ingest_failed")["message"]
    huge = client.post(
        "/v1/kb/documents", files=[("files", ("big.md", b"word " * 20_000, "text/markdown"))]
    )
    assert "64 KiB" in assert_error(huge, 413, "payload_too_large")["message"]
    assert_error(client.post("/v1/kb/documents"), 422, "validation_error")
    assert_error(client.post("/v1/kb/search", json={"query": "  "}), 422, "validation_error")
    assert_error(
        client.post("/v1/kb/search", json={"query": "x", "k": 500}), 422, "validation_error"
    )


# --- audiences --------------------------------------------------------------------------------


def test_audience_save_list_and_export(client: httpx.Client) -> None:
    body = {
        "name": "Germany",
        "kind": "query",
        "params": {"sql": "SELECT customer_id FROM customers WHERE country = 'Germany'"},
    }
    created = client.post("/v1/audiences", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["size"] == 2 and created.json()["kind"] == "query"
    listed = client.get("/v1/audiences").json()["audiences"]
    assert [a["name"] for a in listed] == ["Germany"]

    export = client.get(
        "/v1/audiences/Germany.csv", params={"columns": "customer_id,email", "channel": "sms"}
    )
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert rows == [{"customer_id": "1", "email": "anna.schmidt@example.com"}]  # sms opt-in only
    assert export.headers["x-excluded-no-opt-in"] == "1"


def test_bad_audiences(client: httpx.Client) -> None:
    assert_error(client.get("/v1/audiences/nobody.csv"), 404, "not_found")
    missing_param = client.post("/v1/audiences", json={"name": "x", "kind": "query", "params": {}})
    error = assert_error(missing_param, 422, "validation_error")
    assert "params.sql" in error["message"]
    unsafe = client.post(
        "/v1/audiences",
        json={"name": "x", "kind": "query", "params": {"sql": "DELETE FROM customers"}},
    )
    assert unsafe.status_code == 400 and "SELECT" in unsafe.json()["error"]["message"]
    segment = client.post(
        "/v1/audiences",
        json={"name": "x", "kind": "rfm_segment", "params": {"segments": ["Sleepy"]}},
    )
    assert "Sleepy" in assert_error(segment, 400, "tool_input_error")["message"]
    client.post(
        "/v1/audiences",
        json={
            "name": "all",
            "kind": "query",
            "params": {"sql": "SELECT customer_id FROM customers"},
        },
    )
    bad_column = client.get("/v1/audiences/all.csv", params={"columns": "shoe_size"})
    assert "shoe_size" in bad_column.json()["error"]["message"] and bad_column.status_code == 400


# --- copy -------------------------------------------------------------------------------------


def test_copy_drafts_checked_variants(client: httpx.Client) -> None:
    response = client.post(
        "/v1/copy",
        json={
            "channel": "sms",
            "brief": "Autumn sale: 20% off jackets",
            "variants": 2,
            "segment": "At Risk",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["variants"]) == 2 and body["usage"]["mode"] == "offline"
    for variant in body["variants"]:
        assert variant["text"] and variant["checks"]
        assert all({"name", "passed"} <= set(c) for c in variant["checks"])

    batch = client.post(
        "/v1/copy/batch",
        json={
            "items": [
                {"channel": "push", "brief": "New boots"},
                {"channel": "fax", "brief": "New boots"},
            ]
        },
    )
    assert batch.status_code == 200
    first, second = batch.json()["results"]
    assert first["ok"] and first["result"]["variants"]
    assert not second["ok"] and "fax" in second["error"]["message"]


def test_copy_fields_return_only_the_fields_asked_for(client: httpx.Client) -> None:
    response = client.post("/v1/copy", json={"channel": "email", "brief": "Black Friday: 25% off sitewide, code BF25",
                                             "fields": ["subject"], "variants": 5})
    assert [set(v) for v in response.json()["variants"]] == [{"subject", "preheader", "checks"}] * 5, response.text


def test_bad_copy_requests(client: httpx.Client) -> None:
    fax = client.post("/v1/copy", json={"channel": "fax", "brief": "New boots"})
    assert fax.status_code == 400 and "sms" in fax.json()["error"]["message"]
    assert_error(client.post("/v1/copy", json={"channel": "sms"}), 422, "validation_error")
    assert_error(
        client.post("/v1/copy", json={"channel": "sms", "brief": "x", "variants": 11}),
        422,
        "validation_error",
    )


# --- metrics and the schema ---------------------------------------------------------------------


def test_metrics_exposition(client: httpx.Client) -> None:
    client.get("/v1/data/tables")
    text = client.get("/metrics").text
    assert "# TYPE mara_http_requests_total counter" in text
    assert 'route="/v1/data/tables"' in text
    assert "process_resident_memory_bytes" in text


def test_openapi_documents_every_route_and_body(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    expected = {
        ("/v1/chat", "post"),
        ("/v1/conversations/{conversation_id}", "get"),
        ("/v1/artifacts/{artifact_id}.csv", "get"),
        ("/v1/data/tables", "get"),
        ("/v1/query", "post"),
        ("/v1/kb/search", "post"),
        ("/v1/kb/documents", "post"),
        ("/v1/audiences", "get"),
        ("/v1/audiences", "post"),
        ("/v1/audiences/{name}.csv", "get"),
        ("/v1/copy", "post"),
        ("/v1/copy/batch", "post"),
        ("/v1/chat/completions", "post"),
        ("/v1/models", "get"),
        ("/v1/auth/session", "post"),
        ("/metrics", "get"),
        ("/healthz", "get"),
    }
    assert {(p, m) for p, ops in paths.items() for m in ops} >= expected
    schemas = spec["components"]["schemas"]
    for name in (
        "QueryRequest",
        "QueryResponse",
        "KnowledgeSearchRequest",
        "IngestResponse",
        "AudienceCreate",
        "AudienceList",
        "CopyRequest",
        "CopyResponse",
        "SessionRequest",
        "ErrorResponse",
    ):
        assert name in schemas, name
    assert {"HTTPBearer", "APIKeyHeader", "APIKeyCookie"} <= set(
        spec["components"]["securitySchemes"]
    )
    for path, method in expected - {("/healthz", "get"), ("/v1/auth/session", "post")}:
        operation = paths[path][method]
        assert operation.get("security"), (path, method)
        assert {"401", "403", "429"} <= set(operation["responses"]), (path, method)
