"""Text from data or users, printed in the terminal as it is.

Warehouse cells, knowledge-base titles, chat questions and feedback comments come from
outside: printed as Rich markup, ``[/x]`` crashed the command (``MarkupError``) and
``[link=https://…]`` made a terminal hyperlink; escape sequences (``ESC ]8;;…``, ``ESC [2J``)
went to the terminal as is. :func:`plain` shows such text literally, without control characters.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

#: C0 controls but tab and newline, DEL and C1 controls (ESC starts terminal sequences).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(value: Any) -> Text:
    """``value`` as a Rich ``Text`` shown literally (no markup), control characters removed."""
    # lazy: rich is imported only when something is printed (CLI start-up time)
    from rich.text import Text

    return Text(_CONTROL.sub("", "" if value is None else str(value)))
