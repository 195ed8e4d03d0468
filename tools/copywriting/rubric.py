"""Copy quality rubric (issue 20): does a draft read like copy a marketer would send?

Pure functions over the JSON of drafted variants (``{"subject": ..., "body": ..., "checks":
[...]}``), written without looking at the generator so that they judge it honestly. Per variant:
no instruction text of the brief in any field, no audience phrase in a subject / title /
headline, every must-know element (code, deadline, condition) present, at least one concrete
fact (a product, category, offer or benefit), exclusions obeyed ("no discount" → no "% off"),
every channel/brand check passed. Per brief × channel: the variants open differently (an
angle, not a swapped word) and a field-level request ("5 subject lines") returns exactly the
fields and count asked.

The briefs and their annotations live in ``tests/data/copy_briefs.yaml``; ``run_rubric`` takes
the drafting function as an argument, so this module never imports the generator. It shares one
documented rule with it: text is compared after GSM-7's transliteration
(:mod:`tools.copywriting.gsm7`), since an SMS cannot print "°" — so "-1C" in an SMS says the
brief's "−1 °C", while an SMS that leaves the temperature out still misses it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from foundation.errors import MaraError
from tools.copywriting.gsm7 import to_gsm7

PURPOSES = ("announce", "sale", "win-back", "welcome", "back-in-stock", "abandoned-cart",
            "thank-you", "event", "referral", "education")
LANGUAGES = ("en", "de", "fr", "es")
HEADLINE_FIELDS = ("subject", "title", "headline", "headlines")
"""Fields that play the subject line's role: they never name the audience."""
BODY_FIELDS = ("body", "text", "primary_text", "descriptions", "description")
"""Fields whose first sentence opens the message, in order of preference."""
META_KEYS = frozenset({"checks"})
COMPANIONS: dict[str, frozenset[str]] = {"subject": frozenset({"preheader"}), "preheader": frozenset({"subject"})}
"""Fields that may come with a requested field ("5 subject lines" may carry preheaders)."""
SAME_ANGLE_RATIO = 0.5
"""Two openings whose word sequences are at least this similar (difflib ratio) share an angle."""
NUMERIC_FACTS = (
    r"\d+(?:[.,]\d+)?\s?%",                                   # an offer: 15%, 20 %
    r"[$£€]\s?\d+|\d+(?:[.,]\d+)?\s?(?:€|kr)(?!\w)",  # a price or threshold
    r"\b\d+(?:[.,]\d+)?\s?(?:kg|g|mm|cm|m|l|litres?|liters?|lumens|°?\s?[CF])(?!\w)",  # a spec (-1C: GSM-7)
)
CODE_FACT = r"\b[A-Z]{2,}\d{1,4}\b"
"""A promo code such as COMEBACK15 (case-sensitive)."""
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|hallo|liebe[rs]?|guten tag|bonjour|salut|hola|querid[oa]s?)\b"
    r"[^\n.!?]{0,40}?[,!.]?\s*(?:\n|$)", re.IGNORECASE)
_MERGE = re.compile(r"\{\{[^}]*\}\}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+")
_TRANSLATE = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                            "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u00a0": " ",
                            "\u202f": " "})


class RubricSetError(MaraError):
    """A brief file that does not follow the rubric's format (see tests/data/copy_briefs.yaml)."""


# --------------------------------------------------------------------------- text matching


def normalize(text: str) -> str:
    """``text`` in GSM-7's transliteration ("−1 °C" → "-1C", see :mod:`tools.copywriting.gsm7`),
    without accents, with plain quotes and dashes and single spaces (case kept)."""
    text = unicodedata.normalize("NFKD", to_gsm7(text.replace("ç", "c")).translate(_TRANSLATE))  # (ç: case kept)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^\S\n]+", " ", text)
    return re.sub(r" ?\n[\s]*", "\n", text).strip()


