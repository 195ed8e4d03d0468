"""API keys on ``/v1/*``: who is calling, what they may do, and how often.

**When a key is needed.** With ``MARA_API_AUTH=required`` always. With the default ``auto``,
the API stays open (today's out-of-the-box behaviour, so ``make run`` just works) only while
the workspace has no API key at all *and* the server is configured for a loopback host
(``MARA_HOST``) *and* the request arrives over loopback; once ``mara keys create`` made a key,
or the server is reached from another machine, every ``/v1`` request needs one.

**Credentials**, first found wins: ``Authorization: Bearer <key>``, ``X-API-Key: <key>``, or the
web chat's HTTP-only session cookie (``POST /v1/auth/session`` with a key sets it; it carries
the key id, an expiry, a session id and an HMAC signature made with a per-workspace secret; the
session id must still be recorded in ``keys.sqlite``, so signing out (``DELETE``) ends the
session on the server, and a revoked key ends its sessions too).

**Scopes** (:data:`assistant.keys.SCOPES`): a route needs one of its scopes; ``admin`` has all.
Missing → 403 naming the scope. **Rate limit**: a token bucket per key of
``MARA_RATE_LIMIT_PER_MINUTE`` requests, refilled continuously → 429 with ``Retry-After``
(sign-in attempts are limited per client address; the open local API is not limited).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.errors import AUTH_RESPONSES, ERROR_RESPONSES, ApiError
from api.shared_state import SharedState
from assistant.keys import SCOPES, KeyInfo, KeyStore
from foundation.settings import MaraSettings

SESSION_COOKIE = "mara_session"
HOW_TO_GET_A_KEY = (
    "Create one on the server with 'mara keys create --name NAME --json' and send it as "
    "'Authorization: Bearer <key>' (or 'X-API-Key: <key>'); the web chat signs in with it."
)

_bearer = HTTPBearer(auto_error=False, description="An API key from `mara keys create`.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="Web-chat session (POST /v1/auth/session)."
)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: a key, or ``local`` when the API is open."""

    name: str
    scopes: tuple[str, ...]
    key_id: str | None = None
    via: str = "open"  # "bearer", "header", "session" or "open"

    @property
    def actor(self) -> str:
        """The audit trail's name for the caller."""
        return f"key:{self.name}" if self.key_id else "api:local"

    @property
    def anonymous(self) -> bool:
        return self.key_id is None


OPEN_CALLER = Caller(name="local", scopes=SCOPES)


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class TokenBuckets:
    """One token bucket per caller: ``per_minute`` capacity, refilled at ``per_minute``/60 s.

    With ``shared`` (``MARA_REDIS_URL``) the buckets live in Redis, shared by every worker.
    """

    def __init__(self, per_minute: int, shared: SharedState | None = None) -> None:
        self.per_minute = per_minute
        self.shared = shared
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str) -> float:
        """Take a token; 0.0 when allowed, else the seconds until one is available."""
        if self.per_minute <= 0:
            return 0.0
        if self.shared is not None:
            return self.shared.take(f"api:{who}", self.per_minute, self.per_minute)
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(who, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - stamp) * rate)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            if len(self._buckets) > 10_000:  # forget full buckets of idle callers
                cutoff = now - 60.0 * 2
                self._buckets = {k: v for k, v in self._buckets.items() if v[1] > cutoff}
            return (1.0 - tokens) / rate


