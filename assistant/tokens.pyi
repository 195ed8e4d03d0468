"""Moved to foundation.tokens; kept for one release; import from foundation."""

from foundation.tokens import *  # noqa: F403
