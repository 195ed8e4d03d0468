"""httpx's one-shot request functions with a timeout fit for a live ``mara serve`` under test.

httpx waits 5 s by default; a server's first chat turn on a 2-worker CI box can take longer
(a fresh workspace embeds, profiles and plans), and that made tests fail on time, not on
behaviour. Cookies are not kept between calls, as with ``httpx.post``.
"""

from __future__ import annotations

import functools

import httpx

TIMEOUT_S = 30.0

get = functools.partial(httpx.get, timeout=TIMEOUT_S)
post = functools.partial(httpx.post, timeout=TIMEOUT_S)
delete = functools.partial(httpx.delete, timeout=TIMEOUT_S)
patch = functools.partial(httpx.patch, timeout=TIMEOUT_S)
put = functools.partial(httpx.put, timeout=TIMEOUT_S)
