"""Brand rules for copy, derived from the brand profile (:mod:`knowledge.brand`).

``load_brand(home)`` reads ``$MARA_HOME/brand.yaml`` (a :class:`knowledge.brand.BrandProfile`;
an invalid file is a :class:`~knowledge.brand.BrandProfileError` naming the bad key) and
falls back to the profile suggested from the sample brand's documents
(``knowledge/sample_brand``) when the workspace has none. :class:`BrandRules` is the flat
view the checks, fitter, offline generator and prompts use.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from knowledge.brand import (
    DEFAULT_CLAIM_TERMS,
    BrandProfile,
    Product,
    QuoteRules,
    load_profile,
    profile_path,
    suggest_profile,
)

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
    audience: str = ""
    products: list[Product] = Field(default_factory=list)
    allowed_claims: list[str] = Field(default_factory=list)
    claim_terms: list[str] = Field(default_factory=lambda: list(DEFAULT_CLAIM_TERMS))
    quotes: QuoteRules = Field(default_factory=QuoteRules)

    def required_for(self, channel: str, *, has_offer: bool) -> list[str]:
        """Disclaimers that must end ``channel`` copy (offer terms only when an offer is made)."""
        out = list(self.disclaimers.get(channel, []))
        terms = self.offer_terms.get(channel)
        if has_offer and terms:
            out.insert(0, terms)
        return out

    @classmethod
    def from_profile(cls, profile: BrandProfile) -> BrandRules:
        return cls(
            name=profile.name, banned=profile.banned, conditional=profile.conditional,
            disclaimers=profile.disclaimers, offer_terms=profile.offer_terms,
            sender_prefix=profile.sender_prefix, voice=[v.note() for v in profile.voice],
            max_exclamations=profile.max_exclamations, audience=profile.audience,
            products=profile.products, allowed_claims=profile.allowed_claims,
            claim_terms=profile.claim_terms, quotes=profile.quotes,
        )


def load_brand(home: Path | None = None) -> BrandRules:
    """``$MARA_HOME/brand.yaml`` if present, else the sample brand's suggested profile.

    The file is parsed once per version (path, size, modification time): an edit is read at the
    next draft, and a run of drafts does not parse the same YAML again each time."""
    if home is not None and profile_path(home).is_file():
        path = profile_path(home)
        stat = path.stat()
        profile = _parsed_profile(str(path), stat.st_size, stat.st_mtime_ns)
        return BrandRules.from_profile(profile.model_copy(deep=True))
    return sample_brand()


@lru_cache(maxsize=16)
def _parsed_profile(path: str, size: int, mtime_ns: int) -> BrandProfile:
    """The validated ``brand.yaml`` at ``path`` in the version given by ``size`` and ``mtime_ns``."""
    return load_profile(Path(path))


@lru_cache(maxsize=1)
def sample_brand() -> BrandRules:
    """Rules from the profile suggested for ``knowledge/sample_brand``."""
    return parse_brand_docs(SAMPLE_DIR)


def parse_brand_docs(folder: Path) -> BrandRules:
    """Derive :class:`BrandRules` from a folder of brand Markdown (rules-based suggestion)."""
    return BrandRules.from_profile(suggest_profile([Path(folder)]))
