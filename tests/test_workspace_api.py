"""The workspace panel's routes through real HTTP: data uploads, the semantic model, the brand
profile, documents, audiences, saved models and keys — and their refusals (scope, cross-site,
size, type, bad values)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from assistant.keys import KeyStore
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse, keyed_workspace
from tests.test_api import LiveServer, assert_error

pytestmark = pytest.mark.integration

LEADS = b"lead_id,email,signup,budget,source\n1,a@x.io,03/15/2025,\"$1,200.50\",web\n2,b@x.io,04/01/2025,$30.00,fair\n"
EVIL = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A workspace with keys: an admin, a data writer, a reader."""
    home, keys = keyed_workspace(tmp_path_factory.mktemp("workspace"), {
        "admin": ("boss", ["admin"]),
        "writer": ("analyst", ["data:read", "data:write"]),
        "reader": ("viewer", ["chat", "data:read"]),
    })
    settings = MaraSettings(  # type: ignore[call-arg]
        home=home, mode="offline", max_data_upload_bytes=64 * 1024, _env_file=None
    )
    with LiveServer(create_app(settings)) as live:
        yield {"url": live.url, "home": home, "keys": keys}


def client(server: dict[str, Any], who: str) -> httpx.Client:
    return httpx.Client(
        base_url=server["url"], timeout=60,
        headers={"Authorization": f"Bearer {server['keys'][who]}"},
    )


def upload(c: httpx.Client, name: str, data: bytes, **form: str) -> httpx.Response:
    return c.post("/v1/data/tables", files={"file": (name, data)}, data=form)


# --- data ---------------------------------------------------------------------------------------


def test_model_reading_names_money_dates_flags_and_personal_columns(server: dict[str, Any]) -> None:
    with client(server, "reader") as c:
        tables = {t["name"]: t for t in c.get("/v1/data/model").json()["tables"]}
    columns = {col["name"]: col for col in tables["customers"]["columns"]}
    assert tables["customers"]["rows"] == 6
    assert columns["email"]["reading"] == "personal"
    assert columns["email"]["values"] == []  # personal data is never sampled
    assert columns["sms_opt_in"]["reading"] == "flag"
    assert columns["signup_date"]["reading"] == "date"
    orders = {col["name"]: col for col in tables["orders"]["columns"]}
    assert orders["total"]["reading"] == "money"


def test_upload_loads_a_csv_with_the_cli_checks_and_the_next_read_sees_it(server: dict[str, Any]) -> None:
    with client(server, "writer") as c:
        response = upload(c, "Leads 2026.csv", LEADS, progress_id="abcdef12")
        assert response.status_code == 201, response.text
        body = response.json()
        progress = c.get("/v1/data/loads/abcdef12").json()
        tables = {t["name"]: t for t in c.get("/v1/data/model").json()["tables"]}
    assert body["table"] == "leads_2026" and body["rows"] == 2
    assert any("money written as text" in n for n in body["notes"])
    assert progress == {"stage": "done", "percent": 100.0}
    readings = {col["name"]: col["reading"] for col in tables["leads_2026"]["columns"]}
    assert readings["budget"] == "money"
    assert readings["signup"] == "date"
    assert readings["email"] == "personal"


def test_upload_of_a_taken_name_is_409_and_replace_replaces(server: dict[str, Any]) -> None:
    with client(server, "writer") as c:
        assert upload(c, "events.csv", b"id,kind\n1,a\n").status_code == 201
        assert_error(upload(c, "events.csv", b"id,kind\n1,a\n"), 409, "table_exists")
        again = upload(c, "events.csv", b"id,kind\n1,a\n2,b\n", replace="true")
    assert again.status_code == 201 and again.json()["replaced"] is True
    assert again.json()["rows"] == 2


