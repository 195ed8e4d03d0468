"""PII protection for LLM mode: customer personal data is masked before it leaves for the model.

E-mail addresses and phone numbers are found by pattern; names, street addresses and
other personal columns by the schema (``tools.schema_profile.PII_NAME``) in tool results.
Each value gets a stable placeholder (``<EMAIL_1>``, ``<FIRST_NAME_2>``) for the whole
process, so the model can still refer to "the same customer", and the placeholders are
restored in what the user sees. Columns on the allow-list (``MARA_PII_ALLOW``) pass.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from assistant.links import SafeText, safe_unmask
from tools.schema_profile import PII_NAME

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d[\d \-().]{6,}\d|\(\d{3}\)\s?\d{3}[-. ]\d{4}\b|\b\d{3}[-.]\d{3}[-.]\d{4}\b")
PLACEHOLDER = re.compile(r"<([A-Z_]+)_(\d+)>")


class PIIVault:
    """Value ↔ placeholder mapping, shared by every turn of the process (thread-safe)."""

    def __init__(self, allow: Iterable[str] = (), columns: Callable[[], set[str]] | None = None) -> None:
        self.allow = {a.lower() for a in allow}
        self._columns = columns  # personal columns declared in the semantic model (read lazily)
        self._declared: set[str] | None = None
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def placeholder(self, kind: str, value: str) -> str:
        key = (kind, value)
        with self._lock:
            found = self._by_value.get(key)
            if found is None:
                self._counts[kind] = self._counts.get(kind, 0) + 1
                found = f"<{kind}_{self._counts[kind]}>"
                self._by_value[key] = found
                self._by_placeholder[found] = value
        return found

    def mask(self, text: str, extra: Iterable[tuple[str, str]] = ()) -> str:
        """``text`` with e-mails, phones and the given ``(kind, value)`` pairs replaced."""
        if "email" not in self.allow:
            text = EMAIL.sub(lambda m: self.placeholder("EMAIL", m.group(0)), text)
        if "phone" not in self.allow:
            text = PHONE.sub(lambda m: self.placeholder("PHONE", m.group(0)), text)
        pairs = sorted({(k, v) for k, v in extra if len(v) >= 2}, key=lambda kv: -len(kv[1]))
        for kind, value in pairs:
            pattern = re.compile(rf"(?<![\w<]){re.escape(value)}(?![\w>])")
            text = pattern.sub(self.placeholder(kind, value), text) if pattern.search(text) else text
        return text

    def unmask(self, text: str) -> str:
        """Placeholders back to the real values (unknown ones are left as they are)."""
        return PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)

    def unmask_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.unmask(value)
        if isinstance(value, list):
            return [self.unmask_value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.unmask_value(v) for k, v in value.items()}
        return value

    def pii_values(self, message: ToolMessage) -> list[tuple[str, str]]:
        """``(KIND, value)`` for cells of personal columns in a tool result's table data."""
        artifact = message.artifact if isinstance(message.artifact, dict) else {}
        data = artifact.get("data") or {}
        columns, rows = data.get("columns") or [], data.get("rows") or []
        if self._declared is None:
            self._declared = self._columns() if self._columns is not None else set()
        wanted = [i for i, c in enumerate(columns)
                  if (PII_NAME.search(str(c)) or str(c).lower() in self._declared) and str(c).lower() not in self.allow]
        out = []
        for row in rows:
            for i in wanted:
                if i < len(row) and isinstance(row[i], str):
                    out.append((str(columns[i]).upper(), row[i]))
        return out


class MaskPII(AgentMiddleware):  # type: ignore[type-arg]
    """Masks what the model sees, unmasks what it says (replies and tool arguments).

    Replies are unmasked by :func:`assistant.links.safe_unmask`: never inside a URL, and links
    to hosts outside ``link_hosts`` become text. Without a vault only the link rules apply.
    """

    def __init__(self, vault: PIIVault | None, link_hosts: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.vault = vault
        self.link_hosts = link_hosts

    def _masked(self, messages: list[BaseMessage]) -> list[BaseMessage]:
        if self.vault is None:
            return messages
        out: list[BaseMessage] = []
        for message in messages:
            content = message.content
            if isinstance(content, str):
                extra = self.vault.pii_values(message) if isinstance(message, ToolMessage) else []
                masked = self.vault.mask(content, extra)
                if masked != content:
                    message = message.model_copy(update={"content": masked})
            if isinstance(message, AIMessage) and message.tool_calls:
                calls = [{**c, "args": _mask_args(self.vault, c["args"])} for c in message.tool_calls]
                message = message.model_copy(update={"tool_calls": calls})
            out.append(message)
        return out

    def _unmasked(self, response: Any) -> Any:
        for message in getattr(response, "result", []) or []:
            if isinstance(message, AIMessage):
                if isinstance(message.content, str):
                    message.content = safe_unmask(message.content, self.vault, self.link_hosts)
                if self.vault is not None:
                    for call in message.tool_calls:
                        call["args"] = self.vault.unmask_value(call["args"])
        return response

    def wrap_model_call(self, request: Any, handler: Any) -> Any:
        return self._unmasked(handler(request.override(messages=self._masked(request.messages))))

    async def awrap_model_call(self, request: Any, handler: Any) -> Any:
        return self._unmasked(await handler(request.override(messages=self._masked(request.messages))))


def _mask_args(vault: PIIVault, value: Any) -> Any:
    if isinstance(value, str):
        return vault.mask(value)
    if isinstance(value, list):
        return [_mask_args(vault, v) for v in value]
    if isinstance(value, dict):
        return {k: _mask_args(vault, v) for k, v in value.items()}
    return value


class StreamUnmasker(SafeText):
    """Unmasks streamed text like :class:`MaskPII` does replies, holding back an unfinished
    ``<PLACEHOLDER``, word or link until it is complete."""

    def __init__(self, vault: PIIVault | None, link_hosts: tuple[str, ...] = ()) -> None:
        super().__init__(vault, link_hosts)
