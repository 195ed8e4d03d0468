"""One registry of the assistant's tools.

Capability modules declare their tools where they write them (``@mara_tool`` in
:mod:`tools.declare`); this module collects them and wraps each into a LangChain tool (schema from type hints, description
from the docstring) whose content is the token-bounded text for the model and
whose artifact carries tables, charts and citations for front ends.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

import tools
from foundation.scopes import has_every_scope
from foundation.tokens import truncate_to_budget
from tools.context import ToolContext
from tools.declare import ToolSpec, bind, declared_tools
from tools.progress import running_tool
from tools.results import ToolOutput

ToolFunction = Callable[..., ToolOutput]


def wrap_tool(fn: ToolFunction, *, token_budget: int) -> BaseTool:
    """A LangChain tool around ``fn``; its text is cut to ``token_budget`` tokens with a note."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        with running_tool(fn.__name__):
            output = fn(*args, **kwargs)
        return truncate_to_budget(output.text, token_budget), output.to_artifact()

    return StructuredTool.from_function(
        run,
        name=fn.__name__,
        description=inspect.cleandoc(fn.__doc__ or fn.__name__),
        response_format="content_and_artifact",
    )


def load_tool_modules() -> None:
    """Import every module under ``tools/`` that declares a tool (``@mara_tool``), once.

    Modules are found by their source text, so the registry never keeps a list by hand and
    modules without tools (the heavy modelling code among them) are not imported here.
    """
    for name in _tool_modules():
        importlib.import_module(name)


@functools.cache
def _tool_modules() -> tuple[str, ...]:
    found = []
    for info in pkgutil.walk_packages(tools.__path__, "tools."):
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec is not None else None
        if origin and origin.endswith(".py") and _DECORATOR in Path(origin).read_text(encoding="utf-8"):
            found.append(info.name)
    return tuple(found)


_DECORATOR = "@" + "mara_tool("  # split so that this module does not match itself


def tool_specs() -> list[ToolSpec]:
    """Every declared tool, by module then position in it."""
    load_tool_modules()
    return declared_tools()


def tool_functions(ctx: ToolContext) -> list[ToolFunction]:
    """Every tool bound to ``ctx``, in a stable order."""
    return [bind(spec, ctx) for spec in tool_specs()]


def build_tools(ctx: ToolContext) -> list[BaseTool]:
    """The LangChain tools the agent offers to its model."""
    budget = ctx.settings.tool_result_tokens
    return [wrap_tool(fn, token_budget=budget) for fn in tool_functions(ctx)]


def routing_examples() -> dict[str, list[str]]:
    """Example requests per tool that the offline planner routes from a message."""
    return {spec.name: list(spec.examples) for spec in tool_specs() if spec.route_offline}


# --- permissions ----------------------------------------------------------------------------------


def required_scope(tool_name: str) -> str:
    """The scope a caller needs to use ``tool_name`` (its declaration's; ``admin`` if unknown)."""
    spec = next((s for s in tool_specs() if s.name == tool_name), None)
    return spec.scope if spec is not None else "admin"


def tool_allowed(tool_name: str, scopes: frozenset[str] | set[str] | None) -> bool:
    """Whether a caller holding ``scopes`` may use the tool (``admin`` = every scope; ``None``,
    scopes nobody named, = none)."""
    if has_every_scope(scopes):
        return True
    return scopes is not None and required_scope(tool_name) in scopes
