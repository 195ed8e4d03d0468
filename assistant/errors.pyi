"""Moved to foundation.errors; kept for one release; import from foundation."""

from foundation.errors import *  # noqa: F403
