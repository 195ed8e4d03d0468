"""Moved to foundation.events; kept for one release; import from foundation."""

from foundation.events import *  # noqa: F403
