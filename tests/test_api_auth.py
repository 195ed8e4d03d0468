"""API keys, scopes, sessions, rate and size limits, CORS and metrics, through real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.auth import TokenBuckets
from assistant.audit import AuditLog
from assistant.cli_keys import keys_app
from assistant.keys import DEFAULT_SCOPES, SCOPES, KeyInputError, KeyNotFoundError, KeyStore
from foundation.settings import MaraSettings, get_settings
from tests import live_http
from tests.conftest import build_tiny_warehouse, keyed_workspace
from tests.test_api import LiveServer, assert_error

# --- the key store ---------------------------------------------------------------------------


def test_keys_are_stored_hashed_scoped_and_revocable(tmp_path: Path) -> None:
    store = KeyStore.for_home(tmp_path)
    assert not store.has_keys() and store.list() == []
    info, key = store.create("crm-sync", ["chat,data:read"])
    assert key.startswith("mara_") and info.scopes == ("chat", "data:read")
    raw = (tmp_path / "keys.sqlite").read_bytes()
    assert key.encode() not in raw and key.split("_", 2)[2].encode() not in raw
    verified = store.verify(key)
    assert verified is not None and verified.id == store.get("crm-sync").id == info.id
    assert store.verify(key + "x") is None and store.verify("nonsense") is None
    assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.get(info.id).name == "crm-sync"
    assert store.verify(key) is not None and store.get("crm-sync").last_used is not None

    _, admin_key = store.create("ops", ["admin"])
    ops = store.verify(admin_key)
    assert ops is not None and ops.effective_scopes == SCOPES and ops.allows("kb:write")
    assert store.create("default", None)[0].scopes == DEFAULT_SCOPES

    with pytest.raises(KeyInputError, match="already exists"):
        store.create("crm-sync")
    with pytest.raises(KeyInputError, match="Unknown scope"):
        store.create("x", ["write-everything"])
    with pytest.raises(KeyInputError, match="Invalid key name"):
        store.create("../etc")

    revoked = store.revoke("crm-sync")
    assert revoked.revoked is not None and not revoked.active
    assert store.verify(key) is None and store.has_keys()
    assert store.revoke(info.id).revoked == revoked.revoked  # idempotent
    with pytest.raises(KeyNotFoundError):
        store.revoke("nobody")


def test_token_bucket_allows_a_burst_then_says_when_to_retry() -> None:
    buckets = TokenBuckets(per_minute=3)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("a")
    assert 0 < wait <= 20.0
    assert buckets.take("b") == 0.0  # per caller
    assert TokenBuckets(per_minute=0).take("a") == 0.0  # off


def test_keys_cli_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARA_HOME", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        created = runner.invoke(
            keys_app, ["create", "--name", "ana", "--scope", "chat", "--scope", "copy", "--json"]
        )
        assert created.exit_code == 0, created.output
        payload = json.loads(created.stdout)
        assert payload["name"] == "ana" and payload["scopes"] == ["chat", "copy"]
        assert KeyStore.for_home(tmp_path).verify(payload["key"]) is not None

        listed = runner.invoke(keys_app, ["list", "--json"])
        rows = json.loads(listed.stdout)
        assert [r["name"] for r in rows] == ["ana"] and "key" not in rows[0]
        assert rows[0]["active"] is True

        revoked = runner.invoke(keys_app, ["revoke", "ana", "--json"])
        assert revoked.exit_code == 0 and json.loads(revoked.stdout)["active"] is False
        assert KeyStore.for_home(tmp_path).verify(payload["key"]) is None

        bad = runner.invoke(keys_app, ["create", "--name", "bob", "--scope", "root"])
        assert bad.exit_code != 0 and isinstance(bad.exception, KeyInputError)
    finally:
        get_settings.cache_clear()


# --- a server whose workspace has keys ----------------------------------------------------------


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home, keys = keyed_workspace(tmp_path_factory.mktemp("auth"), {
        "chat": ("chatter", ["chat", "data:read"]),
        "chat_only": ("talker", ["chat"]),
        "admin": ("root", ["admin"]),
        "data": ("analyst", ["data:read"]),
        "revoked": ("gone", ["chat"]),
    })
    revoked = keys.pop("revoked")
    KeyStore.for_home(home).revoke("gone")
    settings = MaraSettings(  # type: ignore[call-arg]
        home=home,
        mode="offline",
        rate_limit_per_minute=600,
        cors_origins="http://app.example",
        max_body_bytes=4096,
        _env_file=None,
    )
    with LiveServer(create_app(settings)) as server:
        yield {"url": server.url, "keys": keys, "revoked": revoked, "home": home}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


CHAT = {"message": "How many customers do we have?", "stream": False}


@pytest.mark.integration
def test_missing_invalid_and_revoked_keys_get_401_saying_how_to_get_one(
    secured: dict[str, Any],
) -> None:
    url = secured["url"]
    missing = live_http.post(f"{url}/v1/chat", json=CHAT)
    error = assert_error(missing, 401, "missing_api_key")
    assert "mara keys create" in error["message"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for key in ("mara_000000000000_not-a-real-key-at-all", secured["revoked"], "sk-123"):
        bad = live_http.post(f"{url}/v1/chat", json=CHAT, headers=bearer(key))
        assert "invalid or revoked" in assert_error(bad, 401, "invalid_api_key")["message"]
    for path in ("/v1/conversations/abc", "/v1/artifacts/0123456789ab.csv", "/v1/data/tables"):
        assert_error(live_http.get(f"{url}{path}"), 401, "missing_api_key")
    assert live_http.get(f"{url}/healthz").status_code == 200  # health stays open
    assert live_http.get(f"{url}/").status_code == 200  # so does the web chat page


@pytest.mark.integration
def test_a_valid_key_works_by_bearer_or_header_and_names_the_actor(
    secured: dict[str, Any],
) -> None:
    url = secured["url"]
    by_bearer = live_http.post(f"{url}/v1/chat", json=CHAT, headers=bearer(secured["keys"]["chat"]))
    assert by_bearer.status_code == 200, by_bearer.text
    assert "**6** customers" in by_bearer.json()["reply"]
    by_header = live_http.get(
        f"{url}/v1/conversations/{by_bearer.json()['conversation_id']}",
        headers={"X-API-Key": secured["keys"]["chat"]},
    )
    assert by_header.status_code == 200
    # the key's scopes reach the assistant: without data:read it does not query data
    narrow = live_http.post(f"{url}/v1/chat", json=CHAT, headers=bearer(secured["keys"]["chat_only"]))
    assert narrow.status_code == 200
    assert "data:read" in narrow.json()["reply"] and not narrow.json()["tool_calls"]
    # the audit trail records the key's name as the actor
    records = AuditLog(secured["home"] / "audit.sqlite").query()
    assert any(r.actor == "key:chatter" for r in records)


@pytest.mark.integration
def test_missing_scope_gets_403_naming_the_scope(secured: dict[str, Any]) -> None:
    url, keys = secured["url"], secured["keys"]
    denied = live_http.post(
        f"{url}/v1/copy", json={"channel": "sms", "brief": "Sale"}, headers=bearer(keys["chat"])
    )
    error = assert_error(denied, 403, "insufficient_scope")
    assert "'copy'" in error["message"] and "chatter" in error["message"]
    chat = live_http.post(f"{url}/v1/chat", json=CHAT, headers=bearer(keys["data"]))
    assert "'chat'" in assert_error(chat, 403, "insufficient_scope")["message"]
    metrics = live_http.get(f"{url}/metrics", headers=bearer(keys["chat"]))
    assert "'admin'" in assert_error(metrics, 403, "insufficient_scope")["message"]
    # admin has every scope
    tables = live_http.get(f"{url}/v1/data/tables", headers=bearer(keys["admin"]))
    assert tables.status_code == 200 and {t["name"] for t in tables.json()} >= {"customers"}


@pytest.mark.integration
def test_openai_clients_get_openai_shaped_auth_errors(secured: dict[str, Any]) -> None:
    client = openai.OpenAI(base_url=f"{secured['url']}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        client.chat.completions.create(model="mara", messages=[{"role": "user", "content": "hi"}])
    assert "mara keys create" in str(err.value)
    ok = openai.OpenAI(
        base_url=f"{secured['url']}/v1", api_key=secured["keys"]["chat"], max_retries=0
    )
    assert [m.id for m in ok.models.list()] == ["mara"]
    denied = openai.OpenAI(
        base_url=f"{secured['url']}/v1", api_key=secured["keys"]["data"], max_retries=0
    )
    with pytest.raises(openai.PermissionDeniedError):
        denied.models.list()


@pytest.mark.integration
def test_web_session_cookie_is_http_only_and_ends_with_the_key(
    secured: dict[str, Any],
) -> None:
    url = secured["url"]
    home: Path = secured["home"]
    _, key = KeyStore.for_home(home).create("browser", ["chat"])
    with httpx.Client(base_url=url, timeout=30) as c:
        anonymous = c.get("/v1/auth/session").json()
        assert anonymous["auth_required"] is True and anonymous["authenticated"] is False
        assert_error(c.post("/v1/auth/session", json={"key": "nope"}), 401, "invalid_api_key")
        signed = c.post("/v1/auth/session", json={"key": key})
        assert signed.status_code == 200 and signed.json()["name"] == "browser"
        cookie = signed.headers["set-cookie"].lower()
        assert "mara_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert key not in signed.headers["set-cookie"]
        me = c.get("/v1/auth/session").json()
        assert me["authenticated"] and me["via"] == "session"
        assert c.post("/v1/chat", json=CHAT).status_code == 200

        forged = c.cookies["mara_session"][:-2] + "00"
        assert_error(
            live_http.post(f"{url}/v1/chat", json=CHAT, cookies={"mara_session": forged}),
            401,
            "missing_api_key",
        )
        KeyStore.for_home(home).revoke("browser")
        ended = assert_error(c.post("/v1/chat", json=CHAT), 401, "missing_api_key")
        assert "its key was revoked" in ended["message"]  # the sign-in form says why
        assert c.delete("/v1/auth/session").status_code == 204


@pytest.mark.integration
def test_oversized_bodies_get_413(secured: dict[str, Any]) -> None:
    url, key = secured["url"], secured["keys"]["admin"]
    big = {"message": "x" * 5000, "stream": False}
    declared = live_http.post(f"{url}/v1/chat", json=big, headers=bearer(key))
    error = assert_error(declared, 413, "payload_too_large")
    assert "4 KiB" in error["message"] and "MARA_MAX_BODY_BYTES" in error["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield b'{"message": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    streamed = live_http.post(
        f"{url}/v1/chat",
        content=chunks(),
        headers={**bearer(key), "Content-Type": "application/json"},
    )
    assert_error(streamed, 413, "payload_too_large")
    oai = live_http.post(
        f"{url}/v1/chat/completions",
        content=chunks(),
        headers={**bearer(key), "Content-Type": "application/json"},
    )
    assert oai.status_code == 413 and oai.json()["error"]["code"] == "payload_too_large"


@pytest.mark.integration
def test_cors_allows_only_the_configured_origin(secured: dict[str, Any]) -> None:
    url = secured["url"]
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = httpx.options(f"{url}/v1/chat", headers={"Origin": "http://app.example", **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "http://app.example"
    evil = httpx.options(f"{url}/v1/chat", headers={"Origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in evil.headers
    denied = live_http.post(f"{url}/v1/chat", json=CHAT, headers={"Origin": "http://app.example"})
    assert denied.status_code == 401
    assert denied.headers["access-control-allow-origin"] == "http://app.example"


@pytest.mark.integration
def test_metrics_count_requests_turns_and_tools(secured: dict[str, Any]) -> None:
    url, keys = secured["url"], secured["keys"]
    assert live_http.post(f"{url}/v1/chat", json=CHAT, headers=bearer(keys["chat"])).status_code == 200
    response = live_http.get(f"{url}/metrics", headers=bearer(keys["admin"]))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'mara_http_requests_total{method="POST",route="/v1/chat",status="200"}' in text
    assert 'route="/v1/conversations/{conversation_id}"' in text or "/v1/chat" in text
    assert "mara_http_request_duration_seconds_bucket" in text
    assert 'mara_turns_total{mode="offline",outcome="ok"}' in text
    assert 'mara_tool_calls_total{ok="true",tool="query_data"}' in text
    assert 'status="401"' in text


# --- the rate limit, on its own server (small bucket) -------------------------------------------


@pytest.mark.integration
def test_rate_limit_gives_429_with_retry_after(tmp_path: Path) -> None:
    build_tiny_warehouse(tmp_path / "warehouse.duckdb")
    _, key = KeyStore.for_home(tmp_path).create("burst", ["chat"])
    _, other = KeyStore.for_home(tmp_path).create("calm", ["chat"])
    settings = MaraSettings(  # type: ignore[call-arg]
        home=tmp_path, mode="offline", rate_limit_per_minute=3, _env_file=None
    )
    with LiveServer(create_app(settings)) as server, httpx.Client(base_url=server.url) as c:
        statuses = [c.get("/v1/models", headers=bearer(key)).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = c.get("/v1/models", headers=bearer(key))
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 20
        assert limited.json()["error"]["code"] == "rate_limited"
        chat = c.post("/v1/chat", json=CHAT, headers=bearer(key))
        error = assert_error(chat, 429, "rate_limited")
        assert "3 per minute" in error["message"]
        assert c.get("/v1/models", headers=bearer(other)).status_code == 200  # per key


# --- open by default: no key in the workspace, loopback ----------------------------------------


@pytest.mark.integration
def test_open_without_keys_on_loopback_until_required(tmp_path: Path) -> None:
    build_tiny_warehouse(tmp_path / "warehouse.duckdb")
    open_settings = MaraSettings(home=tmp_path, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(open_settings)) as server:
        session = live_http.get(f"{server.url}/v1/auth/session").json()
        assert session["auth_required"] is False and session["via"] == "open"
        assert live_http.get(f"{server.url}/v1/data/tables").status_code == 200
        assert live_http.get(f"{server.url}/metrics").status_code == 200
        # creating the first key closes the API (within a second), without a restart
        KeyStore.for_home(tmp_path).create("first", ["chat"])
        time.sleep(1.1)
        assert_error(live_http.get(f"{server.url}/v1/data/tables"), 401, "missing_api_key")

    home = tmp_path / "other"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    required = MaraSettings(  # type: ignore[call-arg]
        home=home, mode="offline", api_auth="required", _env_file=None
    )
    with LiveServer(create_app(required)) as server:
        assert live_http.get(f"{server.url}/v1/auth/session").json()["auth_required"] is True
        assert_error(live_http.get(f"{server.url}/v1/data/tables"), 401, "missing_api_key")
    exposed = MaraSettings(  # type: ignore[call-arg]
        home=home, mode="offline", host="0.0.0.0", _env_file=None
    )
    with LiveServer(create_app(exposed)) as server:
        assert_error(live_http.get(f"{server.url}/v1/data/tables"), 401, "missing_api_key")


@pytest.mark.integration
def test_conversations_are_listed_renamed_and_deleted_per_key(secured: dict[str, Any]) -> None:
    url, keys = secured["url"], secured["keys"]
    mine = live_http.post(f"{url}/v1/chat", json={**CHAT, "message": "revenue by country"}, headers=bearer(keys["chat"])).json()
    theirs = live_http.post(f"{url}/v1/chat", json=CHAT, headers=bearer(keys["chat_only"])).json()
    listed = live_http.get(f"{url}/v1/conversations", headers=bearer(keys["chat"])).json()["conversations"]
    ids = [c["conversation_id"] for c in listed]
    assert mine["conversation_id"] in ids and theirs["conversation_id"] not in ids  # a key sees its own
    assert next(c for c in listed if c["conversation_id"] == mine["conversation_id"])["title"] == "revenue by country"
    everyone = live_http.get(f"{url}/v1/conversations", headers=bearer(keys["admin"])).json()["conversations"]
    assert {mine["conversation_id"], theirs["conversation_id"]} <= {c["conversation_id"] for c in everyone}
    # another key's conversation is not found, not forbidden: its existence is not confirmed
    assert_error(live_http.get(f"{url}/v1/conversations/{theirs['conversation_id']}", headers=bearer(keys["chat"])), 404, "not_found")
    renamed = live_http.patch(f"{url}/v1/conversations/{mine['conversation_id']}", json={"title": "Q3 revenue"},
                          headers=bearer(keys["chat"]))
    assert renamed.status_code == 200 and renamed.json()["title"] == "Q3 revenue"
    assert live_http.patch(f"{url}/v1/conversations/{mine['conversation_id']}", json={"title": ""},
                       headers=bearer(keys["chat"])).status_code == 422
    gone = live_http.delete(f"{url}/v1/conversations/{mine['conversation_id']}", headers=bearer(keys["chat"]))
    assert gone.status_code == 204
    assert_error(live_http.get(f"{url}/v1/conversations/{mine['conversation_id']}", headers=bearer(keys["chat"])), 404, "not_found")
    assert live_http.delete(f"{url}/v1/conversations/{mine['conversation_id']}", headers=bearer(keys["chat"])).status_code == 404
    after = live_http.get(f"{url}/v1/conversations", headers=bearer(keys["chat"])).json()["conversations"]
    assert mine["conversation_id"] not in [c["conversation_id"] for c in after]
