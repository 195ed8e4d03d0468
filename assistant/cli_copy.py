"""``mara copy``: draft copy for a channel from the command line.

Mount with ``app.command("copy")(copy_command)`` in :mod:`assistant.cli`. With ``--json`` it
prints exactly ``{"variants": [...], "usage": {...}}``; warnings also go to stderr. Errors
are :class:`~assistant.errors.MaraError` subclasses (one line from the main CLI).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer


def _settings() -> Any:
    from assistant.settings import get_settings

    return get_settings()


def copy_command(
    channel: Annotated[str, typer.Option("--channel", help="email, sms, push, google_rsa, meta_ad or social.")],
    brief: Annotated[str, typer.Option("--brief", help="What the message is about.")],
    segment: Annotated[str | None, typer.Option("--segment", help="Audience segment, e.g. 'At Risk'.")] = None,
    variants: Annotated[int, typer.Option("--variants", help="Number of distinct variants (1-10).")] = 3,
    offer: Annotated[str | None, typer.Option("--offer", help="The offer, e.g. '20% off jackets'.")] = None,
    tone: Annotated[str | None, typer.Option("--tone", help="Tone override: formal, friendly...")] = None,
    language: Annotated[str, typer.Option("--language", help="Language code of the copy.")] = "en",
    offline: Annotated[bool, typer.Option("--offline", help="Use the offline generator even when an LLM is configured.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Draft copy variants that fit the channel's limits and the brand's rules."""
    from tools.copywriting.brand import load_brand
    from tools.copywriting.drafting import draft_copy

    settings = _settings()
    model = None
    if not offline and settings.resolved_mode == "llm":
        from assistant.chat_models import make_chat_model

        model = make_chat_model(settings)
    result = draft_copy(
        channel, brief, variants=variants, segment=segment, offer=offer, tone=tone,
        language=language, brand=load_brand(settings.home), model=model,
    )
    for warning in result.warnings:
        sys.stderr.write(f"Warning: {warning}\n")
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        return
    if result.usage.get("mode") == "offline":
        sys.stdout.write(f"({result.usage.get('note')})\n")
    for i, variant in enumerate(result.variants, 1):
        sys.stdout.write(f"\nVariant {i}\n")
        for key, value in variant.items():
            if key == "checks":
                failed = [c for c in value if not c["passed"]]
                sys.stdout.write("  checks: " + ("all passed" if not failed else "; ".join(
                    f"{c['name']}: {c['detail']}" for c in failed)) + "\n")
            elif isinstance(value, list):
                sys.stdout.write(f"  {key}:\n" + "".join(f"    - {v}\n" for v in value))
            else:
                sys.stdout.write(f"  {key}: {value}\n")


copy_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
copy_app.command()(copy_command)
