"""The brand profile: ``brand.yaml`` in the workspace, validated, shown, suggested.

A profile holds the brand's name and audience, voice attributes with do/don't examples,
banned words and phrases (and *conditional* ones that need their condition in the same
sentence), required disclaimers per channel, offer-terms lines, the SMS sender prefix,
product names with the claims each may carry, brand-wide allowed claims and the *claim
terms* ("waterproof", "lifetime warranty", "#1", "best"...) that copy may use only when an
allowed claim covers them.

:func:`load_profile` raises :class:`BrandProfileError` naming the bad key (``voice[0].do``,
an unknown key with the accepted ones...). :func:`suggest_profile` drafts a profile from
Markdown brand documents with rules (front-matter titles, "Voice attributes" headings with
**Do:**/**Don't:** bullets, quoted items under "Banned" headings, product headings with
"Approved claims"/"Not approved" lines, claims tables and quoted disclaimers);
:func:`suggest_profile_llm` asks a chat model to improve that draft and keeps the rules
result for anything the model leaves out or gets wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from foundation.errors import MaraError
from foundation.settings import private_dir, write_private
from foundation.tokens import count_message_tokens, count_tokens
from knowledge.sample import sample_brand_path

# libyaml's C loader: copy drafting reads brand.yaml on every request (~0.25 s with the Python one)
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PROFILE_FILE = "brand.yaml"
CHANNELS = ("email", "sms", "push", "google_rsa", "meta_ad", "social")
# Words that state a product claim: allowed in copy only when an allowed claim covers them.
DEFAULT_CLAIM_TERMS = [
    "waterproof", "stormproof", "windproof", "lifetime warranty", "guarantee", "guaranteed",
    "#1", "number one", "best", "best-selling", "bestselling", "lightest", "warmest",
    "strongest", "toughest", "fastest", "most durable", "award-winning", "clinically proven",
    "4-season", "100% recycled", "recycled", "organic", "breathable", "odour-resistant",
    "odor-resistant", "splash-resistant",
]


class BrandProfileError(MaraError):
    """``brand.yaml`` is missing, unreadable or has a key with a value that cannot be used."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VoiceAttribute(_Strict):
    """One voice attribute ("Grounded") with what it means and do/don't examples."""

    name: str = Field(min_length=1)
    description: str = ""
    do: list[str] = Field(default_factory=list)
    dont: list[str] = Field(default_factory=list)

    def note(self) -> str:
        """One line for prompts: name, description, an example of each kind."""
        parts = [f"{self.name}: {self.description}".rstrip(": ")]
        if self.do:
            parts.append(f"Do: {self.do[0]}")
        if self.dont:
            parts.append(f"Don't: {self.dont[0]}")
        return " ".join(parts)


class Product(_Strict):
    """A product and the claims copy may make about it (``not_allowed`` are flagged)."""

    name: str = Field(min_length=1)
    category: str = ""
    claims: list[str] = Field(default_factory=list)
    not_allowed: list[str] = Field(default_factory=list)


class QuoteRules(_Strict):
    """Which customer texts copy may quote, and how a quote is signed (``quotes:`` in brand.yaml).

    Copy that quotes customers ("draft an e-mail quoting what customers love") uses only texts
    that pass every rule; when none does, the copy is drafted without quotes and says why.
    """

    consent_column: str | None = Field(default=None, description=(
        "A true/false column of the feedback table (e.g. consent_to_publish): only rows where it is "
        "true may be quoted. None: any review may be quoted, signed as `attribution` says."))
    attribution: Literal["first_name_initial", "anonymous"] = Field(default="first_name_initial", description=(
        "How a quote is signed: first name + last initial (\"Maya K.\", from the customers table) or "
        "anonymous (\"a verified buyer\"). Full names, e-mails and ids are never printed."))
    min_rating: int | None = Field(default=4, ge=1, le=5, description=(
        "Only texts rated at least this many stars (when the table has a rating column)."))
    max_chars: int = Field(default=160, ge=40, le=500, description=(
        "Longer texts are quoted by their first whole sentences, never cut mid-sentence."))


