"""Issue 14, High 2: the open API (no key yet, ``make run``) must not be reachable from web
pages: DNS rebinding (a foreign ``Host``) and cross-site writes (``Origin``,
``Sec-Fetch-Site``) are refused; scripts on the machine and the web chat keep working."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from api.site_guard import is_loopback_host, same_origin
from assistant.keys import KeyStore
from assistant.testing.fake_slack import FakeSlack
from foundation.settings import MaraSettings
from tests import live_http
from tests.conftest import build_tiny_warehouse
from tests.test_api import LiveServer, assert_error

CHAT = {"message": "How many customers do we have?", "stream": False}
SLACK_SECRET = "sites-signing-secret"
SLACK_TOKEN = "xoxb-sites-test"


def test_loopback_host_names_with_any_port() -> None:
    assert [is_loopback_host(h) for h in ("localhost:8000", "127.0.0.1", "[::1]:9", "LOCALHOST")] == [
        True, True, True, True,
    ]


def test_other_host_names_are_not_loopback() -> None:
    hosts = ("evil.example", "127.0.0.1.evil.example", "localhost.evil.example:80", "[::1]x", "")
    assert [is_loopback_host(h) for h in hosts] == [False] * len(hosts)


def test_same_origin_compares_host_and_port() -> None:
    assert same_origin("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert same_origin("https://mara.example", "mara.example")  # behind a TLS proxy
    assert not same_origin("http://evil.example", "127.0.0.1:8000")
    assert not same_origin("http://127.0.0.1:9999", "127.0.0.1:8000")
    assert not same_origin("null", "127.0.0.1:8000")


@pytest.fixture(scope="module")
def open_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """No API key in the workspace, loopback: the API is open."""
    home = tmp_path_factory.mktemp("sites") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with FakeSlack(token=SLACK_TOKEN) as fake, pytest.MonkeyPatch.context() as env:
        env.setenv("SLACK_SIGNING_SECRET", SLACK_SECRET)
        env.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
        env.setenv("MARA_SLACK_API_URL", fake.api_url)
        with LiveServer(create_app(settings)) as server:
            yield {"url": server.url, "port": server.url.rsplit(":", 1)[1]}


@pytest.mark.integration
def test_dns_rebinding_host_is_refused_while_open(open_api: dict[str, Any]) -> None:
    """A page at evil.example re-pointed to 127.0.0.1 sends ``Host: evil.example``."""
    rebinding = {"Host": f"evil.example:{open_api['port']}"}
    read = live_http.post(f"{open_api['url']}/v1/chat", json=CHAT, headers=rebinding)
    error = assert_error(read, 421, "host_not_allowed")
    assert "127.0.0.1" in error["message"]
    assert_error(live_http.get(f"{open_api['url']}/v1/data/tables", headers=rebinding), 421, "host_not_allowed")


@pytest.mark.integration
def test_loopback_names_keep_working_without_a_key(open_api: dict[str, Any]) -> None:
    for host in ("127.0.0.1", "localhost"):
        response = live_http.get(
            f"{open_api['url']}/v1/data/tables", headers={"Host": f"{host}:{open_api['port']}"}
        )
        assert response.status_code == 200


@pytest.mark.integration
def test_cross_site_upload_into_the_knowledge_base_is_refused(open_api: dict[str, Any]) -> None:
    """``fetch(..., {mode: "no-cors", body: FormData})`` from another site carries its Origin."""
    files = {"files": ("brand.md", b"# Brand\nOur voice is evil now.", "text/markdown")}
    planted = live_http.post(
        f"{open_api['url']}/v1/kb/documents",
        files=files,
        headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert_error(planted, 403, "cross_site_request")


@pytest.mark.integration
def test_cross_site_write_without_origin_is_refused_by_sec_fetch_site(open_api: dict[str, Any]) -> None:
    refused = live_http.post(
        f"{open_api['url']}/v1/chat", json=CHAT, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert_error(refused, 403, "cross_site_request")


@pytest.mark.integration
def test_same_origin_and_header_less_writes_pass(open_api: dict[str, Any]) -> None:
    url = open_api["url"]
    web_chat = {"Origin": url, "Sec-Fetch-Site": "same-origin"}
    assert live_http.post(f"{url}/v1/chat", json=CHAT, headers=web_chat).status_code == 200
    assert live_http.post(f"{url}/v1/chat", json=CHAT).status_code == 200  # curl, scripts, SDKs


@pytest.mark.integration
def test_cross_site_writes_are_refused_with_keys_too(tmp_path: Any) -> None:
    build_tiny_warehouse(tmp_path / "warehouse.duckdb")
    _, key = KeyStore.for_home(tmp_path).create("marketer", ["chat"])
    settings = MaraSettings(home=tmp_path, mode="offline", _env_file=None)  # type: ignore[call-arg]
    with LiveServer(create_app(settings)) as server:
        headers = {"Authorization": f"Bearer {key}", "Origin": "http://evil.example"}
        refused = live_http.delete(f"{server.url}/v1/conversations/abc", headers=headers)
        assert_error(refused, 403, "cross_site_request")
        # with a key, any Host name is served (a rebinding page has no key)
        named = live_http.get(
            f"{server.url}/v1/models",
            headers={"Authorization": f"Bearer {key}", "Host": "mara.example.com"},
        )
        assert named.status_code == 200


@pytest.mark.integration
def test_slack_events_keep_working_under_a_public_host_name(open_api: dict[str, Any]) -> None:
    """Slack reaches the open server through a tunnel's name: signed, server to server, exempt."""
    body = json.dumps({"type": "url_verification", "challenge": "c-123"})
    stamp = str(int(time.time()))
    digest = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
        "Host": "mara.tunnel.example",
    }
    response = live_http.post(f"{open_api['url']}/slack/events", content=body, headers=headers)
    assert response.status_code == 200 and "c-123" in response.text