def phrase_pattern(item: str) -> re.Pattern[str]:
    """A case-insensitive pattern for a phrase, or for a regular expression given as ``re:...``.

    A phrase matches as whole words (when it starts/ends with a letter or digit), ignoring
    case, accents and how many spaces separate its words.
    """
    if item.startswith("re:"):
        try:
            return re.compile(normalize(item[3:]), re.IGNORECASE)
        except re.error as exc:
            raise RubricSetError(f"Bad regular expression {item!r}: {exc}.",
                                 hint="Write it as Python `re` syntax after 're:'.") from exc
    words = [re.escape(w) for w in normalize(item).split(" ") if w]
    if not words:
        raise RubricSetError("An empty phrase in the brief file.", hint="Remove it or give text.")
    body = r"\s+".join(words)
    start = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    end = r"(?!\w)" if re.search(r"\w$", normalize(item)) else ""
    return re.compile(start + body + end, re.IGNORECASE)


@dataclass(frozen=True)
class Element:
    """A must-know element (or exclusion): any one of ``patterns`` is enough."""

    label: str
    patterns: tuple[re.Pattern[str], ...]

    def found_in(self, text: str) -> bool:
        normal = normalize(text)
        return any(p.search(normal) for p in self.patterns)


def element(item: str | Sequence[str]) -> Element:
    """An :class:`Element` from a phrase, a ``re:`` pattern or a list of alternatives."""
    alternatives = [item] if isinstance(item, str) else list(item)
    if not alternatives or not all(isinstance(a, str) for a in alternatives):
        raise RubricSetError(f"Bad element {item!r}.",
                             hint="Give a string, 're:<regex>', or a list of strings (alternatives).")
    return Element(" | ".join(alternatives), tuple(phrase_pattern(a) for a in alternatives))


# --------------------------------------------------------------------------- variant access


def field_values(variant: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every text field of a variant as a list of strings (list fields stay lists; ``checks`` out)."""
    out: dict[str, list[str]] = {}
    for name, value in variant.items():
        if name in META_KEYS:
            continue
        if isinstance(value, str):
            out[name] = [value]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[name] = list(value)
    return out


def variant_text(variant: Mapping[str, Any], fields: Iterable[str] | None = None) -> str:
    """The variant's fields (all, or ``fields``) joined by newlines."""
    wanted = set(fields) if fields is not None else None
    return "\n".join(v for name, values in field_values(variant).items()
                     if wanted is None or name in wanted for v in values)


def strip_boilerplate(text: str, boilerplate: Iterable[str]) -> str:
    """``text`` (normalized) without the brand's fixed texts (footer, opt-out, terms, sender)
    and without merge fields: what is left is what the draft itself says."""
    out = normalize(_MERGE.sub(" ", text))
    for fixed in sorted((normalize(_MERGE.sub(" ", b)) for b in boilerplate if b.strip()),
                        key=len, reverse=True):
        out = re.sub(r"\s+".join(re.escape(w) for w in fixed.split(" ")), " ", out,
                     flags=re.IGNORECASE)
    return re.sub(r" ?\n\s*", "\n", re.sub(r"[^\S\n]+", " ", out)).strip()


# --------------------------------------------------------------------------- per-variant checks


def instruction_leaks(variant: Mapping[str, Any], phrases: Iterable[str],
                      markers: Iterable[str] = ()) -> list[str]:
    """``field: phrase`` for every instruction phrase (or generic instruction marker, a regex)
    that appears in a field. Empty means the brief's instructions stayed instructions."""
    patterns = [(p, phrase_pattern(p)) for p in phrases]
    patterns += [(m, re.compile(normalize(m), re.IGNORECASE)) for m in markers]
    leaks = []
    for name, values in field_values(variant).items():
        text = normalize("\n".join(values))
        leaks += [f"{name}: {label}" for label, pattern in patterns if pattern.search(text)]
    return leaks


def audience_in_headlines(variant: Mapping[str, Any], phrases: Iterable[str]) -> list[str]:
    """``field: phrase`` for every audience phrase named in a subject, title or headline."""
    patterns = [(p, phrase_pattern(p)) for p in phrases if p.strip()]
    hits = []
    for name in HEADLINE_FIELDS:
        values = field_values(variant).get(name, [])
        for value in values:
            hits += [f"{name}: {label}" for label, pattern in patterns if pattern.search(normalize(value))]
    return hits


def missing_elements(text: str, elements: Iterable[Element]) -> list[str]:
    """Labels of the must-know ``elements`` not found in ``text``."""
    return [e.label for e in elements if not e.found_in(text)]


def present_elements(text: str, elements: Iterable[Element]) -> list[str]:
    """Labels of the excluded ``elements`` found in ``text``."""
    return [e.label for e in elements if e.found_in(text)]


@dataclass(frozen=True)
class FactVocabulary:
    """What counts as a concrete fact: product, category and brand terms, plus numbers that
    carry an offer, a price or a spec, and promo codes."""

    terms: re.Pattern[str]
    numeric: re.Pattern[str] = field(default_factory=lambda: re.compile("|".join(NUMERIC_FACTS), re.IGNORECASE))
    code: re.Pattern[str] = field(default_factory=lambda: re.compile(CODE_FACT))

    def find(self, text: str) -> list[str]:
        found = [m.group(0) for m in self.terms.finditer(text)]
        found += [m.group(0) for m in self.numeric.finditer(text)]
        found += [m.group(0) for m in self.code.finditer(text)]
        return found


def fact_vocabulary(terms: Iterable[str]) -> FactVocabulary:
    """A :class:`FactVocabulary` over ``terms`` (product names, categories, brand facts)."""
    words = sorted({normalize(t) for t in terms if t and t.strip()}, key=len, reverse=True)
    if not words:
        raise RubricSetError("No fact terms to look for.", hint="Give product, category or brand terms.")
    body = "|".join(r"\s+".join(re.escape(w) for w in t.split(" ")) for t in words)
    return FactVocabulary(re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE))


