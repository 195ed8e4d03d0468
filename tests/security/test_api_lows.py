"""Issue 14, Low findings on the API side: pasted keys kept in clear, sign-out that does not end
the session, and 500s for input nested too deeply or a Slack timestamp that is not a number."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from assistant.audit import AuditLog
from assistant.keys import KeyStore
from assistant.testing.fake_slack import FakeSlack
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse
from tests.test_api import LiveServer, assert_error

pytestmark = pytest.mark.integration

SLACK_SECRET = "security-signing-secret"
SLACK_TOKEN = "xoxb-security-test"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A keyed server with the Slack events endpoint mounted (against a fake Slack Web API)."""
    home = tmp_path_factory.mktemp("lows") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    _, key = KeyStore.for_home(home).create("marketer", ["chat", "data:read"])
    settings = MaraSettings(  # type: ignore[call-arg]
        home=home, mode="offline", rate_limit_per_minute=600, _env_file=None
    )
    with FakeSlack(token=SLACK_TOKEN) as fake, pytest.MonkeyPatch.context() as env:
        env.setenv("SLACK_SIGNING_SECRET", SLACK_SECRET)
        env.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
        env.setenv("MARA_SLACK_API_URL", fake.api_url)
        with LiveServer(create_app(settings)) as live, httpx.Client(base_url=live.url, timeout=60) as client:
            yield {"client": client, "key": key, "home": home}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- pasted keys ------------------------------------------------------------------------------

PASTED = "mara_0123456789ab_Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4"


def test_a_pasted_key_is_kept_neither_in_the_audit_nor_in_the_conversation(server: dict[str, Any]) -> None:
    client = server["client"]
    body = {"message": f"my colleague's key is {PASTED}, how many customers?", "stream": False,
            "conversation_id": "pasted-key"}
    assert client.post("/v1/chat", json=body, headers=auth(server["key"])).status_code == 200
    audit = json.dumps([r.to_dict() for r in AuditLog(server["home"] / "audit.sqlite").query()])
    assert PASTED not in audit and "mara_[redacted]" in audit
    stored = client.get("/v1/conversations/pasted-key", headers=auth(server["key"])).text
    assert PASTED not in stored and "mara_[redacted]" in stored


# --- sign-out ---------------------------------------------------------------------------------


def test_signing_out_ends_the_session_on_the_server(server: dict[str, Any]) -> None:
    client = server["client"]
    signed_in = client.post("/v1/auth/session", json={"key": server["key"]})
    cookie = signed_in.cookies["mara_session"]
    client.cookies.clear()
    kept = {"Cookie": f"mara_session={cookie}"}
    assert client.get("/v1/conversations", headers=kept).status_code == 200
    assert client.delete("/v1/auth/session", headers=kept).status_code == 204
    client.cookies.clear()
    replayed = client.get("/v1/conversations", headers=kept)  # a copy of the cookie, kept after sign-out
    assert_error(replayed, 401, "missing_api_key")


# --- 4xx instead of 500 -------------------------------------------------------------------------


def test_deeply_nested_sql_gets_a_clear_400(server: dict[str, Any]) -> None:
    sql = "SELECT customer_id FROM customers WHERE " + "(" * 3000 + "1=1" + ")" * 3000
    body = {"name": "deep", "kind": "query", "params": {"sql": sql}}
    response = server["client"].post("/v1/audiences", json=body, headers=auth(server["key"]))
    assert_error(response, 400, "input_too_deep")


def _signed(body: str, stamp: str) -> dict[str, str]:
    digest = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + digest.hexdigest()}


def test_slack_timestamp_that_is_not_a_number_gets_400(server: dict[str, Any]) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c"})
    response = server["client"].post("/slack/events", content=body, headers=_signed(body, "abc"))
    assert response.status_code == 400
    assert "X-Slack-Request-Timestamp" in response.text


def test_slack_body_nested_too_deeply_gets_400(server: dict[str, Any]) -> None:
    body = '{"a":' * 100_000 + "1" + "}" * 100_000
    response = server["client"].post("/slack/events", content=body, headers=_signed(body, str(int(time.time()))))
    assert response.status_code == 400

