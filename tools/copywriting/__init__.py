"""Copy drafting: channel specs, brand rules, checks, a deterministic fitter, an offline
generator, model drafting with repair rounds, and per-customer personalisation.

Front ends (API, CLI, tool): :func:`run_copy` (:class:`CopyRequest` → :class:`CopyResponse`)
and :func:`render_copy` (:class:`RenderRequest`). Plain API: :func:`draft_copy`,
:func:`check_variant`, :func:`fit_variant`, :func:`render_for_customers`,
:func:`render_audience`, :func:`draft_for_segments`, :func:`load_brand`, :func:`get_channel`,
:func:`segment_profile`, :func:`audience_profile`. The LangChain tool (``copy_tools(ctx)``)
is in :mod:`tools.copywriting.tool`.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names resolve lazily (PEP 562): the agent's tool only needs drafting and checks, and
# personalisation pulls in pandas, which a one-shot `mara chat` should not pay for.
_EXPORTS = {
    "draft_for_segments": "audience", "render_audience": "audience",
    "BrandRules": "brand", "load_brand": "brand", "sample_brand": "brand",
    "ChannelSpec": "channels", "get_channel": "channels", "load_channels": "channels",
    "sms_segments": "channels",
    "Check": "checks", "check_variant": "checks",
    "CopyResult": "drafting", "draft_copy": "drafting",
    "fit_text": "fitter", "fit_variant": "fitter", "gsm7_safe": "fitter",
    "opted_in": "personalize", "render_for_customers": "personalize",
    "AudienceProfile": "profile", "audience_profile": "profile", "segment_profile": "profile",
    "CopyRequest": "service", "CopyResponse": "service", "RenderRequest": "service",
    "render_copy": "service", "run_copy": "service",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
