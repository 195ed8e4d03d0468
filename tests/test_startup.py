"""Start-up time: a one-shot offline `mara chat` imports only what answering needs.

Every module imported at start is paid on every CLI call; the heavy ones below belong to
other commands or tools (modelling, copy drafting, feedback analysis, the API, LLM SDKs)
and must stay behind ``# lazy:`` imports so the one-shot answer stays fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

NOT_FOR_A_DATA_QUESTION = (
    "pandas",  # modelling and recommendations (tools.model_data)
    "sklearn",
    "scipy",
    "torch",
    "sentence_transformers",
    "chromadb",
    "vl_convert",  # chart PNGs
    "openai",  # offline mode never calls an LLM
    "slack_sdk",
    "api",
    "tools.copywriting.brief",  # the copy brief reader compiles dozens of regexes
    "tools.copywriting.service",
    "tools.feedback.analysis",
)

# Runs the real CLI in-process, then reports which of the heavy modules were imported.
PROBE = """
import atexit, json, runpy, sys
heavy = json.loads(sys.argv[1])
atexit.register(lambda: sys.stderr.write("LOADED=" + json.dumps([m for m in heavy if m in sys.modules]) + "\\n"))
sys.argv = ["mara", "chat", "How many customers do we have?", "--json"]
runpy.run_module("assistant.cli", run_name="__main__")
"""


def one_shot_chat(home: Path) -> tuple[str, list[str]]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MARA_", "OPENAI_"))}
    environment["MARA_HOME"] = str(home)
    run = subprocess.run([sys.executable, "-c", PROBE, json.dumps(NOT_FOR_A_DATA_QUESTION)], capture_output=True,
                         text=True, env=environment, timeout=120, cwd=home.parent)
    assert run.returncode == 0, run.stderr
    loaded = next(line for line in run.stderr.splitlines() if line.startswith("LOADED="))
    return run.stdout, json.loads(loaded.removeprefix("LOADED="))


def test_one_shot_offline_chat_answers_without_importing_other_commands_modules(workspace: Path) -> None:
    reply, loaded = one_shot_chat(workspace)
    assert "**6** customers" in json.loads(reply)["reply"]
    assert loaded == []