def product_aliases(name: str) -> list[str]:
    """A product's name and its short form without the last word ("Ridgeline 2P Tent" → "Ridgeline 2P")."""
    words = name.split()
    return [name, " ".join(words[:-1])] if len(words) >= 3 else [name]


def concrete_facts(variant: Mapping[str, Any], vocabulary: FactVocabulary,
                   boilerplate: Iterable[str] = ()) -> list[str]:
    """The concrete facts the draft itself states (the brand's fixed texts do not count)."""
    return vocabulary.find(strip_boilerplate(variant_text(variant), boilerplate))


def failed_checks(variant: Mapping[str, Any]) -> list[str]:
    """``name: detail`` of every check the variant failed; a variant without checks fails one."""
    checks = variant.get("checks")
    if not isinstance(checks, list):
        return ["checks: missing"]
    return [f"{c.get('name')}: {c.get('detail')}" for c in checks
            if isinstance(c, Mapping) and not c.get("passed", False)]


# --------------------------------------------------------------------------- per-case checks


def opening(variant: Mapping[str, Any], boilerplate: Iterable[str] = ()) -> str:
    """How the variant opens: its first headline and the first sentence of its body, without
    greeting, sender name, merge fields or fixed brand text."""
    values = field_values(variant)
    fixed = list(boilerplate)
    parts = []
    for name in HEADLINE_FIELDS:
        if values.get(name):
            parts.append(strip_boilerplate(values[name][0], fixed))
            break
    for name in BODY_FIELDS:
        if values.get(name):
            raw = _MERGE.sub(" ", values[name][0])
            raw = _GREETING.sub("", raw, count=1)
            body = strip_boilerplate(raw, fixed).lstrip(" :,-")
            first = next((s for s in _SENTENCE_END.split(body) if _WORD.search(s)), "")
            parts.append(first)
            break
    return " ".join(p for p in parts if p)


def similarity(a: str, b: str) -> float:
    """Similarity of two texts' word sequences (difflib ratio over lower-cased words)."""
    wa = [w.lower() for w in _WORD.findall(normalize(a))]
    wb = [w.lower() for w in _WORD.findall(normalize(b))]
    if not wa and not wb:
        return 1.0
    return difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).ratio()


def same_angle_pairs(openings: Sequence[str], threshold: float = SAME_ANGLE_RATIO) -> list[tuple[int, int]]:
    """Pairs (i, j) of openings too similar to count as different angles."""
    return [(i, j) for i in range(len(openings)) for j in range(i + 1, len(openings))
            if similarity(openings[i], openings[j]) >= threshold]


def requested_values(variants: Sequence[Mapping[str, Any]], fields: Iterable[str]) -> list[str]:
    """The distinct non-empty values of ``fields`` across ``variants`` (list fields flattened)."""
    seen: dict[str, str] = {}
    for variant in variants:
        values = field_values(variant)
        for name in fields:
            for value in values.get(name, []):
                key = normalize(value).lower()
                if key and key not in seen:
                    seen[key] = value
    return list(seen.values())


