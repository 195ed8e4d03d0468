"""Architecture rules that a review would otherwise have to remember (fast, no I/O but source)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from assistant.planner.hooks import REPLY_HOOKS
from prompts import load_data
from tools.declare import SCOPES, ToolSpec, mara_tool
from tools.registry import required_scope, routing_examples, tool_specs

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("foundation", "assistant", "tools", "knowledge", "api", "prompts")


@pytest.mark.parametrize("spec", tool_specs(), ids=lambda s: s.name)
def test_every_tool_declares_a_scope_and_routing_examples(spec: ToolSpec) -> None:
    assert spec.scope in SCOPES and len(spec.examples) >= 3


#: The hand-kept table the declarations replaced (tools added later are not listed here).
OLD_TOOL_SCOPES = {
    "describe_data": "data:read", "query_data": "data:read", "run_sql": "data:read",
    "make_chart": "data:read", "rfm_segments": "data:read", "cluster_customers": "data:read",
    "predict_churn": "data:read", "train_propensity": "data:read",
    "customer_lifetime_value": "data:read", "save_audience": "data:read",
    "draft_copy": "copy", "search_knowledge": "chat",
}


def test_tools_keep_the_scopes_of_the_old_hand_kept_table() -> None:
    assert {name: required_scope(name) for name in OLD_TOOL_SCOPES} == OLD_TOOL_SCOPES


def test_an_unknown_tool_needs_admin() -> None:
    assert required_scope("drop_tables") == "admin"


def test_the_examples_file_lists_no_tool() -> None:
    """A tool's examples live in its declaration; the YAML keeps greetings and help only."""
    assert set(load_data("tool_examples")["intents"]).isdisjoint(s.name for s in tool_specs())


def test_the_offline_planner_words_every_tool_it_routes_to() -> None:
    assert set(routing_examples()) <= set(REPLY_HOOKS)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"scope": "data:write", "examples": ["delete customers"]}, ValueError),
        ({"scope": "data:read", "examples": [" "]}, ValueError),
    ],
)
def test_a_declaration_without_a_known_scope_or_examples_is_refused(kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        mara_tool(**kwargs)


def test_a_tool_must_take_the_context_first() -> None:
    def count_rows(table: str) -> None:
        """Count rows."""

    with pytest.raises(TypeError, match="ToolContext first"):
        mara_tool(scope="data:read", examples=["how many rows"])(count_rows)


def _modules() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


def test_foundation_imports_nothing_of_ours() -> None:
    ours = {"assistant", "tools", "knowledge", "api", "prompts"}
    imported = {
        (path.name, (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0])
        for path in (ROOT / "foundation").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {pair for pair in imported if pair[1] in ours}


def test_every_function_level_import_says_why_it_is_lazy() -> None:
    """Imports inside functions are for start-up time only, each under a ``# lazy: <reason>``."""
    missing = []
    for path in _modules():
        source = path.read_text()
        lines = source.splitlines()
        tree = ast.parse(source)
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        inside = {id(n) for fn in functions for n in ast.walk(fn) if n is not fn}
        for node in ast.walk(tree):
            for body in (getattr(node, a, None) for a in ("body", "orelse", "finalbody")):
                if not isinstance(body, list):
                    continue
                previous: ast.stmt | None = None
                for statement in body:
                    is_import = isinstance(statement, ast.Import | ast.ImportFrom) and id(statement) in inside
                    starts_run = is_import and not isinstance(previous, ast.Import | ast.ImportFrom)
                    if starts_run and not lines[statement.lineno - 2].strip().startswith("# lazy:"):
                        missing.append(f"{path.relative_to(ROOT)}:{statement.lineno}")
                    previous = statement
    assert not missing, f"function-level imports without a '# lazy: <reason>' line above: {missing}"
