"""``mara copy``: draft copy for a channel, and ``mara copy render`` for an audience.

Mounted with ``app.add_typer(copy_app, name="copy")`` in :mod:`assistant.cli`, so both
``mara copy --channel ... --brief ...`` and ``mara copy render ...`` work. With ``--json``
drafting prints exactly ``{"variants": [...], "usage": {...}}``; warnings also go to stderr.
Errors are :class:`~foundation.errors.MaraError` subclasses (one line from the main CLI).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from foundation.errors import ToolInputError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _settings() -> Any:
    # lazy: pydantic, pydantic_settings load slowly; only this path needs them
    from foundation.settings import get_settings

    return get_settings()


def _tool_context(settings: Any) -> Any:
    """Tools context that drafts with the configured chat model in LLM mode."""
    # lazy: pydantic, pydantic_settings, sqlglot load slowly; only this path needs them
    from assistant.chat_models import make_chat_model
    from tools.context import ToolContext

    return ToolContext(settings, chat_model_factory=make_chat_model)


def _print_variants(doc: dict[str, Any]) -> None:
    usage = doc.get("usage", {})
    if usage.get("mode") == "offline":
        sys.stdout.write(f"({usage.get('note')})\n")
    if usage.get("audience"):
        sys.stdout.write(f"Audience: {usage['audience']}\n")
    for i, variant in enumerate(doc.get("variants", []), 1):
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


def _draft(
    channel: str, brief: str, segment: str | None, variants: int, offer: str | None, tone: str | None,
    language: str, audience: str | None, offline: bool, as_json: bool, fields: str | None = None,
    length: str = "standard",
) -> None:
    """Draft copy variants that fit the channel's limits and the brand's rules."""
    # lazy: pandas, numpy, pydantic load slowly; only this path needs them
    from pydantic import ValidationError

    from tools.copywriting.service import CopyRequest, run_copy

    try:
        request = CopyRequest(channel=channel, brief=brief, segment=segment, variants=variants, offer=offer,
                              tone=tone, language=language, audience=audience, offline=offline,
                              fields=[f.strip() for f in fields.split(",") if f.strip()] if fields else None,
                              length=length)  # type: ignore[arg-type]  # pydantic names a bad value
    except ValidationError as err:
        first = err.errors()[0]
        raise ToolInputError(f"--{first['loc'][0]}: {first['msg']}.") from None
    settings = _settings()
    response = run_copy(request, settings, ctx=_tool_context(settings))
    for warning in response.usage.get("warnings", []):
        sys.stderr.write(f"Warning: {warning}\n")
    if as_json:
        sys.stdout.write(json.dumps(response.contract(), ensure_ascii=False) + "\n")
        return
    _print_variants(response.contract())


copy_app = typer.Typer(
    add_completion=False, pretty_exceptions_enable=False, invoke_without_command=True,
    help="Draft copy (mara copy --channel C --brief B) or render it for an audience (mara copy render).",
)


@copy_app.callback()
def copy_main(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option("--channel", help="email, sms, push, google_rsa, meta_ad or social.")] = None,
    brief: Annotated[str | None, typer.Option("--brief", help="What the message is about.")] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Audience segment, e.g. 'At Risk'.")] = None,
    variants: Annotated[int, typer.Option("--variants", help="Number of distinct variants (1-10).")] = 3,
    offer: Annotated[str | None, typer.Option("--offer", help="The offer, e.g. '20% off jackets'.")] = None,
    tone: Annotated[str | None, typer.Option("--tone", help="Tone override: formal, friendly, playful, warm.")] = None,
    language: Annotated[str, typer.Option("--language", help="Language of the copy (offline: en, de, fr, es).")] = "en",
    audience: Annotated[str | None, typer.Option("--audience", help="Saved audience whose profile shapes the copy.")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use the offline generator even when an LLM is configured.")] = False,
    fields: Annotated[str | None, typer.Option("--fields", help="Only these fields, comma-separated: e.g. subject,preheader or headline.")] = None,
    length: Annotated[str, typer.Option("--length", help="standard or short (the same message, shorter).")] = "standard",
    as_json: JsonFlag = False,
) -> None:
    """Draft copy variants that fit the channel's limits and the brand's rules."""
    if ctx.invoked_subcommand is not None:
        return
    if not channel or brief is None:
        raise ToolInputError(
            "mara copy needs --channel and --brief.",
            hint='e.g. mara copy --channel sms --brief "Autumn sale until 30 November" --json; '
            "or mara copy render --audience NAME --channel sms --brief ...",
        )
    _draft(channel, brief, segment, variants, offer, tone, language, audience, offline, as_json, fields, length)


def _template(channel: str, template: str | None) -> dict[str, Any] | None:
    """``--template``: a JSON object of channel fields, or plain text for a one-text channel."""
    if template is None:
        return None
    # lazy: pydantic, yaml load slowly; only this path needs them
    from tools.copywriting.channels import get_channel

    spec = get_channel(channel)
    if template.lstrip().startswith("{") and not template.lstrip().startswith("{{"):
        try:
            data = json.loads(template)
        except json.JSONDecodeError as err:
            raise ToolInputError(f"--template is not valid JSON: {err.msg} at character {err.pos}.") from None
        if not isinstance(data, dict):
            raise ToolInputError("--template JSON must be an object of channel fields.")
        return data
    text_fields = [f.name for f in spec.fields if not f.is_list]
    if len(spec.fields) != 1:
        raise ToolInputError(
            f"{spec.name} has several fields; give --template as JSON.",
            hint="e.g. " + json.dumps({f: "..." for f in text_fields}),
        )
    return {spec.fields[0].name: template}


@copy_app.command("render")
def render_command(
    audience: Annotated[str, typer.Option("--audience", help="Saved audience (mara audiences / the agent).")],
    channel: Annotated[str, typer.Option("--channel", help="email, sms, push, google_rsa, meta_ad or social.")],
    brief: Annotated[str | None, typer.Option("--brief", help="Draft from this brief (the audience profile shapes it).")] = None,
    template: Annotated[str | None, typer.Option("--template", help="Text (sms/social) or JSON fields with {{merge|fallback}}.")] = None,
    variant: Annotated[int, typer.Option("--variant", help="Which drafted variant to render (1-based).")] = 1,
    offer: Annotated[str | None, typer.Option("--offer", help="The offer, e.g. '20% off jackets'.")] = None,
    tone: Annotated[str | None, typer.Option("--tone", help="Tone override.")] = None,
    language: Annotated[str, typer.Option("--language", help="Language of the copy (offline: en, de, fr, es).")] = "en",
    fallback: Annotated[list[str] | None, typer.Option("--fallback", help="FIELD=VALUE fallback for a merge field (repeatable).")] = None,
    preview: Annotated[int, typer.Option("--preview", help="Rendered messages to show.")] = 5,
    out: Annotated[str | None, typer.Option("--out", help="CSV path (default <MARA_HOME>/exports/<audience>-<channel>.csv).")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use the offline generator even when an LLM is configured.")] = False,
    raw_csv: Annotated[bool, typer.Option("--raw-csv", help="Write cells as they are: no ' before =,+,-,@ (for machine import, not spreadsheets).")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Render personalised messages for every opted-in member of a saved audience; export CSV."""
    # lazy: pandas, numpy, pydantic load slowly; only this path needs them
    from pydantic import ValidationError

    from tools.copywriting.service import RenderRequest, render_copy

    fallbacks: dict[str, str] = {}
    for item in fallback or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ToolInputError(f"--fallback {item!r} must be FIELD=VALUE, e.g. first_name=there.")
        fallbacks[key.strip()] = value
    try:
        request = RenderRequest(
            audience=audience, channel=channel, brief=brief, template=_template(channel, template),
            variant=variant, variants=max(3, variant), offer=offer, tone=tone, language=language,
            fallbacks=fallbacks, preview=preview, out=out, offline=offline, raw_csv=raw_csv,
        )
    except ValidationError as err:
        first = err.errors()[0]
        raise ToolInputError(f"--{first['loc'][0]}: {first['msg']}.") from None
    settings = _settings()
    result = render_copy(request, settings, ctx=_tool_context(settings))
    for warning in result.get("usage", {}).get("warnings", []):
        sys.stderr.write(f"Warning: {warning}\n")
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")
        return
    sys.stdout.write(f"{result['rows']:,} {result['channel']} messages for {result['audience']!r} -> {result['path']}"
                     f" ({result['excluded_no_opt_in']:,} not opted in)\n")
    for row in result["preview"]:
        sys.stdout.write("\n" + "\n".join(f"  {k}: {v}" for k, v in row.items()) + "\n")