def field_request_problems(variants: Sequence[Mapping[str, Any]], fields: Sequence[str], count: int,
                           channel_fields: Iterable[str]) -> list[str]:
    """What a field-level answer gets wrong: not exactly ``count`` distinct values of ``fields``,
    or other channel fields (a body, a footer) that were not asked for."""
    problems = []
    got = requested_values(variants, fields)
    if len(got) != count:
        problems.append(f"{len(got)} distinct {'/'.join(fields)} values, asked for {count}")
    allowed = set(fields).union(*(COMPANIONS.get(f, frozenset()) for f in fields))
    extra = sorted({name for v in variants for name, values in field_values(v).items()
                    if name in set(channel_fields) and name not in allowed and any(s.strip() for s in values)})
    if extra:
        problems.append(f"fields not asked for: {', '.join(extra)}")
    return problems


# --------------------------------------------------------------------------- the brief set


@dataclass(frozen=True)
class FieldRequest:
    channel: str
    fields: tuple[str, ...]
    count: int


@dataclass(frozen=True)
class Brief:
    """One annotated brief (see the header of tests/data/copy_briefs.yaml)."""

    id: str
    purpose: str
    language: str
    brief: str
    must_know: tuple[Element, ...] = ()
    instructions: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    forbidden: tuple[Element, ...] = ()
    segment: str | None = None
    request: FieldRequest | None = None

    @property
    def audience_phrases(self) -> tuple[str, ...]:
        """The annotated audience phrases plus the segment's name."""
        return self.audience + ((self.segment,) if self.segment else ())


@dataclass(frozen=True)
class RubricSet:
    briefs: tuple[Brief, ...]
    instruction_markers: tuple[str, ...]
    facts: tuple[str, ...]
    category_words: dict[str, tuple[str, ...]]


_BRIEF_KEYS = {"id", "purpose", "language", "brief", "must_know", "instructions", "audience",
               "forbidden", "segment", "request"}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RubricSetError(f"{where} must be a list of strings.", hint="e.g. [\"no discount\", \"upbeat\"]")
    return tuple(value)


