"""assistant package.

``assistant.errors``, ``assistant.settings``, ``assistant.tokens`` and ``assistant.events``
moved to :mod:`foundation`; kept for one release; import from foundation. The old names are
aliases of the new modules (not files), so that git follows the renames when older branches
that edit the old files merge; ``assistant/*.pyi`` stubs keep type checkers informed.
"""

import sys as _sys

from assistant.startup import defer_unused_package_inits
from foundation import errors as _errors
from foundation import events as _events
from foundation import settings as _settings
from foundation import tokens as _tokens

# kept for one release; import from foundation
for _name, _module in (("errors", _errors), ("events", _events), ("settings", _settings), ("tokens", _tokens)):
    _sys.modules.setdefault(f"{__name__}.{_name}", _module)
    globals()[_name] = _module

# before anything imports LangChain: its tracing import chain runs langsmith.types' eager
# __init__ (~0.35 s of a one-shot `mara chat`), and langgraph.runtime langgraph_sdk's (~0.2 s),
# that the agent loop never reads
defer_unused_package_inits()
