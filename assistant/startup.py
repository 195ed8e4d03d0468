"""Start-up time: run a third-party package's eager ``__init__`` only when it is used.

LangChain's agent loop imports ``langsmith.run_trees`` (``langchain_core.tracers.schemas`` does,
unconditionally), which imports ``langsmith.types.run_select_field`` for one ``Literal``. Python
runs a package's ``__init__`` before any of its submodules, and ``langsmith.types/__init__.py``
re-exports ~180 generated pydantic models of LangSmith's REST API: ~0.35 s of a one-shot
``mara chat`` that never talks to LangSmith (``benchmarks/bench_cli.py`` shows it).

:func:`defer_package_init` registers such a package without running its ``__init__``: its
submodules import as usual (``__path__`` is set), and the first attribute that only the
``__init__`` defines (``langsmith.types.Run``, any name it re-exports) runs the real ``__init__`` in the
same module object, so every name is there as before. Nothing is stubbed or pinned: with
LangSmith tracing on, or for any code that reads the package's names, it loads in full.
``langgraph_sdk``'s ``__init__`` is the same case: ``langgraph.runtime`` imports
``langgraph_sdk.auth.types`` for one class, and the ``__init__`` imports the LangGraph Platform
client (httpx, websockets, its schemas; ~0.2 s CPU) that only a ``RemoteGraph`` uses.

:func:`long_lived_imports` is the other half: importing the agent stack allocates a few hundred
thousand objects (modules, classes, pydantic schemas) that live as long as the process, and
CPython's cyclic garbage collector scans them again and again while they are created (~280
collections) and once more at exit, ~0.5 s CPU of a one-shot ``mara chat`` that frees nothing.
It pauses automatic collection while they are built and then calls ``gc.freeze()`` (the
standard-library way to tell the collector that objects are permanent), so later collections
and the one at exit skip them. Garbage made later is collected as usual.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

__all__ = [
    "DEFERRED_PACKAGES",
    "defer_package_init",
    "defer_unused_package_inits",
    "is_deferred",
    "long_lived_imports",
]

log = logging.getLogger(__name__)

#: Packages whose ``__init__`` the agent loop imports but does not need.
DEFERRED_PACKAGES = ("langsmith.types", "langgraph_sdk")

_LOCK = threading.RLock()


def defer_package_init(name: str) -> bool:
    """Register package ``name`` with its ``__init__`` deferred to its first attribute read.

    Returns False (and changes nothing) when it is imported already, not installed, or not a
    package: a later release that moves things keeps working, only without the saving.
    """
    if name in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return False
    module = importlib.util.module_from_spec(spec)
    loaded = False

    def load_init(attr: str) -> Any:
        nonlocal loaded
        with _LOCK:
            if not loaded:
                loaded = True
                del module.__dict__["__getattr__"]  # the real __init__ defines the names
                log.debug("running the deferred __init__ of %s (for %s)", name, attr)
                spec.loader.exec_module(module)  # type: ignore[union-attr]
        try:
            return module.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None

    module.__dict__["__getattr__"] = load_init  # PEP 562: only for names not yet set
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)
    return True


def defer_unused_package_inits() -> None:
    """Apply :func:`defer_package_init` to :data:`DEFERRED_PACKAGES` (idempotent)."""
    for name in DEFERRED_PACKAGES:
        defer_package_init(name)


def is_deferred(module: ModuleType) -> bool:
    """True while ``module``'s ``__init__`` has not run yet (for tests and benchmarks)."""
    return "__getattr__" in module.__dict__ and getattr(module.__dict__["__getattr__"], "__name__", "") == "load_init"


@contextmanager
def long_lived_imports() -> Iterator[None]:
    """Build the process's long-lived objects (imports, the agent) without garbage collection, then freeze them.

    For a process entry point only (the CLI): the collector's state is process-wide. Automatic
    collection is back on afterwards if it was on before; objects made inside that later become
    cyclic garbage stay until exit (start-up makes little of it).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
