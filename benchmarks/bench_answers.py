"""Answer accuracy per question set: right / wrong / declined, development vs held-out, and routing.

Runs every question set (YAML with ``questions:``) under a folder — default tests/data/answers —
through ``assistant.evaluation.answers.run_question_set`` (the real agent loop, each set in a
throw-away workspace loaded with Mara's own loader; truths on plain DuckDB), and every routing
set (YAML with ``requests:``) through ``run_routing_set`` (offline planner, demo workspace).
Sets under a ``heldout/`` folder are reported separately: nobody tunes on them.

    python benchmarks/bench_answers.py [FOLDER] [--llm-scripted] [--no-routing] [--json]

``--llm-scripted`` also runs each set in LLM mode against the scripted OpenAI-compatible server
as a plumbing check: the scripted "model" is an oracle that sends the entry's truth SQL through
``run_sql`` and repeats the tool result (or declines when the truth is a decline, or the SQL
fails on Mara's warehouse: a truth casting money text that Mara's loader already made numeric). What it loses
is lost in the LLM path itself (HTTP, tool calling, SQL safety, PII masking, result summaries,
scoring); it says nothing about a real model's quality.

Prints a markdown table to paste in the README.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def find_sets(folder: Path) -> tuple[list[Path], list[Path]]:
    """(question sets, routing sets) under ``folder``, sorted by path."""
    questions, routing = [], []
    for path in sorted(folder.rglob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            print(f"skipping {path}: not valid YAML", file=sys.stderr)
            continue
        if isinstance(raw, dict) and isinstance(raw.get("questions"), list):
            questions.append(path)
        elif isinstance(raw, dict) and isinstance(raw.get("requests"), list):
            routing.append(path)
    return questions, routing


def split_of(path: Path, folder: Path) -> str:
    return "held-out" if "heldout" in path.relative_to(folder).parts else "development"


def oracle_responder(path: Path) -> Any:
    """A scripted-server responder that answers each question of the set at ``path`` with its truth SQL."""
    from assistant.testing import ScriptedReply, ScriptedToolCall

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    truths: dict[str, list[dict[str, Any]]] = {}
    for item in raw.get("questions", []):
        if isinstance(item, dict) and isinstance(item.get("truth"), dict):
            truths.setdefault(str(item.get("question", "")).strip(), []).append(item["truth"])

    def respond(body: dict[str, Any]) -> ScriptedReply:
        messages = body.get("messages", [])
        last = messages[-1] if messages else {}
        if last.get("role") == "tool":
            result = str(last.get("content", ""))
            if result.startswith("Error"):  # e.g. a truth that casts money text Mara's loader already made numbers
                return ScriptedReply(content=f"I couldn't answer that: {result}")
            return ScriptedReply(content=f"Here is what the data says:\n\n{result}")
        question = str(last.get("content", "")).strip()
        queue = truths.get(question) or [{}]
        truth = queue.pop(0) if len(queue) > 1 else queue[0]
        if truth.get("sql") and not truth.get("decline"):
            return ScriptedReply(tool_calls=[ScriptedToolCall("run_sql", {"sql": str(truth["sql"])})])
        if "value" in truth:
            return ScriptedReply(content=f"It is {truth['value']}.")
        return ScriptedReply(content="Your data does not record that, so I can't answer it.")

    return respond


def run_sets(paths: list[Path], folder: Path, mode: str) -> list[dict[str, Any]]:
    from assistant.evaluation.answers import run_question_set
    from foundation.settings import MaraSettings

    rows = []
    for path in paths:
        start = time.perf_counter()
        if mode == "offline":
            result = run_question_set(path, mode="offline", settings=MaraSettings(_env_file=None))  # type: ignore[call-arg]
        else:
            from assistant.chat_models import reset_breakers
            from assistant.testing import ScriptedOpenAIServer

            reset_breakers()
            with ScriptedOpenAIServer(oracle_responder(path)) as server:
                settings = MaraSettings(_env_file=None, llm_base_url=server.base_url, llm_model="scripted-oracle",  # type: ignore[call-arg]
                                        llm_max_retries=0, llm_fallback_offline=False)
                result = run_question_set(path, mode="llm", settings=settings)
        totals = result.totals()
        rows.append({"split": split_of(path, folder), "set": result.name, "mode": "offline" if mode == "offline" else "llm-scripted",
                     "file": str(path.relative_to(folder)), **totals, "seconds": round(time.perf_counter() - start, 1),
                     "problems": result.problems})
        print(f"{rows[-1]['mode']:>12} {result.name:<28} accuracy {totals['accuracy']:5.1f}%  wrong {totals['wrong']:3}  "
              f"declined {totals['declined']:3}  invalid {totals['invalid']}", file=sys.stderr)
    return rows


def run_routing(paths: list[Path], folder: Path) -> list[dict[str, Any]]:
    from assistant.evaluation.routing import run_routing_set

    rows = []
    for path in paths:
        report = run_routing_set(path)
        totals = report.totals()
        rows.append({"split": split_of(path, folder), "set": report.name, "file": str(path.relative_to(folder)),
                     "requests": totals["requests"], "right": totals["right"], "accuracy": totals["accuracy"],
                     "per_capability": {k: v["accuracy"] for k, v in totals["per_capability"].items()}})
        print(f"     routing {report.name:<28} accuracy {totals['accuracy']:5.1f}% ({totals['right']}/{totals['requests']})",
              file=sys.stderr)
    return rows


def markdown(answer_rows: list[dict[str, Any]], routing_rows: list[dict[str, Any]]) -> str:
    lines = ["| split | set | mode | questions | right | wrong | declined | invalid | accuracy | p50 s |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for split in ("development", "held-out"):
        mine = [r for r in answer_rows if r["split"] == split]
        for r in mine:
            lines.append(f"| {split} | {r['set']} | {r['mode']} | {r['scored']} | {r['right']} | {r['wrong']} | "
                         f"{r['declined']} | {r['invalid']} | {r['accuracy']:.1f}% | {_secs(r['latency_p50_s'])} |")
        for mode in sorted({r["mode"] for r in mine}, key=lambda m: m != "offline"):
            part = [r for r in mine if r["mode"] == mode]
            scored = sum(r["scored"] for r in part)
            right, wrong, declined = (sum(r[k] for r in part) for k in ("right", "wrong", "declined"))
            if scored:
                lines.append(f"| **{split}** | **all {len(part)} sets** | {mode} | {scored} | {right} | {wrong} | {declined} | "
                             f"{sum(r['invalid'] for r in part)} | **{100 * right / scored:.1f}%** | |")
    if routing_rows:
        lines += ["", "| split | routing set | requests | right | accuracy |", "|---|---|---:|---:|---:|"]
        for r in routing_rows:
            lines.append(f"| {r['split']} | {r['set']} | {r['requests']} | {r['right']} | {r['accuracy']:.1f}% |")
    return "\n".join(lines)


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "tests" / "data" / "answers")
    parser.add_argument("--llm-scripted", action="store_true", help="Also run LLM mode against the scripted oracle server.")
    parser.add_argument("--no-routing", action="store_true", help="Skip routing sets.")
    parser.add_argument("--json", action="store_true", help="Print the figures as one JSON document instead of markdown.")
    args = parser.parse_args()
    folder = args.folder.resolve()
    question_sets, routing_sets = find_sets(folder)
    if not question_sets and not routing_sets:
        sys.exit(f"No question or routing sets under {folder}.")
    answer_rows = run_sets(question_sets, folder, "offline")
    if args.llm_scripted:
        answer_rows += run_sets(question_sets, folder, "llm")
    routing_rows = [] if args.no_routing else run_routing(routing_sets, folder)
    if args.json:
        print(json.dumps({"answers": answer_rows, "routing": routing_rows}, default=str))
    else:
        print(markdown(answer_rows, routing_rows))


if __name__ == "__main__":
    main()
