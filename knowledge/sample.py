"""The shipped demo brand ("Alder & Peak", an outdoor gear retailer)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SAMPLE_BRAND_NAME", "sample_brand_path"]

SAMPLE_BRAND_NAME = "Alder & Peak"


def sample_brand_path() -> Path:
    """Folder holding the sample brand's Markdown documents (voice guide, offers, ...)."""
    return Path(__file__).resolve().parent / "sample_brand"