def parse_brief(raw: Any, where: str) -> Brief:
    """One brief entry, validated; a :class:`RubricSetError` names the entry and the key."""
    if not isinstance(raw, dict):
        raise RubricSetError(f"{where} is not a mapping.", hint=f"Keys: {', '.join(sorted(_BRIEF_KEYS))}.")
    unknown = sorted(set(raw) - _BRIEF_KEYS)
    if unknown:
        raise RubricSetError(f"{where} has unknown key(s) {', '.join(unknown)}.",
                             hint=f"Accepted: {', '.join(sorted(_BRIEF_KEYS))}.")
    for key in ("id", "purpose", "language", "brief"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise RubricSetError(f"{where} needs a non-empty {key!r}.", hint="See the file's header.")
    where = f"brief {raw['id']!r}"
    if raw["purpose"] not in PURPOSES:
        raise RubricSetError(f"{where}: unknown purpose {raw['purpose']!r}.", hint=f"Accepted: {', '.join(PURPOSES)}.")
    if raw["language"] not in LANGUAGES:
        raise RubricSetError(f"{where}: unknown language {raw['language']!r}.", hint=f"Accepted: {', '.join(LANGUAGES)}.")
    request = None
    if raw.get("request") is not None:
        req = raw["request"]
        if (not isinstance(req, dict) or not isinstance(req.get("channel"), str)
                or not isinstance(req.get("count"), int) or req["count"] < 1):
            raise RubricSetError(f"{where}: bad request {req!r}.",
                                 hint="request: {channel: email, fields: [subject], count: 5}")
        request = FieldRequest(req["channel"], _strings(req.get("fields"), f"{where} request.fields"), req["count"])
        if not request.fields:
            raise RubricSetError(f"{where}: request.fields is empty.", hint="e.g. fields: [subject]")
    for key in ("must_know", "forbidden"):
        if raw.get(key) is not None and not isinstance(raw[key], list):
            raise RubricSetError(f"{where}: {key} must be a list.", hint="e.g. [COMEBACK15, [Sunday, Sun]]")
    segment = raw.get("segment")
    if segment is not None and not isinstance(segment, str):
        raise RubricSetError(f"{where}: segment must be a string.", hint="e.g. At Risk")
    return Brief(
        id=raw["id"], purpose=raw["purpose"], language=raw["language"], brief=raw["brief"],
        must_know=tuple(element(i) for i in raw.get("must_know") or []),
        instructions=_strings(raw.get("instructions"), f"{where} instructions"),
        audience=_strings(raw.get("audience"), f"{where} audience"),
        forbidden=tuple(element(i) for i in raw.get("forbidden") or []),
        segment=segment, request=request,
    )


def load_rubric_set(path: Path) -> RubricSet:
    """The annotated briefs of ``path``; a :class:`RubricSetError` says which entry is wrong."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RubricSetError(f"Cannot read the brief file {path}: {exc}.", hint="Check the path and the YAML.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("briefs"), list):
        raise RubricSetError(f"{path} has no 'briefs' list.", hint="See tests/data/copy_briefs.yaml.")
    briefs = tuple(parse_brief(raw, f"briefs[{i}]") for i, raw in enumerate(data["briefs"]))
    ids = [b.id for b in briefs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise RubricSetError(f"Duplicate brief id(s): {', '.join(dupes)}.", hint="Ids must be unique.")
    markers = _strings(data.get("instruction_markers"), "instruction_markers")
    for m in markers:
        phrase_pattern("re:" + m)  # a bad marker fails here, with its text
    cats = data.get("category_words") or {}
    if not isinstance(cats, dict):
        raise RubricSetError("category_words must map a language to a list of words.", hint="e.g. {de: [Zelt]}")
    return RubricSet(briefs, markers, _strings(data.get("facts"), "facts"),
                     {lang: _strings(words, f"category_words.{lang}") for lang, words in cats.items()})


# --------------------------------------------------------------------------- scoring

CRITERIA: tuple[tuple[str, str, float | None, str], ...] = (
    # name, unit, goal (minimum pass rate; None: shown, not a goal of the issue), what it means
    ("no_instruction_text", "variant", 1.0, "no instruction of the brief in any field"),
    ("audience_not_in_headline", "variant", 1.0, "subject/title/headline never names the audience"),
    ("must_know_present", "variant", 1.0, "code, deadline, condition... in every variant"),
    ("concrete_fact", "variant", 0.9, "at least one product, category, offer or benefit"),
    ("fact_beyond_brief", "variant", None, "a concrete fact the brief did not already state"),
    ("exclusions_obeyed", "variant", 0.9, "'no discount' -> no '% off' (briefs with exclusions)"),
    ("checks_pass", "variant", 0.9, "every channel and brand check passed"),
    ("angles_differ", "brief x channel", 0.9, "variants open differently (>= 2 variants)"),
    ("field_request", "brief x channel", 0.9, "field-level requests: exactly the fields and count"),
)
GOALS = {name: goal for name, _, goal, _ in CRITERIA}
VARIANT_CRITERIA = frozenset(name for name, unit, goal, _ in CRITERIA if unit == "variant" and goal is not None)
"""Variant-level criteria with a goal: together they make "passes all"."""


@dataclass(frozen=True)
class RubricContext:
    """What the checks compare against, from the workspace: fact vocabulary, the brand's fixed
    texts, the channel fields, the generic instruction markers."""

    vocabulary: FactVocabulary
    boilerplate: tuple[str, ...]
    channel_fields: dict[str, tuple[str, ...]]
    markers: tuple[str, ...] = ()


@dataclass
class CaseResult:
    """One brief drafted for one channel: pass/fail per criterion and the problems found."""

    brief: Brief
    channel: str
    variants: list[dict[str, Any]]
    outcomes: dict[str, list[bool]] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None
    variant_ok: list[bool] = field(default_factory=list)
    """Per variant: every variant-level criterion passed."""

    def record(self, criterion: str, ok: bool, problem: str = "") -> None:
        self.outcomes.setdefault(criterion, []).append(ok)
        if not ok and problem:
            self.problems.setdefault(criterion, []).append(problem)


def evaluate_case(brief: Brief, channel: str, variants: Sequence[Mapping[str, Any]],
                  context: RubricContext) -> CaseResult:
    """Every criterion for the variants drafted from ``brief`` for ``channel``."""
    result = CaseResult(brief, channel, [dict(v) for v in variants])
    request = brief.request if brief.request and brief.request.channel == channel else None
    for n, variant in enumerate(variants, 1):
        leaks = instruction_leaks(variant, brief.instructions, context.markers)
        result.record("no_instruction_text", not leaks, f"v{n} {leaks}")
        named = audience_in_headlines(variant, brief.audience_phrases)
        result.record("audience_not_in_headline", not named, f"v{n} {named}")
        if request:  # each requested value carries the must-know elements
            texts = [v for name in request.fields for v in field_values(variant).get(name, [])] or [""]
        else:
            texts = [variant_text(variant)]
        missing = sorted({m for t in texts for m in missing_elements(t, brief.must_know)})
        result.record("must_know_present", not missing, f"v{n} missing {missing}")
        facts = concrete_facts(variant, context.vocabulary, context.boilerplate)
        result.record("concrete_fact", bool(facts), f"v{n} no fact: {opening(variant, context.boilerplate)!r}")
        stated = {normalize(f).lower() for f in context.vocabulary.find(normalize(brief.brief))}
        new = [f for f in facts if normalize(f).lower() not in stated]
        result.record("fact_beyond_brief", bool(new), f"v{n} only the brief's facts {sorted(set(facts))[:4]}")
        if brief.forbidden:
            found = present_elements(strip_boilerplate(variant_text(variant), context.boilerplate), brief.forbidden)
            result.record("exclusions_obeyed", not found, f"v{n} has {found}")
        failed = failed_checks(variant)
        result.record("checks_pass", not failed, f"v{n} {failed}")
        result.variant_ok.append(all(flags[-1] for name, flags in result.outcomes.items()
                                     if name in VARIANT_CRITERIA and len(flags) == n))
    if request:
        values = requested_values(variants, request.fields)
        if len(values) >= 2:
            pairs = same_angle_pairs(values)
            result.record("angles_differ", not pairs,
                          f"same angle: {[(values[i], values[j]) for i, j in pairs][:2]}")
        problems = field_request_problems(variants, request.fields, request.count,
                                          context.channel_fields.get(channel, ()))
        result.record("field_request", not problems, "; ".join(problems))
    elif len(variants) >= 2:
        openings = [opening(v, context.boilerplate) for v in variants]
        pairs = same_angle_pairs(openings)
        result.record("angles_differ", not pairs,
                      f"same angle: {[(openings[i], openings[j]) for i, j in pairs][:2]}")
    return result


def failed_case(brief: Brief, channel: str, error: str) -> CaseResult:
    """A case whose drafting raised: one failed unit for every criterion that applies."""
    result = CaseResult(brief, channel, [], error=error)
    applies = [c for c, *_ in CRITERIA if c not in {"exclusions_obeyed", "field_request"}]
    applies += ["exclusions_obeyed"] if brief.forbidden else []
    applies += ["field_request"] if brief.request else []
    for criterion in applies:
        result.record(criterion, False, f"error: {error}")
    return result


def cases(briefs: Iterable[Brief], channels: Sequence[str]) -> list[tuple[Brief, str]]:
    """Every brief on every channel; a field-level request only on the channel it names."""
    return [(b, ch) for b in briefs for ch in ([b.request.channel] if b.request else channels)]


Draft = Callable[[Brief, str], Sequence[Mapping[str, Any]]]


def run_rubric(briefs: Iterable[Brief], channels: Sequence[str], draft: Draft,
               context: RubricContext) -> list[CaseResult]:
    """Draft every case with ``draft(brief, channel)`` and evaluate it; an exception from the
    drafting function fails that case (with its message) instead of stopping the run."""
    results = []
    for brief, channel in cases(briefs, channels):
        try:
            variants = draft(brief, channel)
        except Exception as exc:  # noqa: BLE001 - a generator error is a rubric failure
            results.append(failed_case(brief, channel, f"{type(exc).__name__}: {exc}"))
            continue
        results.append(evaluate_case(brief, channel, variants, context))
    return results


@dataclass(frozen=True)
class CriterionScore:
    name: str
    unit: str
    passed: int
    total: int
    goal: float | None

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 1.0

    @property
    def meets_goal(self) -> bool:
        return self.goal is None or self.rate >= self.goal


def score(results: Iterable[CaseResult]) -> dict[str, CriterionScore]:
    """Pass counts per criterion over ``results``."""
    chosen = list(results)
    out = {}
    for name, unit, goal, _ in CRITERIA:
        flags = [ok for r in chosen for ok in r.outcomes.get(name, [])]
        out[name] = CriterionScore(name, unit, sum(flags), len(flags), goal)
    return out


def variants_passing_all(results: Iterable[CaseResult]) -> tuple[int, int]:
    """(variants passing every variant-level criterion, variants); a failed draft counts as one
    failed variant."""
    flags = [ok for r in results for ok in (r.variant_ok if not r.error else [False])]
    return sum(flags), len(flags)


def format_table(results: Sequence[CaseResult], examples: int = 2) -> str:
    """The per-criterion table (overall, then per channel and per language), and a few failures."""
    overall = score(results)
    channels = sorted({r.channel for r in results})
    languages = sorted({r.brief.language for r in results})
    lines = [f"copy rubric: {len({r.brief.id for r in results})} briefs, {len(results)} brief x channel cases, "
             f"{sum(len(r.variants) for r in results)} variants, {sum(1 for r in results if r.error)} errors",
             f"{'criterion':26s} {'unit':16s} {'passed':>11s} {'rate':>7s} {'goal':>6s}  ok"]
    for name, s in overall.items():
        goal = f"{s.goal:6.0%}  {'yes' if s.meets_goal else 'NO'}" if s.goal is not None else f"{'-':>6s}"
        lines.append(f"{name:26s} {s.unit:16s} {f'{s.passed}/{s.total}':>11s} {s.rate:7.1%} {goal}")
    passed, total = variants_passing_all(results)
    lines.append(f"{'all_variant_criteria':26s} {'variant':16s} {f'{passed}/{total}':>11s} "
                 f"{(passed / total if total else 1.0):7.1%} {'-':>6s}")
    groupings: list[tuple[str, list[str], Callable[[CaseResult], str]]] = [
        ("channel", channels, lambda r: r.channel), ("language", languages, lambda r: r.brief.language)]
    for title, groups, key in groupings:
        lines.append("")
        lines.append(f"{'pass rate by ' + title:26s} " + " ".join(f"{g:>10s}" for g in groups))
        per = {g: score([r for r in results if key(r) == g]) for g in groups}
        for name, *_ in CRITERIA:
            cells = [per[g][name] for g in groups]
            lines.append(f"{name:26s} " + " ".join(f"{c.rate:10.0%}" if c.total else f"{'-':>10s}" for c in cells))
    if examples:
        lines.append("")
        lines.append("examples of failures:")
        for name, *_ in CRITERIA:
            shown = [(r, p) for r in results for p in r.problems.get(name, [])][:examples]
            for r, problem in shown:
                lines.append(f"  {name} [{r.brief.id} / {r.channel}] {problem[:220]}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- workspace context


def context_from_workspace(home: Path, rubric_set: RubricSet, channel_fields: Mapping[str, Sequence[str]]) -> RubricContext:
    """The rubric's context for a workspace: facts from its catalog (product names, categories,
    subcategories) and ``brand.yaml`` (products, claims), the set's brand facts and category
    words, and the brand's fixed texts (disclaimers, offer terms, sender prefixes)."""
    # lazy: duckdb, pydantic, pydantic_settings load slowly; only this path needs them
    import duckdb

    from knowledge.brand import load_profile, profile_path

    terms: list[str] = list(rubric_set.facts)
    for words in rubric_set.category_words.values():
        terms += words
    boilerplate: list[str] = []
    if profile_path(home).is_file():
        profile = load_profile(profile_path(home))
        for product in profile.products:
            terms += product_aliases(product.name) + list(product.claims) + [product.category]
        terms += profile.allowed_claims
        boilerplate += [d for texts in profile.disclaimers.values() for d in texts]
        boilerplate += list(profile.offer_terms.values()) + list(profile.sender_prefix.values())
    warehouse = Path(home) / "warehouse.duckdb"
    if warehouse.is_file():
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if "products" in tables:
                for name, category, sub in con.execute(
                        "SELECT name, category, subcategory FROM products").fetchall():
                    terms += product_aliases(str(name)) + [str(category), str(sub)]
        finally:
            con.close()
    return RubricContext(fact_vocabulary(t for t in terms if t and t != "None"), tuple(boilerplate),
                         {k: tuple(v) for k, v in channel_fields.items()}, rubric_set.instruction_markers)
