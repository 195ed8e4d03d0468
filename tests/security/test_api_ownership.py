"""Issue 14, High 1 and Medium 8: a conversation (and its result tables) belongs to the key
that started it. Each test replays the attack of the finding, then checks the refusal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from api.app import create_app
from foundation.settings import MaraSettings
from tests.conftest import keyed_workspace
from tests.test_api import LiveServer, assert_error

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server with three keys: a chat-only intruder, a data:read marketer and an admin."""
    home, keys = keyed_workspace(tmp_path_factory.mktemp("owners"), {
        "intruder": ("intruder", ["chat"]),
        "owner": ("marketer", ["chat", "data:read"]),
        "admin": ("root", ["admin"]),
    })
    settings = MaraSettings(  # type: ignore[call-arg]
        home=home, mode="offline", rate_limit_per_minute=600, _env_file=None
    )
    with LiveServer(create_app(settings)) as server, httpx.Client(
        base_url=server.url, timeout=60
    ) as client:
        yield {"client": client, "url": server.url, "keys": keys, "home": home}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat(client: httpx.Client, key: str, message: str, conversation_id: str) -> httpx.Response:
    body = {"message": message, "stream": False, "conversation_id": conversation_id}
    return client.post("/v1/chat", json=body, headers=auth(key))


def test_a_conversation_id_used_first_by_another_key_is_not_joined(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    planted = chat(client, keys["intruder"], "hello", "q3-review")
    assert planted.status_code == 200  # the intruder's own conversation now
    refused = chat(client, keys["owner"], "List customers in Germany", "q3-review")
    assert_error(refused, 404, "not_found")  # the marketer's turn never joins it


def test_another_keys_conversation_can_be_neither_written_nor_read(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    assert chat(client, keys["owner"], "How many customers do we have?", "owner-talk").status_code == 200
    assert_error(chat(client, keys["intruder"], "and their e-mails?", "owner-talk"), 404, "not_found")
    path = "/v1/conversations/owner-talk"
    assert_error(client.get(path, headers=auth(keys["intruder"])), 404, "not_found")
    rename = client.patch(path, json={"title": "mine"}, headers=auth(keys["intruder"]))
    assert_error(rename, 404, "not_found")
    assert_error(client.delete(path, headers=auth(keys["intruder"])), 404, "not_found")
    messages = client.get(path, headers=auth(keys["owner"])).json()["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["How many customers do we have?"]


def test_an_intruders_attempt_does_not_list_the_conversation_as_its_own(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    assert chat(client, keys["owner"], "revenue by country", "owner-list").status_code == 200
    chat(client, keys["intruder"], "hi", "owner-list")
    listed = client.get("/v1/conversations", headers=auth(keys["intruder"])).json()["conversations"]
    assert "owner-list" not in [c["conversation_id"] for c in listed]


def test_admin_may_read_any_conversation(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    assert chat(client, keys["owner"], "How many customers do we have?", "owner-audit").status_code == 200
    assert client.get("/v1/conversations/owner-audit", headers=auth(keys["admin"])).status_code == 200


def test_openai_user_field_gives_each_key_its_own_conversation(keyed: dict[str, Any]) -> None:
    """Two keys sending the same ``user`` used to share ``user-``+sha256(user)[:32]."""
    ids = []
    for who in ("owner", "intruder"):
        sdk = openai.OpenAI(base_url=f"{keyed['url']}/v1", api_key=keyed["keys"][who], max_retries=0)
        raw = sdk.chat.completions.with_raw_response.create(
            model="mara", messages=[{"role": "user", "content": "How many customers?"}], user="anna"
        )
        assert raw.http_response.status_code == 200
        ids.append(raw.headers["x-conversation-id"])
    assert ids[0] != ids[1]


def test_openai_header_into_another_keys_conversation_is_not_found(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    assert chat(client, keys["owner"], "How many customers do we have?", "owner-oai").status_code == 200
    body = {"model": "mara", "messages": [{"role": "user", "content": "show their e-mails"}]}
    refused = client.post(
        "/v1/chat/completions",
        json=body,
        headers={**auth(keys["intruder"]), "X-Conversation-Id": "owner-oai"},
    )
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "conversation_not_found"


def test_a_result_table_is_downloaded_only_by_the_key_that_made_it(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    spec = {"table": "customers", "metrics": [{"agg": "count"}], "dimensions": ["country"]}
    made = client.post("/v1/query", json=spec, headers=auth(keys["owner"]))
    assert made.status_code == 200
    csv_url = made.json()["csv_url"]
    assert_error(client.get(csv_url, headers=auth(keys["intruder"])), 404, "not_found")
    assert client.get(csv_url, headers=auth(keys["owner"])).status_code == 200
    assert client.get(csv_url, headers=auth(keys["admin"])).status_code == 200


def test_a_table_from_a_chat_turn_belongs_to_that_turns_key(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    turn = chat(client, keys["owner"], "How many customers per country?", "owner-table").json()
    artifact = next(e["data"]["artifact_id"] for e in turn["events"] if e["type"] == "table")
    url = f"/v1/artifacts/{artifact}.csv"
    assert_error(client.get(url, headers=auth(keys["intruder"])), 404, "not_found")
    assert client.get(url, headers=auth(keys["owner"])).status_code == 200


def test_another_key_cannot_regenerate_or_edit_a_turn_of_the_conversation(keyed: dict[str, Any]) -> None:
    client, keys = keyed["client"], keyed["keys"]
    assert chat(client, keys["owner"], "How many customers do we have?", "owner-edit").status_code == 200
    body = {"message": "List every customer's e-mail", "stream": False, "conversation_id": "owner-edit", "replace_turn": 1}
    assert_error(client.post("/v1/chat", json=body, headers=auth(keys["admin"])), 404, "not_found")
    messages = client.get("/v1/conversations/owner-edit", headers=auth(keys["owner"])).json()["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["How many customers do we have?"]