@pytest.mark.parametrize(
    ("name", "data", "status", "kind", "words"),
    [
        ("notes.docx", b"PK..", 415, "unsupported_file_type", ".csv"),
        ("empty.csv", b"", 422, "data_load_error", "empty"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n", 422, "data_load_error", "ragged.csv"),
    ],
)
def test_bad_uploads_name_the_problem(
    server: dict[str, Any], name: str, data: bytes, status: int, kind: str, words: str
) -> None:
    with client(server, "writer") as c:
        error = assert_error(upload(c, name, data), status, kind)
    assert words in error["message"]
    assert ".loading" not in error["message"]  # the server's scratch path is not shown


def test_bad_table_name_is_422(server: dict[str, Any]) -> None:
    with client(server, "writer") as c:
        response = upload(c, "x.csv", b"a\n1\n", table="drop table; --")
    assert response.status_code == 422


def test_upload_over_the_size_limit_is_413(server: dict[str, Any]) -> None:
    with client(server, "writer") as c:
        error = assert_error(upload(c, "big.csv", b"a\n" + b"1\n" * 40_000), 413, "payload_too_large")
    assert "MARA_MAX_DATA_UPLOAD_BYTES" in error["message"]


def test_a_reader_key_may_not_upload_or_edit_the_model(server: dict[str, Any]) -> None:
    with client(server, "reader") as c:
        assert_error(upload(c, "r.csv", b"a\n1\n"), 403, "insufficient_scope")
        assert_error(c.patch("/v1/data/model/orders", json={"description": "x"}), 403, "insufficient_scope")


def test_cross_site_upload_is_refused(server: dict[str, Any]) -> None:
    with client(server, "writer") as c:
        response = c.post("/v1/data/tables", files={"file": ("x.csv", b"a\n1\n")}, headers=EVIL)
    assert_error(response, 403, "cross_site_request")


def test_synonyms_and_descriptions_are_saved_and_validated(server: dict[str, Any]) -> None:
    edit = {"columns": {"channel": {"description": "Where the order was placed", "synonyms": ["store", "shop type"]}}}
    with client(server, "writer") as c:
        response = c.patch("/v1/data/model/orders", json=edit)
        assert response.status_code == 200, response.text
        bad_column = c.patch("/v1/data/model/orders", json={"columns": {"chanel": {"synonyms": ["x"]}}})
        bad_word = c.patch("/v1/data/model/orders", json={"synonyms": ["<script>"]})
        no_table = c.patch("/v1/data/model/nope", json={"description": "x"})
    column = next(
        col for t in response.json()["tables"] if t["name"] == "orders" for col in t["columns"] if col["name"] == "channel"
    )
    assert column["synonyms"] == ["store", "shop type"]
    assert column["description"] == "Where the order was placed"
    assert "channel" in assert_error(bad_column, 422, "unknown_column")["message"]
    assert_error(bad_word, 422, "invalid_synonym")
    assert_error(no_table, 404, "unknown_table")
    assert "shop type" in (server["home"] / "semantic.yaml").read_text()


# --- brand --------------------------------------------------------------------------------------


def test_brand_edits_are_validated_like_mara_brand(server: dict[str, Any]) -> None:
    with client(server, "admin") as c:
        profile = c.get("/v1/brand").json()["profile"]
        profile["banned"] = [*profile["banned"], "cheap"]
        saved = c.put("/v1/brand", json=profile)
        bad = c.put("/v1/brand", json={**profile, "disclaimers": {"fax": ["x"]}})
        unknown = c.put("/v1/brand", json={**profile, "colour": "red"})
    assert saved.status_code == 200, saved.text
    assert "cheap" in saved.json()["profile"]["banned"]
    assert "unknown channel 'fax'" in assert_error(bad, 422, "invalid_brand_profile")["message"]
    assert "colour" in assert_error(unknown, 422, "invalid_brand_profile")["message"]
    assert (server["home"] / "brand.yaml").stat().st_mode & 0o077 == 0


def test_brand_writes_need_kb_write_and_the_same_site(server: dict[str, Any]) -> None:
    with client(server, "reader") as c:
        profile = c.get("/v1/brand").json()["profile"]
        assert_error(c.put("/v1/brand", json=profile), 403, "insufficient_scope")
    with client(server, "admin") as c:
        assert_error(c.put("/v1/brand", json=profile, headers=EVIL), 403, "cross_site_request")


# --- keys ---------------------------------------------------------------------------------------


def test_admin_creates_lists_and_revokes_keys(server: dict[str, Any]) -> None:
    with client(server, "admin") as c:
        created = c.post("/v1/keys", json={"name": "intern", "scopes": ["chat"]})
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        listed = c.get("/v1/keys").json()
        assert key not in str(listed)  # the key is shown once
        assert httpx.get(f"{server['url']}/v1/conversations", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        revoked = c.delete(f"/v1/keys/{created.json()['id']}")
        assert revoked.json()["active"] is False
        duplicate = c.post("/v1/keys", json={"name": "boss"})
        bad_scope = c.post("/v1/keys", json={"name": "x1", "scopes": ["root"]})
        missing = c.delete("/v1/keys/nope")
    refused = httpx.get(f"{server['url']}/v1/conversations", headers={"Authorization": f"Bearer {key}"})
    assert_error(refused, 401, "invalid_api_key")
    assert "already exists" in assert_error(duplicate, 422, "invalid_key_request")["message"]
    assert "root" in assert_error(bad_scope, 422, "invalid_key_request")["message"]
    assert_error(missing, 404, "unknown_key")
    assert {"boss", "intern"} <= {k["name"] for k in listed}


@pytest.mark.parametrize("who", ["writer", "reader"])
def test_keys_need_admin(server: dict[str, Any], who: str) -> None:
    with client(server, who) as c:
        assert_error(c.get("/v1/keys"), 403, "insufficient_scope")
        assert_error(c.post("/v1/keys", json={"name": "sneaky", "scopes": ["admin"]}), 403, "insufficient_scope")


def test_cross_site_key_creation_is_refused(server: dict[str, Any]) -> None:
    with client(server, "admin") as c:
        assert_error(c.post("/v1/keys", json={"name": "evil"}, headers=EVIL), 403, "cross_site_request")
        assert "evil" not in str(c.get("/v1/keys").json())


# --- documents, audiences, models ---------------------------------------------------------------


def test_documents_upload_list_reingest_and_remove(server: dict[str, Any]) -> None:
    doc = b"# Returns\n\nCustomers may return any item within 30 days for a full refund.\n"
    with client(server, "admin") as c:
        assert c.post("/v1/kb/documents", files={"files": ("returns.md", doc)}).status_code == 200
        listed = {d["source"]: d for d in c.get("/v1/kb/documents").json()}
        again = c.post("/v1/kb/documents/returns.md/reingest")
        removed = c.delete("/v1/kb/documents/returns.md")
        gone = c.delete("/v1/kb/documents/returns.md")
    assert listed["returns.md"]["reingestable"] is True
    assert again.status_code == 200 and again.json()["added"] == ["returns.md"]
    assert removed.json()["removed"] >= 1
    assert_error(gone, 404, "unknown_document")
    assert not (server["home"] / "documents" / "returns.md").exists()


def test_document_removal_needs_kb_write(server: dict[str, Any]) -> None:
    with client(server, "reader") as c:
        assert_error(c.delete("/v1/kb/documents/anything.md"), 403, "insufficient_scope")


def test_audiences_refresh_and_delete(server: dict[str, Any]) -> None:
    rule = {"name": "germans", "kind": "query", "params": {"sql": "SELECT customer_id FROM customers WHERE country = 'Germany'"}}
    with client(server, "writer") as c:
        assert c.post("/v1/audiences", json=rule).status_code == 201
        refreshed = c.post("/v1/audiences/germans/refresh")
        deleted = c.delete("/v1/audiences/germans")
        assert_error(c.delete("/v1/audiences/germans"), 404, "not_found")
        listed = c.get("/v1/audiences").json()["audiences"]
    assert refreshed.status_code == 200 and refreshed.json()["size"] >= 1
    assert deleted.json()["name"] == "germans"
    assert listed == []


def test_models_list_speaks_plain_words(server: dict[str, Any]) -> None:
    from api.routes.workspace import summary_in_words

    with client(server, "reader") as c:
        assert c.get("/v1/data/models").json() == []
    text = summary_in_words({"target": "churned", "metrics": {"auc": 0.81, "lift_top_decile": 2.4}})
    assert text.startswith("Predicts churned.") and "81%" in text and "2.4×" in text
    assert "well" in text


def test_open_mode_has_no_sign_in_but_refuses_cross_site_writes(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(settings)) as live:
        ok = httpx.post(f"{live.url}/v1/data/tables", files={"file": ("t.csv", b"a\n1\n")}, timeout=60)
        evil = httpx.post(f"{live.url}/v1/keys", json={"name": "planted"}, headers=EVIL, timeout=60)
    assert ok.status_code == 201, ok.text
    assert_error(evil, 403, "cross_site_request")
    assert KeyStore.for_home(home).list() == []


def test_saved_models_do_not_hide_the_openai_model_list(server: dict[str, Any]) -> None:
    with client(server, "reader") as c:
        listed = c.get("/v1/models").json()
    assert listed["object"] == "list" and listed["data"][0]["id"] == "mara"
