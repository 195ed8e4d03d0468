"""A tool is declared once, where it is written: ``@mara_tool(scope=..., examples=[...])``.

A tool is a module-level function that takes the :class:`~tools.context.ToolContext` first
(as ``ctx``) and returns a :class:`~tools.results.ToolOutput`; its docstring is what the model
reads, its type hints the argument schema. The decorator records it with

- ``scope``: what a caller must hold to use it (see :data:`SCOPES`);
- ``examples``: requests that ask for it, in users' words (the offline planner routes a message
  to the tool whose examples are most similar; ``route_offline=False`` for tools the planner
  reaches another way, whose examples then only document them).

:mod:`tools.registry` collects every declared tool (no hand-kept list) and wraps it for the
agent. This module imports nothing heavy, so capability modules can use it freely.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tools.context import ToolContext
    from tools.results import ToolOutput

#: Every scope a caller can hold; ``admin`` implies all of them.
# no "data:write": customer data is read-only to the assistant, so no tool may need that key scope
SCOPES = frozenset({"chat", "copy", "data:read", "kb:write", "admin"})

F = TypeVar("F", bound=Callable[..., Any])
_ORDER = count()


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A declared tool: its function (``ctx`` first) and what the decorator said about it."""

    name: str
    function: Callable[..., ToolOutput]
    scope: str
    examples: tuple[str, ...]
    route_offline: bool
    order: int

    @property
    def module(self) -> str:
        return str(self.function.__module__)


_DECLARED: dict[str, ToolSpec] = {}


def mara_tool(*, scope: str, examples: Sequence[str], route_offline: bool = True) -> Callable[[F], F]:
    """Declare the decorated function as a tool the agent offers (see the module docstring)."""
    if scope not in SCOPES:
        raise ValueError(f"Unknown tool scope {scope!r}; accepted: {', '.join(sorted(SCOPES))}.")
    phrasings = tuple(e.strip() for e in examples if e.strip())
    if not phrasings:
        raise ValueError("A tool needs routing examples: requests that ask for it, in users' words.")

    def declare(fn: F) -> F:
        params = list(inspect.signature(fn).parameters)
        if not params or params[0] != "ctx":
            raise TypeError(f"Tool {fn.__name__} must take the ToolContext first, as `ctx`.")
        known = _DECLARED.get(fn.__name__)
        if known is not None and known.module != fn.__module__:
            raise ValueError(f"Two tools are named {fn.__name__}: in {known.module} and {fn.__module__}.")
        _DECLARED[fn.__name__] = ToolSpec(fn.__name__, fn, scope, phrasings, route_offline, next(_ORDER))
        return fn

    return declare


def declared_tools(module: str | None = None) -> list[ToolSpec]:
    """The tools declared so far (of ``module`` only, when given), by module then position."""
    specs = [s for s in _DECLARED.values() if module is None or s.module == module]
    return sorted(specs, key=lambda s: (s.module, s.order))


def bind(spec: ToolSpec, ctx: ToolContext) -> Callable[..., ToolOutput]:
    """``spec``'s function with ``ctx`` bound: same name, docstring and arguments but ``ctx``."""
    fn = spec.function

    def bound(*args: Any, **kwargs: Any) -> ToolOutput:
        return fn(ctx, *args, **kwargs)

    signature = inspect.signature(fn)
    hints = _type_hints_but_ctx(fn)
    bound.__name__ = bound.__qualname__ = fn.__name__
    bound.__doc__ = fn.__doc__
    bound.__module__ = fn.__module__
    bound.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=hints.get(p.name, p.annotation))
                    for p in list(signature.parameters.values())[1:]],
        return_annotation=hints.get("return", signature.return_annotation),
    )
    bound.__annotations__ = {k: v for k, v in hints.items() if k != "ctx"}
    return bound


def _type_hints_but_ctx(fn: Callable[..., Any]) -> dict[str, Any]:
    """``fn``'s resolved type hints except ``ctx`` (whose class may be imported for typing only)."""
    stub = types.FunctionType(fn.__code__, fn.__globals__)  # type: ignore[attr-defined]
    stub.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k != "ctx"}
    return typing.get_type_hints(stub, include_extras=True)


def bound_tools(ctx: ToolContext, module: str) -> list[Callable[..., ToolOutput]]:
    """The tools declared in ``module``, bound to ``ctx`` (what ``data_tools(ctx)``... return)."""
    return [bind(spec, ctx) for spec in declared_tools(module)]