class Auth:
    """Per-app auth state: the workspace's key store, the session secret, rate buckets."""

    def __init__(self, settings: MaraSettings, shared: SharedState | None = None) -> None:
        self.settings = settings
        self.keys = KeyStore.for_home(settings.home)
        self.buckets = TokenBuckets(settings.rate_limit_per_minute, shared)
        self._has_keys = False
        self._checked = 0.0
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    # --- is a key needed? -------------------------------------------------------------

    def workspace_has_keys(self) -> bool:
        """Cached: once a key exists it always does (revoked keys count); rechecked each second."""
        if self._has_keys:
            return True
        now = time.monotonic()
        if now - self._checked > 1.0:
            self._has_keys = self.keys.has_keys()
            self._checked = now
        return self._has_keys

    def required_for(self, request: Request) -> bool:
        """Whether this request needs a key (see the module docs)."""
        if self.settings.api_auth == "required":
            return True
        if not _loopback(self.settings.host):
            return True
        client = request.client.host if request.client else None
        server = request.scope.get("server")
        if not _loopback(client) or (server and not _loopback(str(server[0]))):
            return True
        return self.workspace_has_keys()

    # --- sessions --------------------------------------------------------------------

    def _session_secret(self) -> bytes:
        with self._lock:
            if self._secret is None:
                self._secret = self.keys.secret("session_secret")
            return self._secret

    def _sign(self, payload: str) -> str:
        return hmac.new(self._session_secret(), payload.encode(), hashlib.sha256).hexdigest()

    def session_cookie(self, info: KeyInfo) -> tuple[str, int]:
        """A new session of a signed-in key: its cookie value and max-age in seconds."""
        max_age = int(self.settings.session_hours * 3600)
        expires = int(time.time()) + max_age
        session_id = self.keys.open_session(info.id, expires)
        payload = f"{info.id}.{expires}.{session_id}"
        return f"{payload}.{self._sign(payload)}", max_age

    def _session_parts(self, cookie: str) -> tuple[str, int, str] | None:
        """``(key id, expiry, session id)`` of a cookie with a valid signature."""
        parts = cookie.split(".")
        if len(parts) != 4 or not parts[1].isdigit():
            return None
        payload = ".".join(parts[:3])
        if not hmac.compare_digest(self._sign(payload), parts[3]):
            return None
        return parts[0], int(parts[1]), parts[2]

    def session_key(self, cookie: str) -> KeyInfo | None:
        """The active key behind a valid, unexpired session cookie that was not signed out."""
        found = self._session_parts(cookie)
        if found is None or found[1] < time.time():
            return None
        key_id, _, session_id = found
        if not self.keys.session_active(session_id, key_id):
            return None
        return self.keys.by_id(key_id)

    def end_session(self, cookie: str) -> None:
        """Forget the session of a cookie on the server (sign-out)."""
        found = self._session_parts(cookie)
        if found is not None:
            self.keys.close_session(found[2])

    # --- resolving the caller -------------------------------------------------------------

    def _identify(
        self, bearer: str | None, header: str | None, cookie: str | None
    ) -> Caller | None:
        for via, presented in (("bearer", bearer), ("header", header)):
            if presented:
                info = self.keys.verify(presented)
                if info is None:
                    raise ApiError(
                        401,
                        "invalid_api_key",
                        "The API key is invalid or revoked. " + HOW_TO_GET_A_KEY,
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                    )
                return Caller(info.name, info.effective_scopes, info.id, via)
        if cookie:
            info = self.session_key(cookie)
            if info is not None:
                return Caller(info.name, info.effective_scopes, info.id, "session")
        return None

    async def caller(
        self, request: Request, bearer: str | None, header: str | None, cookie: str | None
    ) -> Caller:
        """The caller of ``request``; raises 401 when a key is needed and none is valid."""
        if not self.required_for(request):
            return OPEN_CALLER
        found = await run_in_threadpool(self._identify, bearer, header, cookie)
        if found is None:
            ended = (  # the web chat shows this on its sign-in form
                "Your sign-in has ended: you signed out, it expired, or its key was revoked. "
                if cookie
                else ""
            )
            raise ApiError(
                401,
                "missing_api_key",
                ended + "This API needs an API key. " + HOW_TO_GET_A_KEY,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return found

    def limit(self, who: str) -> None:
        """Take a token for ``who``; 429 with ``Retry-After`` when the bucket is empty."""
        wait = self.buckets.take(who)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429,
                "rate_limited",
                f"Too many requests: the limit is {self.buckets.per_minute} per minute per key. "
                f"Retry after {seconds} s.",
                headers={"Retry-After": str(seconds)},
            )


