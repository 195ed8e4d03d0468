"""Copy drafting: channel specs, brand rules, checks, a deterministic fitter, an offline
generator, model drafting with repair rounds, and per-customer personalisation.

Plain API: :func:`draft_copy`, :func:`check_variant`, :func:`fit_variant`,
:func:`render_for_customers`, :func:`render_audience`, :func:`draft_for_segments`,
:func:`load_brand`, :func:`get_channel`. The LangChain tool
(``copy_tools(ctx)``) is in :mod:`tools.copywriting.tool`.
"""

from __future__ import annotations

from tools.copywriting.audience import draft_for_segments, render_audience
from tools.copywriting.brand import BrandRules, load_brand, sample_brand
from tools.copywriting.channels import ChannelSpec, get_channel, load_channels, sms_segments
from tools.copywriting.checks import Check, check_variant
from tools.copywriting.drafting import CopyResult, draft_copy
from tools.copywriting.fitter import fit_text, fit_variant, gsm7_safe
from tools.copywriting.personalize import opted_in, render_for_customers

__all__ = [
    "BrandRules", "ChannelSpec", "Check", "CopyResult", "check_variant", "draft_copy",
    "draft_for_segments", "render_audience",
    "fit_text", "fit_variant", "get_channel", "gsm7_safe", "load_brand", "load_channels",
    "opted_in", "render_for_customers", "sample_brand", "sms_segments",
]