class BrandProfile(_Strict):
    """Everything copy must respect; the schema of ``$MARA_HOME/brand.yaml``."""

    version: int = 1
    name: str = Field(min_length=1)
    audience: str = ""
    voice: list[VoiceAttribute] = Field(default_factory=list)
    banned: list[str] = Field(default_factory=list)
    conditional: list[str] = Field(default_factory=list)
    disclaimers: dict[str, list[str]] = Field(default_factory=dict)
    offer_terms: dict[str, str] = Field(default_factory=dict)
    sender_prefix: dict[str, str] = Field(default_factory=dict)
    products: list[Product] = Field(default_factory=list)
    allowed_claims: list[str] = Field(default_factory=list)
    claim_terms: list[str] = Field(default_factory=lambda: list(DEFAULT_CLAIM_TERMS))
    max_exclamations: int = Field(default=1, ge=0, le=5)
    quotes: QuoteRules = Field(default_factory=QuoteRules)

    @field_validator("voice", mode="before")
    @classmethod
    def _voice_strings(cls, value: Any) -> Any:
        """Accept plain strings ("Warm: one friendly line") as voice attributes."""
        if isinstance(value, list):
            out = []
            for item in value:
                if isinstance(item, str):
                    name, _, desc = item.partition(":")
                    out.append({"name": name.strip() or item, "description": desc.strip()})
                else:
                    out.append(item)
            return out
        return value

    @field_validator("disclaimers", "offer_terms", "sender_prefix", mode="after")
    @classmethod
    def _known_channels(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [k for k in value if k not in CHANNELS]
        if bad:
            raise ValueError(f"unknown channel {bad[0]!r}; channels: {', '.join(CHANNELS)}")
        return value

    @field_validator("disclaimers", mode="before")
    @classmethod
    def _single_disclaimer(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value


def profile_path(home: Path) -> Path:
    return Path(home) / PROFILE_FILE


def _loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validation_message(err: ValidationError, source: str) -> str:
    """One readable line per problem, each naming the key."""
    problems = []
    accepted = ", ".join(BrandProfile.model_fields)
    for e in err.errors():
        key = _loc(e["loc"])
        if e["type"] == "extra_forbidden":
            parent = e["loc"][:-1]
            model: type[BaseModel] = BrandProfile
            if parent and parent[0] == "voice":
                model = VoiceAttribute
            elif parent and parent[0] == "products":
                model = Product
            elif parent and parent[0] == "quotes":
                model = QuoteRules
            problems.append(f"unknown key {key!r} (accepted: {', '.join(model.model_fields)})")
        elif e["type"] == "missing":
            problems.append(f"missing key {key!r}")
        else:
            msg = str(e["msg"]).removeprefix("Value error, ")
            problems.append(f"{key}: {msg} (got {e.get('input')!r:.60})")
    return f"{source} is invalid: " + "; ".join(problems) + f". Top-level keys: {accepted}."


def parse_profile(data: Any, source: str = PROFILE_FILE) -> BrandProfile:
    """Validate a mapping as a :class:`BrandProfile`; errors name the bad key."""
    if not isinstance(data, dict):
        raise BrandProfileError(
            f"{source} must be a YAML mapping of keys, got {type(data).__name__}.",
            hint=f"Keys: {', '.join(BrandProfile.model_fields)}.",
        )
    try:
        return BrandProfile.model_validate(data)
    except ValidationError as err:
        raise BrandProfileError(validation_message(err, source)) from None


def load_profile(path: Path) -> BrandProfile:
    """Read and validate a ``brand.yaml``."""
    path = Path(path)
    if not path.is_file():
        raise BrandProfileError(
            f"No brand profile at {path}.",
            hint="Run 'mara demo' or 'mara brand suggest --write' to create one.",
        )
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise BrandProfileError(f"{path} is not valid YAML{where}: {getattr(err, 'problem', err)}.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BrandProfileError(f"Cannot read {path}: {err}.") from None
    return parse_profile(data or {}, str(path))


def dump_profile(profile: BrandProfile) -> str:
    header = (
        "# Brand profile used by Mara's copy drafting and checks (mara brand show).\n"
        "# Keys: " + ", ".join(BrandProfile.model_fields) + "\n"
        "# quotes: which customer texts copy may quote — consent_column (a true/false column of the\n"
        "#   reviews table; null: any), attribution (first_name_initial | anonymous), min_rating, max_chars\n"
    )
    data = profile.model_dump(mode="json")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_profile(profile: BrandProfile, path: Path) -> Path:
    """Write ``profile`` to ``path`` atomically (temp file + rename)."""
    path = Path(path)
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    write_private(tmp, dump_profile(profile))
    tmp.replace(path)
    return path


def write_demo_brand(home: Path, *, overwrite: bool = True) -> Path:
    """Write the sample brand's profile to ``<home>/brand.yaml`` (for ``mara demo``)."""
    path = profile_path(home)
    if path.exists() and not overwrite:
        return path
    return save_profile(suggest_profile([sample_brand_path()]), path)


# --- rules-based suggestion -----------------------------------------------------------------

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_QUOTED = re.compile(r"[\"“]([^\"”]{1,120})[\"”]")


def _documents(paths: Iterable[Path]) -> list[tuple[Path, dict[str, Any], str]]:
    """(path, front matter, body) of every Markdown / text file under ``paths``."""
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in (".md", ".markdown", ".txt")))
        elif p.is_file():
            files.append(p)
    out = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        meta: dict[str, Any] = {}
        m = _FRONT.match(text)
        if m:
            try:
                loaded = yaml.safe_load(m.group(1))
                meta = loaded if isinstance(loaded, dict) else {}
            except yaml.YAMLError:
                meta = {}
            text = text[m.end():]
        out.append((f, meta, text))
    return out


def sections(md: str) -> list[tuple[list[str], str]]:
    """(heading path, body) for every Markdown heading."""
    out: list[tuple[list[str], str]] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    for line in md.splitlines() + ["# END"]:
        m = re.match(r"^(#{1,6})\s+(.*)", line)
        if m:
            if stack:
                out.append(([h for _, h in stack], "\n".join(body)))
            level = len(m.group(1))
            stack = [(lv, h) for lv, h in stack if lv < level] + [(level, m.group(2).strip())]
            body = []
        else:
            body.append(line)
    return out


def _uniq(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i in items:
        key = i.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(i.strip())
    return out


def _brand_name(docs: list[tuple[Path, dict[str, Any], str]]) -> str:
    for _, meta, text in docs:
        title = str(meta.get("title", ""))
        m = re.match(r"(.+?)\s+(Voice Guide|Style Guide|Brand Guide|Brand Book|Tone of Voice)\b", title, re.I)
        if m:
            return m.group(1).strip()
        m = re.search(r"^#\s+(.+?)\s+(Voice Guide|Style Guide|Brand Guide)\b", text, re.M | re.I)
        if m:
            return m.group(1).strip()
    counts: dict[str, int] = {}
    for _, _, text in docs:
        for m in re.finditer(r"\b([A-Z][a-z]+(?: (?:&|and) [A-Z][a-z]+)+)\b", text):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else "Our brand"


def _voice(docs: list[tuple[Path, dict[str, Any], str]]) -> list[VoiceAttribute]:
    out: list[VoiceAttribute] = []
    for _, _, text in docs:
        for path, body in sections(text):
            if len(path) < 2 or not re.search(r"voice|tone|personality", " ".join(path[:-1]), re.I):
                continue
            do: list[str] = []
            dont: list[str] = []
            desc = ""
            for line in body.splitlines():
                s = line.strip()
                m = re.match(r"^[-*]\s+\**(don['’]?t|avoid|do)\s*:\s*\**\s*(.+)$", s, re.I)
                if m:
                    example = m.group(2).strip().strip("*").strip()
                    quoted = _QUOTED.fullmatch(example)
                    example = quoted.group(1) if quoted else example
                    (do if m.group(1).lower() == "do" else dont).append(example)
                elif s and not desc and not s.startswith(("-", "*", "|", ">")):
                    desc = s
            if do or dont or re.search(r"attribute|principle|trait|pillar", path[-2], re.I):
                first = " ".join(body.strip().split("\n\n")[0].split())
                desc = first if first and not first.startswith(("-", "*")) else desc
                out.append(VoiceAttribute(name=path[-1], description=desc, do=do, dont=dont))
    return out


def _banned(docs: list[tuple[Path, dict[str, Any], str]]) -> tuple[list[str], list[str]]:
    banned: list[str] = []
    conditional: list[str] = []
    for _, _, text in docs:
        for path, body in sections(text):
            if not any(re.search(r"banned|never use|words to avoid|forbidden|prohibited", h, re.I) for h in path):
                continue
            for line in body.splitlines():
                if not line.lstrip().startswith(("-", "*")):
                    continue
                items = [i.strip() for i in _QUOTED.findall(line)]
                cond = re.search(r"\b(without|except|unless)\b", line)
                for item in items:
                    if "!!" in item or not re.search(r"[A-Za-z0-9#]", item):
                        continue  # "FREE!!!" is covered by the punctuation and caps checks
                    (conditional if cond else banned).append(item)
    banned = _uniq(banned)
    low = {b.lower() for b in banned}
    return banned, [c for c in _uniq(conditional) if c.lower() not in low]


def _disclaimers(text: str) -> tuple[dict[str, list[str]], dict[str, str], dict[str, str]]:
    disclaimers: dict[str, list[str]] = {}
    sender: dict[str, str] = {}
    offer_terms: dict[str, str] = {}
    m = re.search(r"ends with exactly:\s*\**[\"“]([^\"”]+)[\"”]", text)
    if m:
        disclaimers["sms"] = [m.group(1)]
    m = re.search(r"starts with the sender name [\"“]([^\"”]+)[\"”]", text)
    if m:
        sender["sms"] = m.group(1)
    m = re.search(r"In SMS, where space is short, use: [\"“]([^\"”]+)[\"”]", text)
    if m:
        offer_terms["sms"] = m.group(1)
    for path, body in sections(text):
        quote = " ".join(ln.lstrip("> ").strip() for ln in body.splitlines() if ln.startswith(">")).strip()
        if not quote:
            continue
        leaf = path[-1].lower()
        if leaf in ("email", "e-mail") and any("disclaimer" in h.lower() for h in path):
            disclaimers["email"] = [re.sub(r"\{(\w+)\}", r"{{\1}}", quote)]
        elif "offer terms" in leaf:
            full = re.sub(r"\{start_date\}–\{end_date\} ", "", quote.strip('"“”'))
            short = f"Full terms: {full.split('Full terms:')[-1].strip()}" if "Full terms:" in full else full
            for channel in ("email", "meta_ad", "social"):
                offer_terms[channel] = full if channel == "email" else short
    return disclaimers, offer_terms, sender


def _products(
    docs: list[tuple[Path, dict[str, Any], str]], claim_terms: Sequence[str]
) -> tuple[list[Product], list[str]]:
    products: list[Product] = []
    allowed: list[str] = []
    for _, meta, text in docs:
        is_facts = re.search(r"product", f"{meta.get('type', '')} {meta.get('title', '')}", re.I)
        if not is_facts:
            continue
        warranty_by_category: dict[str, str] = {}
        for path, body in sections(text):
            if any("warranty" in h.lower() for h in path):
                for row in re.findall(r"^\|([^|\n]+)\|([^|\n]+)\|", body, re.M):
                    cats, value = row[0].strip(), row[1].strip()
                    for cat in re.split(r",\s*", cats):
                        warranty_by_category[cat.lower()] = value
            if any(re.search(r"claim", h, re.I) for h in path) and re.match(r"allowed|approved", path[-1], re.I):
                for line in body.splitlines():
                    for item in _QUOTED.findall(line):
                        m = re.search(r"\(([^)]+)\)\s*\.?\s*$", line)
                        if m:
                            for pname in re.split(r",\s*", m.group(1)):
                                target = next((p for p in products if p.name.lower().startswith(pname.strip().lower())), None)
                                if target:
                                    target.claims = _uniq([*target.claims, item])
                        else:
                            allowed.append(item)
            if len(path) < 3 or any(re.search(r"claim|warranty", h, re.I) for h in path):
                continue
            category, name = path[-2], path[-1]
            claims: list[str] = []
            not_allowed: list[str] = []
            facts_text: list[str] = []
            for line in body.splitlines():
                if re.search(r"not approved|never call|never|not allowed", line, re.I):
                    not_allowed.extend(_QUOTED.findall(line))
                    continue
                if re.search(r"approved claims?", line, re.I):
                    claims.extend(_QUOTED.findall(line))
                facts_text.append(line)
            joined = " ".join(facts_text)
            for term in claim_terms:
                if re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", joined, re.I) and not re.search(
                    rf"\b(not|never|no)\s+(?:\w+\s+)?{re.escape(term)}", joined, re.I
                ):
                    claims.append(term)
            products.append(Product(name=name, category=category, claims=_uniq(claims),
                                    not_allowed=_uniq(not_allowed)))
        for product in products:
            value = warranty_by_category.get(product.category.lower(), "")
            if "lifetime" in value.lower():
                product.claims = _uniq([*product.claims, "lifetime warranty"])
    return products, _uniq(allowed)


def _audience(docs: list[tuple[Path, dict[str, Any], str]]) -> str:
    for _, meta, text in docs:
        if not re.search(r"persona|audience", f"{meta.get('type', '')} {meta.get('title', '')}", re.I):
            continue
        parts = [(path[-1], body) for path, body in sections(text) if len(path) == 2]
        names = [n for n, body in parts if re.search(r"\*\*Who\b|^[-*]\s+\**(age|who|buys)\b", body, re.I | re.M)]
        names = names or [n for n, _ in parts]
        if names:
            return "Personas: " + ", ".join(names) + "."
    for _, _, text in docs:
        m = re.search(r"^(?:Our )?(?:target )?audience[:\s]+(.{20,200})$", text, re.M | re.I)
        if m:
            return m.group(1).strip()
    return ""


def suggest_profile(paths: Iterable[Path]) -> BrandProfile:
    """A draft profile from the Markdown/text brand documents under ``paths`` (rules only)."""
    docs = _documents(paths)
    banned, conditional = _banned(docs)
    disclaimers: dict[str, list[str]] = {}
    offer_terms: dict[str, str] = {}
    sender: dict[str, str] = {}
    for _, _meta, text in docs:
        d, o, s = _disclaimers(text)
        disclaimers.update(d)
        offer_terms.update(o)
        sender.update(s)
    low = {b.lower() for b in banned + conditional}
    terms = [t for t in DEFAULT_CLAIM_TERMS if t.lower() not in low]
    products, allowed = _products(docs, terms)
    return BrandProfile(
        name=_brand_name(docs), audience=_audience(docs), voice=_voice(docs), banned=banned,
        conditional=conditional, disclaimers=disclaimers, offer_terms=offer_terms,
        sender_prefix=sender, products=products, allowed_claims=allowed, claim_terms=terms,
    )


# --- model-assisted suggestion --------------------------------------------------------------


def documents_text(paths: Iterable[Path], max_chars: int = 24_000) -> str:
    """The documents under ``paths``, delimited and labelled as data, up to ``max_chars``."""
    parts = []
    used = 0
    for path, meta, text in _documents(paths):
        block = f'<document source="{path.name}" title="{meta.get("title", "")}">\n{text.strip()}\n</document>'
        if used + len(block) > max_chars:
            block = block[: max(0, max_chars - used)]
        parts.append(block)
        used += len(block)
        if used >= max_chars:
            break
    return "\n".join(parts)


def _json_object(content: str) -> dict[str, Any]:
    fence = re.search(r"```(?:json)?\s*(.*?)```", content, re.S)
    text = fence.group(1) if fence else content
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the reply")
    data = json.loads(text[start : end + 1])
    if not isinstance(data, dict):
        raise ValueError("the reply is not a JSON object")
    return data


def merge_profiles(base: BrandProfile, update: dict[str, Any]) -> tuple[BrandProfile, list[str]]:
    """``base`` with every valid non-empty key of ``update``; lists of phrases are unioned."""
    warnings: list[str] = []
    merged = base.model_dump()
    for key, value in update.items():
        if key not in BrandProfile.model_fields:
            warnings.append(f"ignored unknown key {key!r} from the model")
            continue
        if value in (None, "", [], {}):
            continue
        trial = {**merged, key: value}
        if key in ("banned", "conditional", "allowed_claims", "claim_terms") and isinstance(value, list):
            trial[key] = _uniq([*merged[key], *(str(v) for v in value)])
        try:
            BrandProfile.model_validate(trial)
        except ValidationError as err:
            warnings.append(validation_message(err, f"model value for {key!r}") + " Kept the rules-based value.")
            continue
        merged = trial
    return BrandProfile.model_validate(merged), warnings


def suggest_profile_llm(model: Any, paths: Iterable[Path]) -> tuple[BrandProfile, dict[str, Any], list[str]]:
    """(profile, usage, warnings): the rules draft improved by a LangChain chat model."""
    # lazy: langchain_core, pydantic load slowly; only this path needs them
    from langchain_core.messages import HumanMessage, SystemMessage

    from prompts import load_data

    paths = list(paths)
    base = suggest_profile(paths)
    prompt = load_data("copy_brand_suggest")
    schema = json.dumps(BrandProfile.model_json_schema()["properties"], ensure_ascii=False)[:4000]
    values = {
        "schema": schema, "keys": ", ".join(BrandProfile.model_fields),
        "draft": json.dumps(base.model_dump(mode="json"), ensure_ascii=False),
        "documents": documents_text(paths),
    }
    system, user = str(prompt["system"]), str(prompt["user"])
    for key, value in values.items():
        system, user = system.replace(f"<<{key}>>", value), user.replace(f"<<{key}>>", value)
    messages = [SystemMessage(system), HumanMessage(user)]
    reply = model.invoke(messages)
    content = reply.content if isinstance(reply.content, str) else str(reply.content)
    name = getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__
    usage = {"mode": "llm", "model": str(name), "prompt_tokens": count_message_tokens(messages),
             "completion_tokens": count_tokens(content), "calls": 1}
    try:
        update = _json_object(content)
    except (ValueError, TypeError) as exc:
        return base, usage, [f"The model's reply could not be used ({exc}); this is the rules-based draft."]
    profile, warnings = merge_profiles(base, update)
    return profile, usage, warnings
