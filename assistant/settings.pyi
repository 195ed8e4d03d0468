"""Moved to foundation.settings; kept for one release; import from foundation."""

from foundation.settings import *  # noqa: F403
