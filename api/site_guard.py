"""Which sites may reach the API: loopback ``Host`` names while it is open, no cross-site writes.

Two rules, checked before any route runs (pure ASGI middleware):

1. **While the API is open** (no API key exists yet, loopback server and client — see
   :mod:`api.auth`), a request must be addressed to a loopback name: ``localhost``,
   ``127.0.0.1`` or ``[::1]``, any port. Anything else gets **421 Misdirected Request**
   (``host_not_allowed``): the request reached this server under a name it does not serve.
   This defeats DNS rebinding, where a web page at ``evil.example`` re-points its own name to
   127.0.0.1 and then reads the open API "same-origin" (the browser sends
   ``Host: evil.example``). Once keys exist, a rebinding page has no key and no session
   cookie (cookies belong to the real host name), so the rule is not needed then.
2. **In every mode**, a state-changing request (POST, PUT, PATCH, DELETE) is refused with
   **403** (``cross_site_request``) when its ``Origin`` is another origin than the server's
   own (and not one listed in ``MARA_CORS_ORIGINS``), or, without ``Origin``, when
   ``Sec-Fetch-Site: cross-site``. Browsers set both headers themselves and pages cannot
   forge them; scripts, curl and SDKs send neither and pass. This stops a page from
   ``fetch(..., {mode: "no-cors"})``-posting into the open API (or riding a session cookie).

Slack's events endpoint (``/slack/...``) is exempt: Slack calls it server to server, through
whatever public name a tunnel or proxy gives it, and every request is signed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from api.errors import error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Host names the open API answers to (the port is ignored).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Signed server-to-server endpoints (Slack).
EXEMPT_PREFIXES = ("/slack/",)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def split_host(value: str) -> tuple[str, int | None]:
    """``("localhost", 8000)`` for ``"localhost:8000"``; IPv6 names keep their brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return value, None
        name, rest = value[: end + 1], value[end + 1 :]
    else:
        name, _, port_text = value.partition(":")
        rest = ":" + port_text if port_text else ""
    if rest.startswith(":") and rest[1:].isdigit():
        return name, int(rest[1:])
    return name, None if not rest else -1


def is_loopback_host(value: str) -> bool:
    """Whether a ``Host`` header names this machine's loopback interface."""
    name, port = split_host(value)
    return name in LOOPBACK_HOSTS and port != -1


def same_origin(origin: str, host: str) -> bool:
    """Whether ``Origin`` names the host the request was sent to (scheme-default ports agree).

    A ``Host`` without a port means the client used its scheme's default port; the scheme is
    the origin's (behind a TLS-terminating proxy the server itself sees ``http``).
    """
    parts = urlsplit(origin.strip())
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return False  # "null" (sandboxed frames, file://) and anything odd is another origin
    try:
        origin_port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return False
    origin_name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    name, port = split_host(host)
    if port == -1:
        return False
    return origin_name == name and origin_port == (port or _DEFAULT_PORTS[parts.scheme])


class SiteGuard:
    """Pure ASGI middleware applying the two rules of this module."""

    def __init__(self, app: ASGIApp, cors_origins: str = "") -> None:
        self.app = app
        listed = {o.strip().rstrip("/") for o in cors_origins.split(",") if o.strip()}
        self.any_origin = "*" in listed
        self.allowed_origins = frozenset(listed - {"*"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = request.headers.get("host", "")
        auth = getattr(getattr(scope.get("app"), "state", None), "auth", None)
        open_api = auth is not None and not auth.required_for(request)
        if open_api and not is_loopback_host(host):
            response = error_response(
                421,
                "host_not_allowed",
                f"This Mara API is open (no API key exists yet), so it only answers requests "
                f"addressed to localhost, 127.0.0.1 or [::1]; this one was addressed to "
                f"{host[:100]!r}. Use http://127.0.0.1:<port>, or create an API key "
                "('mara keys create --name NAME') to serve other host names.",
            )
            await response(scope, receive, send)
            return
        if scope.get("method") in STATE_CHANGING:
            refusal = self._cross_site(request, host, open_api)
            if refusal is not None:
                response = error_response(403, "cross_site_request", refusal)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _cross_site(self, request: Request, host: str, open_api: bool) -> str | None:
        """Why a state-changing request comes from another site, or ``None`` when it does not."""
        origin = request.headers.get("origin")
        if origin is not None:
            if same_origin(origin, host) or origin.rstrip("/") in self.allowed_origins:
                return None
            if self.any_origin and not open_api:  # MARA_CORS_ORIGINS=* needs a key anyway
                return None
            return (
                f"{request.method} from the web page at {origin[:100]!r} refused: Mara accepts "
                "changes only from its own web chat (same origin) and from origins listed in "
                "MARA_CORS_ORIGINS. Scripts and SDKs send no Origin header and are not affected."
            )
        if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
            return (
                f"{request.method} from another site refused (Sec-Fetch-Site: cross-site): Mara "
                "accepts changes only from its own web chat and from origins listed in "
                "MARA_CORS_ORIGINS."
            )
        return None
