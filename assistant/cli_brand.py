"""``mara brand show|suggest``: the workspace's brand profile (``$MARA_HOME/brand.yaml``).

Mount with ``app.add_typer(brand_app, name="brand")`` in :mod:`assistant.cli`.

- ``mara brand show [--json]`` validates and prints the profile the copy tool uses
  (``{"path", "exists", "profile"}``; without a ``brand.yaml`` the sample brand's profile is
  shown and ``exists`` is false).
- ``mara brand suggest [PATH...] [--write] [--force] [--offline] [--json]`` drafts a profile
  from brand documents (default: the ingested sources still on disk, else the sample brand):
  rules-based offline, improved by the configured chat model in LLM mode. ``--write`` saves
  it as ``brand.yaml`` (``--force`` to replace an existing one).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from knowledge.sample import sample_brand_path

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]

brand_app = typer.Typer(
    help="Brand profile (brand.yaml): show it, or suggest one from brand documents.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)


def _settings() -> Any:
    # lazy: pydantic, pydantic_settings load slowly; only this path needs them
    from foundation.settings import get_settings

    return get_settings()


def _emit(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")


@brand_app.command("show")
def show(as_json: JsonFlag = False) -> None:
    """Show the brand profile the copy tool uses (validated)."""
    # lazy: pydantic, yaml load slowly; only this path needs them
    from knowledge.brand import dump_profile, load_profile, profile_path, suggest_profile

    settings = _settings()
    path = profile_path(settings.home)
    exists = path.is_file()
    profile = load_profile(path) if exists else suggest_profile([sample_brand_path()])
    if as_json:
        _emit({"path": str(path), "exists": exists, "profile": profile.model_dump(mode="json")})
        return
    if not exists:
        sys.stderr.write(f"No {path}; showing the sample brand's profile. "
                         "Create one with 'mara brand suggest --write' or 'mara demo'.\n")
    sys.stdout.write(dump_profile(profile))


def default_sources(settings: Any) -> list[Path]:
    """Ingested sources that are still files on disk, else the sample brand folder."""
    paths: list[Path] = []
    if settings.chroma_host or settings.chroma_path.exists():
        try:
            # lazy: sqlglot loads slowly; only this path needs it
            from tools.context import open_knowledge

            for info in open_knowledge(settings).sources():
                candidate = Path(info.source)
                if candidate.is_file():
                    paths.append(candidate)
        except Exception as exc:  # an unreachable store: fall back to the sample documents
            sys.stderr.write(f"Warning: knowledge base not readable ({exc}); using the sample brand.\n")
    return paths or [sample_brand_path()]


@brand_app.command("suggest")
def suggest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Brand documents or folders (default: ingested sources).")] = None,
    write: Annotated[bool, typer.Option("--write", help="Save the suggestion as brand.yaml in the workspace.")] = False,
    force: Annotated[bool, typer.Option("--force", help="With --write, replace an existing brand.yaml.")] = False,
    offline: Annotated[bool, typer.Option("--offline", help="Rules only, even when an LLM is configured.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Draft a brand profile from brand documents (rules offline; LLM-assisted when configured)."""
    # lazy: pydantic, yaml load slowly; only this path needs them
    from knowledge.brand import (
        BrandProfileError,
        dump_profile,
        profile_path,
        save_profile,
        suggest_profile,
    )

    settings = _settings()
    sources = list(paths) if paths else default_sources(settings)
    missing = [str(p) for p in sources if not Path(p).exists()]
    if missing:
        raise BrandProfileError(f"No such file or folder: {', '.join(missing)}.")
    target = profile_path(settings.home)
    if write and target.exists() and not force:
        raise BrandProfileError(f"{target} already exists.", hint="Add --force to replace it, or edit it by hand.")
    warnings: list[str] = []
    usage: dict[str, Any] = {"mode": "offline", "calls": 0}
    if not offline and settings.resolved_mode == "llm":
        # lazy: pydantic, pydantic_settings, yaml load slowly; only this path needs them
        from assistant.chat_models import make_chat_model
        from knowledge.brand import suggest_profile_llm

        profile, usage, warnings = suggest_profile_llm(make_chat_model(settings), sources)
    else:
        profile = suggest_profile(sources)
    written = str(save_profile(profile, target)) if write else None
    for warning in warnings:
        sys.stderr.write(f"Warning: {warning}\n")
    if as_json:
        _emit({"profile": profile.model_dump(mode="json"), "sources": [str(s) for s in sources],
               "mode": usage.get("mode"), "usage": usage, "warnings": warnings, "written": written})
        return
    sys.stdout.write(dump_profile(profile))
    sys.stderr.write(f"Saved to {written}\n" if written else "Not saved; add --write to save it as brand.yaml.\n")
