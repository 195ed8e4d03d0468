"""Scoring a reply against a truth: which figures a reply states, and whether they are the true ones.

The rules are those of the question-set format (docs in ``assistant/evaluation/answers.py``):

- a stated number matches a truth when it agrees at the precision shown in the reply
  (``1,234.57`` or ``$1,234.6`` for 1234.567), with a relative tolerance of 0.5% or half a
  unit of the last digit shown, whichever is larger; abbreviations (``1.2K``, ``$3.4M``) only
  within 1%; ``23.7%`` stands for 23.7 and for 0.237;
- dates, years, periods (``Q3 2025``, ``2025-03``), counts of groups (``10 groups``), list
  markers and code (SQL in backticks) are not figures;
- a group is named when its label appears case-insensitively on word boundaries — and a "which
  group" answer is right only when the group is the reply's *headline*: the first group it names
  (its first bold label, else the first "label: figure" item, else its opening sentence), never
  a group further down a list or in a clarifying question's options.

The scorer reads only the reply text, as a user would: a right table the reply never mentions
does not make the answer right.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["right", "wrong", "declined"]
Expect = Literal["value", "rows", "group", "decline", "ask"]


@dataclass(frozen=True, slots=True)
class Figure:
    """A number stated in a reply: its value(s), how precisely it was written, where it was."""

    text: str
    values: tuple[float, ...]  # "23.7%" -> (23.7, 0.237)
    step: float  # one unit of the last digit shown, in the scale of values[0] (0 for abbreviations)
    abbreviated: bool
    year_like: bool  # a bare 4-digit 1900..2100: matches a truth but never counts as a wrong figure


@dataclass(frozen=True, slots=True)
class Score:
    outcome: Outcome
    figures: list[str]  # the figures found in the reply
    matched: list[float]  # the truths found among them
    missing: list[float]  # the truths not found
    why: str = ""


# --- what is not a figure -------------------------------------------------------------------------

_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_NOT_FIGURES = [
    re.compile(r"```.*?```", re.S),  # code blocks (SQL)
    re.compile(r"`[^`\n]*`"),  # inline code: table and column names, SQL
    re.compile(r"\b[A-Z][A-Z_]*\(\d+(?:,\s*\d+)?\)"),  # types: DECIMAL(18,2), VARCHAR(255)
    re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"),
    re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"),  # 03/15/2025, 15.03.2025
    re.compile(r"\b\d{4}[-/]\d{1,2}\b|\b\d{4}-W\d{1,2}\b", re.I),  # 2025-03, 2025-W12
    re.compile(rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?(?:{_MONTHS})\.?(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?,?\s+\d{{4}}\b", re.I),
    re.compile(rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b", re.I),  # March 5
    re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\b", re.I),  # 5 March, 5th of March
    re.compile(r"\b(?:Q[1-4]|H[12])\s*(?:FY\s*)?'?\d{2,4}\b|\bFY\s*'?\d{2,4}\b|\b\d{4}\s*(?:Q[1-4]|H[12])\b", re.I),
    re.compile(r"\b(?:Q[1-4]|H[12])\b"),
    re.compile(r"\b(?:week|wk)\s*#?\d{1,2}\b", re.I),
    re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\s*(?:am|pm)?\b", re.I),  # times
    re.compile(r"\b\d[\d,]*\s*\+?\s*(?:groups?|rows?|buckets?|categories|segments?|periods?|columns?|tables?|fields?)\b", re.I),  # "10 groups"
    re.compile(r"\band \d[\d,]* more\b", re.I),  # "… and 5 more."
    re.compile(r"\b(?:top|bottom|first|last|past|next|previous)\s+\d+\b", re.I),  # restated "top 10", "last 30 days"
    re.compile(r"\b\d+\s*(?:days?|weeks?|months?|quarters?|years?)\s+(?:ago|back)\b", re.I),
    re.compile(r"^\s*(?:\d{1,2}[.)]|#\d+)\s", re.M),  # numbered list markers
    re.compile(r"#\d+\b"),  # ranks
    re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.I),  # ordinals
]

_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "mm": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
_NUMBER = re.compile(
    r"""(?<![\w.,])                                 # not part of a word, a name or a bigger number
    (?P<open>\()?                                   # accounting negative: ($45.10), with a currency
    (?P<sign1>[-−–])?
    (?:(?P<cur>[$€£¥]|USD|EUR|GBP)\s?)?
    (?P<sign2>[-−–])?
    (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)
    (?:\s?(?P<word>thousand|million|billion)|(?P<abbr>[kKmMbB]|bn|mn|mm))?(?![\w])
    (?P<pct>\s?(?:%|percent\b|per\scent\b|pp\b))?
    (?P<close>\))?
    (?![\w])(?!\.\d)""",
    re.X,
)


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def figure_text(reply: str, question: str = "") -> str:
    """The reply with everything that is not a figure blanked out (same length, so positions hold)."""
    text = reply.replace("\u202f", " ").replace("\xa0", " ")
    for pattern in _NOT_FIGURES:
        text = pattern.sub(_blank, text)
    return text


def extract_figures(reply: str) -> list[Figure]:
    """Every number a reply states as a figure (see the module docstring for what is left out)."""
    text = figure_text(reply)
    figures: list[Figure] = []
    for m in _NUMBER.finditer(text):
        raw = m.group("num")
        digits = raw.replace(",", "")
        value = float(digits)
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        step = 10.0 ** -decimals
        negative = bool(m.group("sign1") or m.group("sign2") or (m.group("open") and m.group("close") and m.group("cur")))
        # a single letter counts only glued to the number ("1.2K"): "5 m" may be metres or minutes
        scale_word = (m.group("word") or m.group("abbr") or "").lower()
        abbreviated = bool(scale_word)
        if abbreviated:
            value *= _SCALES[scale_word]
            step = 0.0
        if negative:
            value = -value
        year_like = (not m.group("cur") and not m.group("pct") and not abbreviated and "," not in raw
                     and "." not in raw and len(raw) == 4 and 1900 <= int(raw) <= 2100)
        if m.group("pct"):
            values: tuple[float, ...] = (value, value / 100)
        else:
            values = (value,)
        figures.append(Figure(m.group(0).strip(), values, step, abbreviated, year_like))
    return figures


def matches(figure: Figure, truth: float) -> bool:
    """Whether ``figure`` states ``truth`` (at the precision shown; see the module docstring)."""
    for i, value in enumerate(figure.values):
        scale = 1.0 if i == 0 else 0.01  # the fraction reading of a percentage
        if figure.abbreviated:
            tolerance = 0.01 * abs(truth)
        else:
            tolerance = max(0.005 * abs(truth), figure.step * scale / 2)
        if math.isclose(value, truth, rel_tol=0, abs_tol=tolerance + 1e-12):
            return True
    return False


# --- declines ------------------------------------------------------------------------------

_DECLINE = re.compile(
    r"\b(?:couldn'?t|could not|can'?t|cannot|can not|unable to|not able to|won'?t guess|don'?t have|do not have|"
    r"doesn'?t (?:have|contain|include|track|record)|does not (?:have|contain|include|track|record)|"
    r"no (?:column|field|data|information|table)s? (?:for|about|on|that|with|in)|isn'?t (?:in|available|tracked|recorded)|"
    r"is not (?:in|available|tracked|recorded)|not (?:available|tracked|recorded) in|"
    r"there is no|there's no|there are no|did you mean|which (?:one|of these) did you mean|could you (?:clarify|specify)|"
    r"can you (?:clarify|specify)|please (?:clarify|specify)|not sure (?:what|which|whether))\b",
    re.I,
)
_NO_ROWS = re.compile(r"\bno rows matched\b", re.I)
_COULD_NOT_MAP = re.compile(r"couldn'?t map|could not map|couldn'?t answer that|could not answer that|couldn'?t find a column|could not find a column|won'?t guess", re.I)


def says_it_cannot(reply: str) -> bool:
    """The reply declines: says it could not answer, that the data lacks it, or asks back."""
    if _DECLINE.search(reply):
        return True
    body = re.sub(r"_[^_]*offline mode[^_]*_", "", reply, flags=re.I).strip()
    return body.endswith("?")


def couldnt_map(reply: str) -> bool:
    """The offline planner's "I couldn't map that question …", "I couldn't answer that with <tool>: <error>"
    and a column it would not guess: declines, whatever counts they mention."""
    return bool(_COULD_NOT_MAP.search(reply))


def names_group(reply: str, label: str) -> bool:
    """``label`` appears in the reply case-insensitively, on word boundaries (spaces/underscores flexible)."""
    words = [re.escape(w) for w in re.split(r"[\s_]+", label.strip()) if w]
    if not words:
        return False
    pattern = r"(?<![\w])" + r"[\s_-]+".join(words) + r"(?![\w])"
    return re.search(pattern, reply, re.I) is not None


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITEM = re.compile(r"(?:^|[—,;:\n]\s*)([^—,;:\n*]+?):\s*\**\s*[-−–]?[$€£]?\d")


def _body(reply: str) -> str:
    """The answer without its footers: the italic ``_Computed: …_`` / ``_How: …_`` / ``_Note …_`` lines."""
    kept = [p for p in re.split(r"\n\s*\n", reply) if not p.strip().startswith("_")]
    return "\n\n".join(kept).strip()


def _is_label(text: str) -> bool:
    """Bold text that names a group: no figure in it ("Germany", "April 2025", a year), or a figure inside a
    capitalised name ("Thursday / 41.41", "Size 42") — not a figure with its unit ("1,234 orders")."""
    figures = extract_figures(text)
    if all(f.year_like for f in figures):
        return bool(text.strip())
    rest = _NUMBER.sub(" ", figure_text(text))
    return any(word[0].isupper() for word in re.findall(r"[^\W\d_]+", rest))


def headline_group(reply: str) -> str:
    """The group a reply puts first — what it answers "which …?" with: its first bold text that is not a
    figure, else the first cell of a table, else the label of its first "label: figure" item, else its
    opening sentence."""
    body = _body(reply)
    for match in _BOLD.finditer(body):
        inner = match.group(1).strip()
        if _is_label(inner):
            return inner
    table = [line for line in body.splitlines() if line.lstrip().startswith("|")]
    rows = [line for line in table[1:] if not set(line.strip()) <= set("|-: ")]
    if len(table) >= 3 and rows:  # a markdown table: the first cell of its first row
        return rows[0].strip().strip("|").split("|")[0].strip()
    item = _ITEM.search(body)
    if item is not None:
        return item.group(1).strip()
    return re.split(r"(?<=[.!?])\s+|\n", body, maxsplit=1)[0] if body else ""


def names_top_group(reply: str, label: str) -> bool:
    """``label`` is the group the reply answers with (see :func:`headline_group`), not just mentioned; a
    true/false truth label is named by the reply's "yes"/"no" (a flag's group in words)."""
    headline = headline_group(reply)
    same = {"true": "yes", "1": "yes", "false": "no", "0": "no"}.get(label.strip().lower())
    return names_group(headline, label) or (same is not None and names_group(headline, same))


# --- the verdict ------------------------------------------------------------------------------


_ASKS = re.compile(r"\b(?:did you mean|do you mean|which (?:one|of these|of them)\b[^.?!]*\?|could you (?:clarify|specify)|"
                   r"can you (?:clarify|specify)|please (?:clarify|specify)|tell me which)", re.I)


def asks_back(reply: str) -> bool:
    """The reply asks the user a clarifying question (it ends on one, or says "did you mean …")."""
    body = re.sub(r"_[^_]*offline mode[^_]*_", "", _body(reply) or reply, flags=re.I).strip()
    return body.endswith("?") or bool(_ASKS.search(reply))


def states_convention(reply: str, conventions: list[str]) -> bool:
    """The reply says which convention it used: it names one of ``conventions`` ("gross", "net of fees") on word boundaries."""
    return any(names_group(reply, c) for c in conventions)


def score_ask(reply: str, conventions: list[str]) -> Score:
    """An ``ask`` truth: the question leaves a convention open (gross or net? with or without tips?), so asking back is
    right. A reply that declines (or states no figure) is *declined*; one that answers with figures is *declined* too
    when it says which convention it used (honest, but not the asked-for question back), and *wrong* when it states
    figures without naming any of ``conventions`` — a confident answer with one convention, silently chosen."""
    figures = extract_figures(reply)
    shown = [f.text for f in figures]
    stated = [f for f in figures if not f.year_like]
    if couldnt_map(reply):
        return Score("declined", shown, [], [], "declined: did not ask which convention")
    if asks_back(reply):
        return Score("right", shown, [], [], "asked which convention")
    if not stated or says_it_cannot(reply):
        return Score("declined", shown, [], [], "declined: did not ask which convention")
    if states_convention(reply, conventions):
        return Score("declined", shown, [], [], "answered with one convention, stated (did not ask)")
    return Score("wrong", shown, [], [], "answered with one convention without saying which "
                 f"({', '.join(conventions) or 'none listed'})")


def score_reply(
    reply: str,
    expect: Expect,
    numbers: list[float] | None = None,
    label: str | None = None,
    conventions: list[str] | None = None,
) -> Score:
    """Right, wrong or declined: ``reply`` against the truth ``numbers`` (value/rows) or ``label`` (group).

    ``ask`` truths are scored by :func:`score_ask`. ``decline`` truths are right when the reply declines (or states no figure) and wrong when it
    states figures. For value/rows, a reply without the truth is *declined* when it states no
    figure (the offline "couldn't map" reply lists row counts but is a decline too), and *wrong*
    otherwise. For a group, the reply is right when its headline names it (:func:`names_top_group`);
    else *declined* when it says it cannot answer or asks back, and *wrong* otherwise (it put another
    group first, or named the right one only further down).
    """
    if expect == "ask":
        return score_ask(reply, list(conventions or []))
    figures = extract_figures(reply)
    shown = [f.text for f in figures]
    stated = [f for f in figures if not f.year_like]
    if expect == "decline":
        if couldnt_map(reply) or says_it_cannot(reply):
            return Score("right", shown, [], [], "declined as it should")
        if stated:
            return Score("wrong", shown, [], [], "stated figures for a question the data cannot answer")
        return Score("right", shown, [], [], "stated no figure")
    if expect == "group":
        if label is not None and not couldnt_map(reply) and names_top_group(reply, label):
            return Score("right", shown, [], [], f"names {label!r}")
        if couldnt_map(reply) or says_it_cannot(reply) or _NO_ROWS.search(reply):
            return Score("declined", shown, [], [], f"declined: does not name {label!r}")
        first = headline_group(reply)
        return Score("wrong", shown, [], [], f"answers with {first[:60]!r}, not {label!r}")
    wanted = list(numbers or [])
    matched = [t for t in wanted if any(matches(f, t) for f in figures)]
    missing = [t for t in wanted if t not in matched]
    if wanted and not missing and not couldnt_map(reply):
        return Score("right", shown, matched, missing, "states the true figure" + ("s" if len(wanted) > 1 else ""))
    return _miss(reply, stated, shown, matched, missing, "missing " + ", ".join(_fmt(t) for t in missing))


def _miss(reply: str, stated: list[Figure], shown: list[str], matched: list[float], missing: list[float], why: str) -> Score:
    if couldnt_map(reply) or not stated:
        return Score("declined", shown, matched, missing, "declined: " + why)
    return Score("wrong", shown, matched, missing, why)


def _fmt(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
