"""Copy drafting speed: offline generation and validation per variant, 100k SMS rendering.

Generation cycles through audience profiles and the offline languages (en, de, fr, es);
validation includes the brand checks (banned words, claims, disclaimers...). Side by side for rendering: Mara's vectorised pandas renderer against the obvious
alternative, a Python loop with ``re.sub`` per customer. Budgets from issue 6: offline
generation ≤ 50 ms per variant, validation ≤ 2 ms per variant, 100,000 SMS ≤ 10 s.

    python benchmarks/bench_copy.py [--customers 100000] [--rounds 3]
    python benchmarks/bench_copy.py --rubric [--home WORKSPACE] [--briefs FILE]   # copy quality rubric (issue 20)

``--rubric`` drafts every brief of tests/data/copy_briefs.yaml for every channel offline through
``run_copy`` (a field-level request only on its channel) and prints the per-criterion table of
``tools/copywriting/rubric.py``; without ``--home`` it builds ``mara demo --customers 300`` in a
temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.copywriting import check_variant, draft_copy, get_channel, load_channels  # noqa: E402
from tools.copywriting.brand import sample_brand  # noqa: E402
from tools.copywriting.channels import MERGE_RE  # noqa: E402
from tools.copywriting.personalize import render_for_customers  # noqa: E402
from tools.copywriting.profile import AudienceProfile  # noqa: E402

BRIEFS = [
    "Autumn sale: 20% off selected jackets, tents and sleeping bags until 30 November",
    "Win back lapsed customers with code COMEBACK15 for 15% off one full-price order",
    "Announce the new Ridgeline 2P tent: 1.9 kg, three seasons",
    "Trail Club members get free express shipping on every order",
    "Leave No Trace tips for autumn hikes",
]
SEGMENTS = [None, "At Risk", "Champions", "New"]
LANGUAGES = ["en", "de", "fr", "es"]
PROFILES = [
    None,
    AudienceProfile(name="At Risk", size=1840, top_categories=["Jackets"], avg_order_value=310.0,
                    baseline_order_value=180.0, traits=["lapsed", "high-spend"]),
    AudienceProfile(name="New", size=920, top_categories=["Apparel"], avg_order_value=85.0,
                    baseline_order_value=180.0, traits=["recent", "low-spend"]),
]
NAMES = ["Maya", "Jonas", "Zoë", "Łucja", "", "Ana", "Bartholomew-Alexander", "Sam"]


def bench_generation(rounds: int) -> dict[str, float]:
    brand = sample_brand()
    gen_ms: list[float] = []
    check_ms: list[float] = []
    for _ in range(rounds):
        for channel in load_channels():
            spec = get_channel(channel)
            for i, brief in enumerate(BRIEFS):
                start = time.perf_counter()
                result = draft_copy(channel, brief, variants=3, segment=SEGMENTS[i % 4], brand=brand,
                                    profile=PROFILES[i % 3], language=LANGUAGES[i % 4])
                gen_ms.append((time.perf_counter() - start) * 1000 / 3)
                for v in result.variants:
                    fields = {k: val for k, val in v.items() if k != "checks"}
                    start = time.perf_counter()
                    check_variant(spec, fields, brand)
                    check_ms.append((time.perf_counter() - start) * 1000)
    return {
        "generation_ms_per_variant_median": statistics.median(gen_ms),
        "generation_ms_per_variant_p95": float(np.percentile(gen_ms, 95)),
        "validation_ms_per_variant_median": statistics.median(check_ms),
        "validation_ms_per_variant_p95": float(np.percentile(check_ms, 95)),
    }


def loop_render(template: str, rows: pd.DataFrame) -> list[str]:
    """The obvious alternative: one ``re.sub`` per customer."""
    out = []
    for record in rows.to_dict("records"):
        def sub(m: re.Match[str], record: dict = record) -> str:
            value = record.get(m.group(1))
            return str(value) if value else (m.group(2) or "")
        out.append(MERGE_RE.sub(sub, template))
    return out


def bench_render(customers: int) -> dict[str, float]:
    rng = np.random.default_rng(1)
    rows = pd.DataFrame({
        "customer_id": np.arange(customers),
        "first_name": rng.choice(NAMES, customers),
        "country": rng.choice(["UK", "DE", "US", "SE"], customers),
    })
    text = draft_copy("sms", BRIEFS[0], variants=1, segment="At Risk").variants[0]["text"]
    start = time.perf_counter()
    rendered = render_for_customers({"text": text}, rows, gsm7=True)
    vectorised = time.perf_counter() - start
    start = time.perf_counter()
    loop_render(text, rows)
    loop = time.perf_counter() - start
    assert len(rendered) == customers
    return {"customers": customers, "render_s": vectorised, "loop_render_s": loop,
            "speedup_vs_loop": loop / vectorised if vectorised else float("inf"),
            "max_rendered_chars": int(rendered["text"].str.len().max())}


def bench_rubric(home: Path, briefs_file: Path | None = None) -> dict[str, Any]:
    """The copy quality rubric over every brief x channel, drafted offline in workspace ``home``."""
    from foundation.settings import MaraSettings
    from tools.context import ToolContext
    from tools.copywriting import rubric
    from tools.copywriting.service import CopyRequest, run_copy

    main_set = rubric.load_rubric_set(ROOT / "tests" / "data" / "copy_briefs.yaml")
    brief_set = main_set
    if briefs_file is not None:  # another set (e.g. copy_briefs_extra.yaml): the main set's markers, facts, words
        extra = rubric.load_rubric_set(briefs_file)
        brief_set = rubric.RubricSet(extra.briefs, extra.instruction_markers or main_set.instruction_markers,
                                     (*main_set.facts, *extra.facts),
                                     {**main_set.category_words, **extra.category_words})
    channels = load_channels()
    context = rubric.context_from_workspace(home, brief_set, {n: [f.name for f in c.fields] for n, c in channels.items()})
    settings = MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]
    ctx = ToolContext(settings)

    def draft(brief: rubric.Brief, channel: str) -> list[dict[str, Any]]:
        request = CopyRequest(channel=channel, brief=brief.brief, segment=brief.segment,
                              language=brief.language, offline=True)
        return run_copy(request, settings, ctx=ctx).variants

    start = time.perf_counter()
    results = rubric.run_rubric(brief_set.briefs, list(channels), draft, context)
    seconds = time.perf_counter() - start
    print(rubric.format_table(results))
    passed, total = rubric.variants_passing_all(results)
    return {"seconds": round(seconds, 1), "cases": len(results), "variants_passing_all": round(passed / total, 4),
            **{name: round(s.rate, 4) for name, s in rubric.score(results).items()}}


def demo_workspace(home: Path) -> Path:
    """``mara demo --customers 300`` in ``home`` (data, brand knowledge, brand.yaml)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARA_", "OPENAI_"))}
    subprocess.run([sys.executable, "-m", "assistant.cli", "demo", "--customers", "300", "--as-of", "2026-10-31", "--json"],
                   env={**env, "MARA_HOME": str(home), "PYTHONPATH": str(ROOT)}, check=True,
                   stdout=subprocess.DEVNULL, timeout=600)
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rubric", action="store_true", help="print the copy quality rubric table instead")
    parser.add_argument("--home", type=Path, help="workspace for --rubric (default: a fresh 300-customer demo)")
    parser.add_argument("--briefs", type=Path, help="another brief file for --rubric (default: tests/data/copy_briefs.yaml)")
    args = parser.parse_args()
    if args.rubric:
        with tempfile.TemporaryDirectory() as tmp:
            home = args.home or demo_workspace(Path(tmp) / "ws")
            print(json.dumps(bench_rubric(home, args.briefs)))
        return
    draft_copy("sms", BRIEFS[0])  # warm-up: YAML, brand docs, compiled patterns
    figures = {**bench_generation(args.rounds), **bench_render(args.customers)}
    for key, value in figures.items():
        print(f"{key:36s} {value:,.3f}" if isinstance(value, float) else f"{key:36s} {value:,}")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
