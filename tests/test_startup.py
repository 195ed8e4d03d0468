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
    "langsmith.types.run",  # LangSmith's REST models: langsmith.types' __init__ stays deferred
    "langgraph_sdk.client",  # the LangGraph Platform client: langgraph_sdk's __init__ stays deferred
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


DEFERRED = """
import sys
import assistant.agent
import langsmith.types as types
from assistant.startup import is_deferred
assert is_deferred(types) and "langsmith.types.run" not in sys.modules
assert types.run_select_field.RunSelectField  # its submodules import as usual
from langsmith.types import Run  # the first name only __init__ defines runs the real __init__
assert not is_deferred(types) and Run.__module__ == "langsmith.types.run" and types.Dataset.__name__ == "Dataset"
try:
    types.no_such_name
except AttributeError:
    pass
else:
    raise SystemExit("an unknown name must still raise AttributeError")
"""


def test_langsmith_types_init_runs_only_when_a_name_of_it_is_read() -> None:
    run = subprocess.run([sys.executable, "-c", DEFERRED], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


SDK_DEFERRED = """
import assistant.agent
import langgraph_sdk
from assistant.startup import is_deferred
assert is_deferred(langgraph_sdk)
from langgraph_sdk import Auth, get_client  # what only the __init__ defines is there when read
assert not is_deferred(langgraph_sdk) and Auth.__name__ == "Auth" and callable(get_client)
"""


def test_langgraph_sdk_init_runs_only_when_a_name_of_it_is_read() -> None:
    run = subprocess.run([sys.executable, "-c", SDK_DEFERRED], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


# What the CLI builds at start-up (the agent stack) is frozen: later collections, and the one at exit, skip it.
LONG_LIVED = """
import gc
from assistant.startup import long_lived_imports
{before}
frozen = gc.get_freeze_count()
with long_lived_imports():
    print("collecting while building:", gc.isenabled())
    built = [[n] for n in range(1000)]
print("frozen:", gc.get_freeze_count() - frozen >= 1000)
print("collecting after:", gc.isenabled())
"""


def long_lived(before: str = "") -> list[str]:
    run = subprocess.run([sys.executable, "-c", LONG_LIVED.format(before=before)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def test_no_garbage_collection_runs_while_start_up_builds() -> None:
    assert "collecting while building: False" in long_lived()


def test_what_start_up_built_is_frozen() -> None:
    assert "frozen: True" in long_lived()


def test_garbage_collection_is_back_on_after_start_up() -> None:
    assert "collecting after: True" in long_lived()


def test_garbage_collection_switched_off_by_the_caller_stays_off() -> None:
    assert "collecting after: False" in long_lived(before="gc.disable()")


def test_a_missing_or_loaded_package_is_left_alone() -> None:
    from assistant.startup import defer_package_init

    assert defer_package_init("json") is False  # imported already
    assert defer_package_init("no_such_package_mara") is False
