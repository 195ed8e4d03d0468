"""``GET /metrics``: Prometheus text exposition of requests, latency, turns and tool calls.

Uses ``prometheus_client`` (a registry per app, plus process metrics such as resident memory)
when it is installed, else a small built-in exposition of the same series:

- ``mara_http_requests_total{method,route,status}`` and
  ``mara_http_request_duration_seconds{method,route}`` (histogram; ``route`` is the route's
  path template, so ids do not blow up the label set; streamed responses count until their end),
- ``mara_turns_total{mode,outcome}`` and ``mara_tool_calls_total{tool,ok}``.

With API keys in use, ``/metrics`` needs a key with the ``admin`` scope (e.g. a Prometheus
``authorization`` credential).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.auth import require
from api.errors import AUTH_RESPONSES

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Metrics:
    """The API's counters. ``prometheus_client`` backs them when available."""

    def __init__(self) -> None:
        prom: Any
        try:
            # lazy: optional dependency (its ImportError is handled here)
            import prometheus_client as prom
        except ImportError:  # pragma: no cover - exercised when the package is absent
            prom = None
        self._prom = prom
        self._lock = threading.Lock()
        if prom is not None:
            self.registry = prom.CollectorRegistry()
            prom.ProcessCollector(registry=self.registry)
            self._requests = prom.Counter(
                "mara_http_requests",
                "HTTP requests served.",
                ("method", "route", "status"),
                registry=self.registry,
            )
            self._latency = prom.Histogram(
                "mara_http_request_duration_seconds",
                "Time to serve a request (until its end).",
                ("method", "route"),
                buckets=BUCKETS,
                registry=self.registry,
            )
            self._turns = prom.Counter(
                "mara_turns",
                "Assistant turns run through the API.",
                ("mode", "outcome"),
                registry=self.registry,
            )
            self._tools = prom.Counter(
                "mara_tool_calls",
                "Tool calls made during API turns.",
                ("tool", "ok"),
                registry=self.registry,
            )
        else:
            self._counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
            self._hist: dict[tuple[tuple[str, str], ...], list[float]] = {}

    # --- recording -----------------------------------------------------------------

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        if self._prom is not None:
            self._requests.labels(method, route, str(status)).inc()
            self._latency.labels(method, route).observe(seconds)
            return
        labels = (("method", method), ("route", route))
        with self._lock:
            key = ("mara_http_requests_total", (*labels, ("status", str(status))))
            self._counts[key] = self._counts.get(key, 0.0) + 1
            hist = self._hist.setdefault(labels, [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    hist[i] += 1
            hist[-2] += 1  # count (+Inf)
            hist[-1] += seconds  # sum

    def turn(self, mode: str, outcome: str) -> None:
        if self._prom is not None:
            self._turns.labels(mode, outcome).inc()
        else:
            self._count("mara_turns_total", (("mode", mode), ("outcome", outcome)))

    def tool_call(self, tool: str, ok: bool) -> None:
        if self._prom is not None:
            self._tools.labels(tool, str(ok).lower()).inc()
        else:
            self._count("mara_tool_calls_total", (("tool", tool), ("ok", str(ok).lower())))

    def _count(self, name: str, labels: tuple[tuple[str, str], ...]) -> None:
        with self._lock:
            self._counts[(name, labels)] = self._counts.get((name, labels), 0.0) + 1

    # --- exposition -----------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if self._prom is not None:
            return self._prom.generate_latest(self.registry), self._prom.CONTENT_TYPE_LATEST
        return self._render_builtin().encode(), TEXT_CONTENT_TYPE

    def _render_builtin(self) -> str:
        helps = {
            "mara_http_requests_total": "HTTP requests served.",
            "mara_turns_total": "Assistant turns run through the API.",
            "mara_tool_calls_total": "Tool calls made during API turns.",
        }
        lines: list[str] = []
        with self._lock:
            counts = dict(self._counts)
            hists = {k: list(v) for k, v in self._hist.items()}
        for name, help_text in helps.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            for (metric, labels), value in sorted(counts.items()):
                if metric == name:
                    lines.append(f"{name}{_labels(labels)} {value}")
        hname = "mara_http_request_duration_seconds"
        lines += [f"# HELP {hname} Time to serve a request.", f"# TYPE {hname} histogram"]
        for labels, values in sorted(hists.items()):
            for bound, value in zip(BUCKETS, values, strict=False):
                lines.append(f"{hname}_bucket{_labels((*labels, ('le', repr(bound))))} {value}")
            lines.append(f"{hname}_bucket{_labels((*labels, ('le', '+Inf')))} {values[-2]}")
            lines.append(f"{hname}_count{_labels(labels)} {values[-2]}")
            lines.append(f"{hname}_sum{_labels(labels)} {values[-1]}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels) + "}"


class MetricsMiddleware:
    """Pure ASGI middleware: counts every HTTP request by route template and status."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            if template == "/static" or str(scope.get("path", "")).startswith("/static/"):
                template = "/static"
            self.metrics.request(
                str(scope.get("method", "")), template, status, time.perf_counter() - started
            )


router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition."},
        **{k: v for k, v in AUTH_RESPONSES.items() if k in (401, 403, 429)},
    },
    dependencies=[require("admin")],
)
async def metrics(request: Request) -> Response:
    """Request counts and latency by route and status, turns, tool calls (and process metrics)."""
    body, content_type = cast(Metrics, request.app.state.metrics).render()
    return Response(body, media_type=content_type)