def get_auth(request: Request) -> Auth:
    """The app's :class:`Auth`."""
    return cast(Auth, request.app.state.auth)


async def _credentials(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    api_key: str | None = Depends(_api_key),
    session: str | None = Depends(_cookie),
) -> Caller:
    auth = get_auth(request)
    caller = await auth.caller(request, bearer.credentials if bearer else None, api_key, session)
    if caller.key_id is not None:  # the open API (local, no keys yet) is not limited
        auth.limit(f"key:{caller.key_id}")
    request.state.caller = caller
    return caller


def require(*scopes: str) -> Any:
    """A dependency: the caller, who must hold one of ``scopes`` (any key when none given)."""
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes {unknown}")

    async def dependency(request: Request, caller: Caller = Depends(_credentials)) -> Caller:
        if scopes and not any(s in caller.scopes for s in scopes):
            needed = " or ".join(f"'{s}'" for s in scopes)
            raise ApiError(
                403,
                "insufficient_scope",
                f"The API key '{caller.name}' lacks the {needed} scope needed for "
                f"{request.method} {request.url.path}; it has: {', '.join(caller.scopes) or 'none'}. "
                f"Create a key with '--scope {scopes[0]}' (mara keys create).",
            )
        return caller

    return Depends(dependency)


# --- web-chat sessions ---------------------------------------------------------------------


class SessionRequest(BaseModel):
    """Sign in with an API key; the reply sets an HTTP-only session cookie."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=256, description="An API key (mara keys create).")


class SessionResponse(BaseModel):
    """Whether the API needs a key, and who is signed in."""

    auth_required: bool
    authenticated: bool
    name: str | None = None
    scopes: list[str] = Field(default_factory=list)
    via: str | None = Field(default=None, description="bearer, header, session or open.")


router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.get("/session", response_model=SessionResponse, summary="Who is signed in")
async def read_session(
    request: Request,
    auth: Auth = Depends(get_auth),
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    api_key: str | None = Depends(_api_key),
    session: str | None = Depends(_cookie),
) -> SessionResponse:
    """Never 401: tells the web chat whether to show its sign-in form."""
    required = auth.required_for(request)
    if not required:
        return SessionResponse(
            auth_required=False, authenticated=True, name="local", scopes=list(SCOPES), via="open"
        )
    try:
        caller = await run_in_threadpool(
            auth._identify, bearer.credentials if bearer else None, api_key, session
        )
    except ApiError:
        caller = None
    if caller is None:
        return SessionResponse(auth_required=True, authenticated=False)
    return SessionResponse(
        auth_required=True,
        authenticated=True,
        name=caller.name,
        scopes=list(caller.scopes),
        via=caller.via,
    )


@router.post(
    "/session",
    response_model=SessionResponse,
    summary="Sign in with an API key",
    responses={**AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def create_session(
    body: SessionRequest, request: Request, response: Response, auth: Auth = Depends(get_auth)
) -> SessionResponse:
    """Check the key and set the ``mara_session`` cookie (HTTP-only, SameSite=Strict)."""
    client = request.client.host if request.client else "unknown"
    auth.limit(f"signin:{client}")
    info = await run_in_threadpool(auth.keys.verify, body.key)
    if info is None:
        raise ApiError(
            401, "invalid_api_key", "The API key is invalid or revoked. " + HOW_TO_GET_A_KEY
        )
    value, max_age = await run_in_threadpool(auth.session_cookie, info)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return SessionResponse(
        auth_required=auth.required_for(request),
        authenticated=True,
        name=info.name,
        scopes=list(info.effective_scopes),
        via="session",
    )


@router.delete("/session", status_code=204, summary="Sign out")
async def delete_session(
    response: Response,
    auth: Auth = Depends(get_auth),
    session: str | None = Depends(_cookie),
) -> Response:
    """End the session on the server (its cookie no longer works, even if kept) and clear it."""
    if session:
        await run_in_threadpool(auth.end_session, session)
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
