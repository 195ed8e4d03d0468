"""One registry of the assistant's tools.

Capability modules expose plain functions that return :class:`ToolOutput`; this
module wraps each into a LangChain tool (schema from type hints, description
from the docstring) whose content is the token-bounded text for the model and
whose artifact carries tables, charts and citations for front ends.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from foundation.tokens import truncate_to_budget
from tools.context import ToolContext
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


def tool_functions(ctx: ToolContext) -> list[ToolFunction]:
    """Every capability's tool functions bound to ``ctx``, in a stable order."""
    from tools.charts import chart_tools
    from tools.copywriting.tool import copy_tools
    from tools.data import data_tools
    from tools.knowledge_search import knowledge_tools
    from tools.modeling_tools import modeling_tools

    return [
        *data_tools(ctx), *chart_tools(ctx), *modeling_tools(ctx), *copy_tools(ctx), *knowledge_tools(ctx),
    ]


def build_tools(ctx: ToolContext) -> list[BaseTool]:
    """The LangChain tools the agent offers to its model."""
    budget = ctx.settings.tool_result_tokens
    return [wrap_tool(fn, token_budget=budget) for fn in tool_functions(ctx)]


# --- permissions ----------------------------------------------------------------------------------

#: Every scope a caller can hold; ``admin`` implies all of them.
SCOPES = frozenset({"chat", "copy", "data:read", "kb:write", "admin"})

#: The scope a tool needs. Tools not listed need ``admin`` (deny by default).
TOOL_SCOPES: dict[str, str] = {
    "describe_data": "data:read",
    "query_data": "data:read",
    "run_sql": "data:read",
    "make_chart": "data:read",
    "rfm_segments": "data:read",
    "cluster_customers": "data:read",
    "predict_churn": "data:read",
    "train_propensity": "data:read",
    "customer_lifetime_value": "data:read",
    "save_audience": "data:read",
    "draft_copy": "copy",
    "search_knowledge": "chat",
}


def required_scope(tool_name: str) -> str:
    """The scope a caller needs to use ``tool_name``."""
    return TOOL_SCOPES.get(tool_name, "admin")


def tool_allowed(tool_name: str, scopes: frozenset[str] | set[str] | None) -> bool:
    """Whether a caller holding ``scopes`` may use the tool (``None`` = every scope)."""
    if scopes is None or "admin" in scopes:
        return True
    return required_scope(tool_name) in scopes
