"""Request/response models and one-call entry points for front ends (API, CLI, agent tool).

``run_copy(CopyRequest(...), settings)`` → :class:`CopyResponse` does everything a front end
needs: brand profile from the workspace, chat model when one is configured (unless
``offline``), the audience profile (a saved audience or an RFM segment, from the data; or one
given in the request), merge fields from the customers table, brand passages from the
knowledge base (cited), drafting with checks. ``render_copy(RenderRequest(...), settings)``
renders one variant per customer of a saved audience and exports the CSV.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from foundation.errors import MaraError, ToolInputError
from tools.context import ToolContext
from tools.copywriting.brand import load_brand
from tools.copywriting.channels import get_channel
from tools.copywriting.checks import DEFAULT_MERGE_FIELDS, check_variant
from tools.copywriting.drafting import MAX_VARIANTS, draft_copy
from tools.copywriting.profile import AudienceProfile, audience_profile, segment_profile
from tools.feedback.quotes import asks_for_quotes, customer_quotes, without_quote_request

if TYPE_CHECKING:
    from foundation.settings import MaraSettings

log = logging.getLogger(__name__)


class CopyRequest(BaseModel):
    """Body of ``POST /v1/copy`` (and the CLI's options)."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(description="email, sms, push, google_rsa, meta_ad or social")
    brief: str = Field(description="What the message is about (offer, dates, products).")
    variants: int = Field(default=3, ge=1, le=MAX_VARIANTS)
    segment: str | None = Field(default=None, description="RFM segment or cluster name, e.g. 'At Risk'.")
    audience: str | None = Field(default=None, description="A saved audience; its profile shapes the copy.")
    profile: AudienceProfile | None = Field(default=None, description="An explicit audience profile.")
    offer: str | None = None
    tone: str | None = Field(default=None, description="Tone override: formal, friendly, playful, warm.")
    language: str = Field(default="en", description="Offline drafts: en, de, fr, es; any with a model.")
    merge_fields: list[str] | None = Field(default=None, description="Default: the customers table's columns.")
    offline: bool = Field(default=False, description="Use the offline generator even when a model is configured.")
    repair_rounds: int = Field(default=2, ge=0, le=5)
    use_knowledge: bool = Field(default=True, description="Retrieve and cite brand passages.")
    length: Literal["standard", "short"] = Field(default="standard", description="'short' for concise drafts.")
    skip: int = Field(default=0, ge=0, le=50, description="Start after this many variants (for 'more variants').")
    fields: list[str] | None = Field(default=None, max_length=6, description=(
        "Draft only these fields, e.g. ['subject'] for subject lines (with preheaders) or ['headline']."))


class CopyResponse(BaseModel):
    """``variants`` (channel fields + ``checks``), ``usage`` (mode, tokens, cost, warnings...),
    ``citations`` (brand passages given to the model: source, title, heading, text, score)."""

    variants: list[dict[str, Any]]
    usage: dict[str, Any]
    citations: list[dict[str, Any]] = Field(default_factory=list)

    def contract(self) -> dict[str, Any]:
        """Exactly ``{"variants", "usage"}`` (the ``mara copy --json`` contract)."""
        return {"variants": self.variants, "usage": self.usage}


class RenderRequest(BaseModel):
    """Render one variant per customer of a saved audience (``mara copy render``)."""

    model_config = ConfigDict(extra="forbid")

    audience: str
    channel: str
    brief: str | None = Field(default=None, description="Draft from this brief (or give template).")
    template: dict[str, Any] | None = Field(default=None, description="Channel fields with {{merge|fallback}}.")
    variant: int = Field(default=1, ge=1, le=MAX_VARIANTS, description="Which drafted variant to render.")
    variants: int = Field(default=3, ge=1, le=MAX_VARIANTS)
    offer: str | None = None
    tone: str | None = None
    language: str = "en"
    fallbacks: dict[str, str] = Field(default_factory=dict, description="Fallback per merge field.")
    preview: int = Field(default=5, ge=0, le=1000)
    out: str | None = Field(default=None, description="CSV path (default: <home>/exports/<audience>-<channel>.csv).")
    offline: bool = False
    raw_csv: bool = Field(
        default=False, description="Write cells as they are (no formula neutralisation) for machine import."
    )


def chat_model_for(ctx: ToolContext, offline: bool = False) -> Any:
    """The context's chat model in LLM mode, else ``None`` (offline generator)."""
    if offline or ctx.settings.resolved_mode != "llm" or ctx.chat_model_factory is None:
        return None
    return ctx.chat_model_factory(ctx.settings)


def brand_passages(ctx: ToolContext, query: str, k: int = 3) -> list[dict[str, Any]]:
    """Brand passages for ``query`` from the knowledge base; ``[]`` when there is none."""
    settings = ctx.settings
    if not settings.chroma_host and not settings.chroma_path.exists():
        return []
    try:
        passages = ctx.knowledge.search(query, k=k)
    except Exception as exc:  # an empty or unreachable knowledge base must not stop drafting
        log.info("copy: knowledge search skipped: %s", exc)
        return []
    return [{"source": p.source, "title": p.title, "heading": p.heading, "text": p.text,
             "score": p.score} for p in passages]


def customer_columns(ctx: ToolContext) -> list[str]:
    """Columns of the customers table (usable as merge fields), or common defaults."""
    try:
        table = ctx.profile().table("customers")
    except Exception:
        return list(DEFAULT_MERGE_FIELDS)
    return [c.name for c in table.columns] if table is not None else list(DEFAULT_MERGE_FIELDS)


def resolve_profile(
    ctx: ToolContext, *, audience: str | None, segment: str | None, profile: AudienceProfile | None,
    warnings: list[str],
) -> AudienceProfile | None:
    """The request's profile, else a saved audience's or an RFM segment's from the data."""
    if profile is not None:
        return profile
    if audience:
        # lazy: loads pandas; drafting without an audience never needs it
        from tools.audiences import load_audience

        saved, ids = load_audience(ctx.settings.home, audience)  # a clear error when unknown
        try:
            return audience_profile(ctx.warehouse, ctx.settings.home, audience)
        except MaraError as exc:  # too few orders for RFM, no orders table...
            warnings.append(f"Audience profile limited to its size ({exc.message})")
            return AudienceProfile(name=saved.name, kind=saved.kind, size=len(ids))
    if segment:
        # lazy: loads pandas; drafting without a segment never needs it
        from tools.segments import SEGMENTS

        if any(s.lower() == segment.strip().lower() for s in SEGMENTS) and (
            ctx.settings.warehouse_url or ctx.settings.duckdb_path.exists()
        ):
            try:
                return segment_profile(ctx.warehouse, segment)
            except Exception as exc:  # no orders table etc.: frame by the name only
                warnings.append(f"Segment profile unavailable ({exc}); framed by the segment name only.")
        return AudienceProfile(name=segment)
    return None


def run_copy(request: CopyRequest, settings: MaraSettings, *, model: Any = None,
             ctx: ToolContext | None = None) -> CopyResponse:
    """Draft copy for ``request`` in the workspace of ``settings``.

    ``model`` overrides the chat model; without it, ``ctx.chat_model_factory`` builds the
    configured one in LLM mode (the CLI and the agent pass a context that has it), and with
    no factory the drafts are offline. Raises
    :class:`~foundation.errors.ToolInputError` (bad channel, empty brief, unknown merge field,
    unknown segment...), :class:`~tools.audiences.AudienceNotFoundError` and
    :class:`~knowledge.brand.BrandProfileError` (invalid ``brand.yaml``) with clear messages.
    """
    ctx = ctx or ToolContext(settings)
    warnings: list[str] = []
    brand = load_brand(settings.home)
    if model is None:
        model = chat_model_for(ctx, request.offline)
    profile = resolve_profile(ctx, audience=request.audience, segment=request.segment,
                              profile=request.profile, warnings=warnings)
    merge_fields = request.merge_fields
    if merge_fields is None:
        merge_fields = customer_columns(ctx) if settings.warehouse_url or settings.duckdb_path.exists() else None
    brief, quotes = request.brief, list[str]()
    if asks_for_quotes(brief):  # "… that quotes what customers love": real reviews, within brand.yaml's rules
        brief = without_quote_request(brief) or brief
        quotes, notes = quotes_for(ctx, request.brief, brand, request.variants)
        warnings += notes
    passages: list[dict[str, Any]] = []
    if request.use_knowledge and model is not None:
        passages = brand_passages(ctx, f"{request.channel} {brief} {request.offer or ''}".strip())
    result = draft_copy(
        request.channel, brief, quotes=quotes, variants=request.variants, segment=request.segment,
        offer=request.offer, tone=request.tone, language=request.language, brand=brand, model=model,
        merge_fields=merge_fields, facts=[p["text"][:400] for p in passages],
        repair_rounds=request.repair_rounds, profile=profile, length=request.length, skip=request.skip,
        fields=request.fields, catalog=catalog_items(ctx),
    )
    if quotes and not any(_prints_a_quote(v, quotes) for v in result.variants):
        warnings.append(f"No {request.channel} draft has room for a customer quote within its limits; "
                        "try an e-mail or a social post.")
    result.warnings[:0] = warnings
    return CopyResponse(variants=result.variants, usage=result.to_dict()["usage"], citations=passages)


def _prints_a_quote(variant: dict[str, Any], quotes: list[str]) -> bool:
    text = " ".join(str(v) for k, v in variant.items() if k != "checks")
    return any(q.split("” — ")[0].strip("“")[:40] in text for q in quotes)


def quotes_for(ctx: ToolContext, brief: str, brand: Any, n: int) -> tuple[list[str], list[str]]:
    """Signed customer quotes for ``brief`` (``“…” — Maya K.``) under the brand's ``quotes:``
    rules, and notes saying what was used or why there are none."""
    settings = ctx.settings
    if not (settings.warehouse_url or settings.duckdb_path.exists()):
        return [], ["No quotes: there is no customer data to quote from."]
    cache = settings.home / "cache" / "feedback" if settings.home.is_dir() else None
    found, notes = customer_quotes(ctx.warehouse, ctx.profile(), brief, brand.quotes, n=max(1, n), cache_dir=cache)
    return [q.line() for q in found], notes


def catalog_items(ctx: ToolContext) -> list[dict[str, Any]]:
    """The workspace catalog (``products``: name, category, launched date) for specific copy;
    ``[]`` when there is no warehouse or no such table. Read once while the warehouse is unchanged."""
    return [dict(row) for row in ctx.memo("copy.catalog", lambda: _read_catalog(ctx))]


def _read_catalog(ctx: ToolContext) -> list[dict[str, Any]]:
    settings = ctx.settings
    if not (settings.warehouse_url or settings.duckdb_path.exists()):
        return []
    try:
        table = ctx.profile().table("products")
        if table is None:
            return []
        cols = {c.name for c in table.columns}
        if not {"name", "category"} <= cols:
            return []
        launched = ", launched_date" if "launched_date" in cols else ""
        result = ctx.warehouse.query(f"SELECT name, category{launched} FROM products", row_cap=5000)
    except Exception as exc:  # the catalog only adds facts: drafting goes on without it
        log.info("copy: catalog skipped: %s", exc)
        return []
    return [{k: (str(v) if v is not None else None) for k, v in zip(result.columns, row, strict=False)}
            for row in result.rows]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "audience"


def render_copy(request: RenderRequest, settings: MaraSettings, *, model: Any = None,
                ctx: ToolContext | None = None) -> dict[str, Any]:
    """Draft (or take ``template``), then render it for every opted-in member of the audience.

    Returns ``{"audience", "channel", "path", "rows", "excluded_no_opt_in", "preview", "template",
    "checks", "usage"}``; the CSV has the customer id and one column per channel field.
    """
    spec = get_channel(request.channel)
    ctx = ctx or ToolContext(settings)
    usage: dict[str, Any] = {}
    if request.template is not None:
        names = {f.name for f in spec.fields}
        unknown = sorted(set(request.template) - names)
        if unknown:
            raise ToolInputError(f"Template field(s) {', '.join(unknown)} are not {spec.name} fields.",
                                 hint=f"{spec.name} fields: {', '.join(sorted(names))}.")
        fields = dict(request.template)
        checks = [c.to_dict() for c in check_variant(spec, fields, load_brand(settings.home),
                                                     customer_columns(ctx))]
    elif request.brief:
        response = run_copy(CopyRequest(
            channel=spec.name, brief=request.brief, variants=max(request.variants, request.variant),
            audience=request.audience, offer=request.offer, tone=request.tone,
            language=request.language, offline=request.offline,
        ), settings, model=model, ctx=ctx)
        chosen = response.variants[request.variant - 1]
        fields = {k: v for k, v in chosen.items() if k != "checks"}
        checks = chosen["checks"]
        usage = response.usage
    else:
        raise ToolInputError("Give a brief to draft from or a template to render.",
                             hint='e.g. --brief "Autumn sale until 30 November" or --template "Hi {{first_name|there}}..."')
    out = Path(request.out) if request.out else settings.home / "exports" / f"{_slug(request.audience)}-{spec.name}.csv"
    # lazy: loads pandas (only rendering needs it)
    from tools.copywriting.audience import render_audience

    rendered = render_audience(ctx.warehouse, settings.home, request.audience, spec.name, fields, out,
                               fallbacks=request.fallbacks, preview_rows=request.preview,
                               raw_csv=request.raw_csv)
    return {**rendered, "template": fields, "checks": checks, "usage": usage}
