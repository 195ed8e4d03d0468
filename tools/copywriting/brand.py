"""Brand rules for copy: name, banned phrases, required disclaimers per channel, voice notes.

Loaded from ``$MARA_HOME/brand.yaml`` when it exists (keys as in :class:`BrandRules`), else
derived from the sample brand's Markdown (``knowledge/sample_brand``): quoted items in
bullet lists under "Banned words" headings become banned phrases (items on lines with
"without", "except" or "unless" become *conditional* phrases that need their condition),
the SMS opt-out / sender lines and the offer-terms lines of the Compliance Handbook
become disclaimers, and the Voice Guide's ``###`` headings under "Voice attributes"
become voice notes. Anything the parser cannot find falls back to empty values.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "knowledge" / "sample_brand"


class BrandRules(BaseModel):
    """What copy must respect. ``disclaimers[channel]`` are appended to that channel's copy."""

    name: str = "Our brand"
    banned: list[str] = Field(default_factory=list)
    conditional: list[str] = Field(default_factory=list)
    disclaimers: dict[str, list[str]] = Field(default_factory=dict)
    offer_terms: dict[str, str] = Field(default_factory=dict)
    sender_prefix: dict[str, str] = Field(default_factory=dict)
    voice: list[str] = Field(default_factory=list)
    max_exclamations: int = 1

    def required_for(self, channel: str, *, has_offer: bool) -> list[str]:
        """Disclaimers that must end ``channel`` copy (offer terms only when an offer is made)."""
        out = list(self.disclaimers.get(channel, []))
        terms = self.offer_terms.get(channel)
        if has_offer and terms:
            out.insert(0, terms)
        return out


def load_brand(home: Path | None = None) -> BrandRules:
    """``$MARA_HOME/brand.yaml`` if present, else rules parsed from the sample brand docs."""
    if home is not None:
        path = Path(home) / "brand.yaml"
        if path.is_file():
            return BrandRules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return sample_brand()


@lru_cache(maxsize=1)
def sample_brand() -> BrandRules:
    """Rules parsed from ``knowledge/sample_brand`` (compliance.md, voice_guide.md)."""
    return parse_brand_docs(SAMPLE_DIR)


def _read(folder: Path, name: str) -> str:
    path = folder / name
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _sections(md: str) -> list[tuple[str, str]]:
    """(heading path joined by ' / ', body) for every Markdown heading."""
    out: list[tuple[str, str]] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    for line in md.splitlines() + ["# END"]:
        m = re.match(r"^(#{1,6})\s+(.*)", line)
        if m:
            if stack:
                out.append((" / ".join(h for _, h in stack), "\n".join(body)))
            level = len(m.group(1))
            stack = [(lv, h) for lv, h in stack if lv < level] + [(level, m.group(2).strip())]
            body = []
        else:
            body.append(line)
    return out


def parse_brand_docs(folder: Path) -> BrandRules:
    """Derive :class:`BrandRules` from a brand's compliance and voice-guide Markdown."""
    compliance = _read(folder, "compliance.md")
    voice = _read(folder, "voice_guide.md")
    banned: list[str] = []
    conditional: list[str] = []
    for text in (compliance, voice):
        for heading, body in _sections(text):
            if "banned" not in heading.lower():
                continue
            for line in body.splitlines():
                if not line.lstrip().startswith("-"):
                    continue
                items = [i.strip() for i in re.findall(r"\"([^\"]+)\"", line)]
                target = conditional if re.search(r"\b(without|except|unless)\b", line) else banned
                for item in items:
                    if item and item.lower() not in {b.lower() for b in banned + conditional}:
                        target.append(item)
    # "FREE!!!" style items are covered by the punctuation and caps checks
    banned = [b for b in banned if re.search(r"[A-Za-z0-9]", b) and "!!" not in b]
    conditional = [c for c in conditional if "!!" not in c]
    disclaimers: dict[str, list[str]] = {}
    sender: dict[str, str] = {}
    offer_terms: dict[str, str] = {}
    m = re.search(r"ends with exactly:\s*\*\*\"([^\"]+)\"\*\*", compliance)
    if m:
        disclaimers["sms"] = [m.group(1)]
    m = re.search(r"starts with the sender name \"([^\"]+)\"", compliance)
    if m:
        sender["sms"] = m.group(1)
    m = re.search(r"In SMS, where space is short, use: \"([^\"]+)\"", compliance)
    if m:
        offer_terms["sms"] = m.group(1)
    for heading, body in _sections(compliance):
        quote = " ".join(
            ln.lstrip("> ").strip() for ln in body.splitlines() if ln.startswith(">")
        ).strip()
        if not quote:
            continue
        if heading.endswith("/ Email"):
            disclaimers["email"] = [quote.replace("{unsubscribe_link}", "{{unsubscribe_link}}")]
        elif "offer terms" in heading.lower():
            full = re.sub(r"\{start_date\}–\{end_date\} ", "", quote.strip('"'))
            full_terms = full.split("Full terms:")[-1].strip()
            short = f"Full terms: {full_terms}" if "Full terms:" in full else full
            for channel in ("email", "meta_ad", "social"):
                offer_terms[channel] = full if channel == "email" else short
    notes = []
    for heading, body in _sections(voice):
        if heading.lower().startswith(("voice attributes /", "alder")) and "/" in heading:
            leaf = heading.rsplit("/", 1)[-1].strip()
            first = " ".join(body.strip().split("\n\n")[0].split())
            if "Voice attributes" in heading and first:
                notes.append(f"{leaf}: {first}")
    title = re.search(r"^title:\s*(.+?)\s+Voice Guide\s*$", voice, re.M)
    return BrandRules(
        name=title.group(1).strip() if title else "Our brand",
        banned=banned,
        conditional=conditional,
        disclaimers=disclaimers,
        offer_terms=offer_terms,
        sender_prefix=sender,
        voice=notes,
    )
