"""Shared fixtures: tiny realistic workspaces, settings, and a guard against real LLM calls."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from threadpoolctl import threadpool_limits

from assistant.keys import KeyStore
from foundation.settings import MaraSettings

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on two cores: OpenMP threads beyond one per worker only
    # spin-wait for a core (see `one_openmp_thread`). Set before scikit-learn first loads OpenMP;
    # CTranslate2 sets its own thread counts.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

_REAL_LLM_HOSTS = ("api.openai.com", "openai.azure.com", "api.anthropic.com")


@pytest.fixture(autouse=True)
def _block_real_llm_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach a real LLM provider fails the test (scripted servers are on 127.0.0.1)."""
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if isinstance(host, str) and any(host.endswith(h) for h in _REAL_LLM_HOSTS):
            raise AssertionError(f"test tried to reach a real LLM provider: {host}")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MARA_LLM_API_KEY", "MARA_LLM_BASE_URL", "MARA_MODE"):
        monkeypatch.delenv(var, raising=False)


CUSTOMERS = [
    # id, first, last, email, country, city, signup, tier, email_opt_in, sms_opt_in
    (1, "Anna", "Schmidt", "anna.schmidt@example.com", "Germany", "Berlin", "2023-02-01", "gold", True, True),
    (2, "Ben", "Miller", "ben.miller@example.com", "United States", "Denver", "2023-05-12", "silver", True, False),
    (3, "Chloé", "Martin", "chloe.martin@example.com", "France", "Lyon", "2024-01-20", "none", False, False),
    (4, "Dara", "Jones", "dara.jones@example.com", "United Kingdom", "Leeds", "2024-03-03", "bronze", True, True),
    (5, "Emil", "Weber", "emil.weber@example.com", "Germany", "Munich", "2024-06-30", "none", True, False),
    (6, "Fay", "Brown", "fay.brown@example.com", "United States", "Boulder", "2025-01-15", "bronze", False, True),
]
ORDERS = [
    # id, customer, date, total, channel
    (101, 1, "2025-01-10", 420.00, "web"),
    (102, 1, "2025-07-02", 180.50, "app"),
    (103, 2, "2025-02-14", 99.90, "web"),
    (104, 2, "2025-08-20", 250.00, "store"),
    (105, 4, "2025-09-05", 75.25, "web"),
    (106, 5, "2025-09-28", 310.00, "app"),
    (107, 6, "2025-10-01", 45.00, "web"),
    (108, 1, "2025-10-15", 95.00, "web"),
]


def build_tiny_warehouse(path: Path) -> None:
    """Six customers and eight orders of an outdoor-gear shop, in a DuckDB file."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE customers (customer_id INTEGER, first_name VARCHAR, last_name VARCHAR, "
        "email VARCHAR, country VARCHAR, city VARCHAR, signup_date DATE, loyalty_tier VARCHAR, "
        "email_opt_in BOOLEAN, sms_opt_in BOOLEAN)"
    )
    con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", CUSTOMERS)
    con.execute(
        "CREATE TABLE orders (order_id INTEGER, customer_id INTEGER, order_date DATE, "
        "total DECIMAL(10,2), channel VARCHAR)"
    )
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", ORDERS)
    con.close()


def keyed_workspace(folder: Path, keys: dict[str, tuple[str, list[str]]]) -> tuple[Path, dict[str, str]]:
    """The tiny warehouse in ``folder/ws`` and API keys for it: ``{role: (key name, scopes)}`` in,
    the workspace and ``{role: secret}`` out (the API then requires a key)."""
    home = folder / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    store = KeyStore.for_home(home)
    return home, {role: store.create(name, scopes)[1] for role, (name, scopes) in keys.items()}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace folder holding the tiny warehouse."""
    home = tmp_path / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    return home


@pytest.fixture(scope="session")
def modelled_original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny workspace with its semantic model (metrics), built once per session. Never write
    to it: take :func:`modelled_workspace`, a copy of it per test."""
    # lazy: the semantic model loads sqlglot and pydantic models most tests never need
    from tools.semantic_model import refresh_workspace_model

    home = tmp_path_factory.mktemp("modelled") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    refresh_workspace_model(MaraSettings(home=home, mode="offline", _env_file=None))  # type: ignore[call-arg]
    return home


@pytest.fixture
def modelled_workspace(modelled_original: Path, tmp_path: Path) -> Path:
    """This test's own copy of the tiny workspace with its semantic model (schedules need metrics)."""
    home = tmp_path / "ws"
    shutil.copytree(modelled_original, home)
    return home


@pytest.fixture
def hook() -> Iterator[Any]:
    """A :class:`~assistant.testing.webhook_receiver.WebhookReceiver` on a free local port."""
    # lazy: as above
    from assistant.testing.webhook_receiver import WebhookReceiver

    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_inbox() -> Iterator[Any]:
    """A local SMTP server on a free port (see :class:`tests.smtp_inbox.SmtpInbox`)."""
    # lazy: aiosmtpd is only for the e-mail tests
    from tests.smtp_inbox import SmtpInbox

    with SmtpInbox() as inbox:
        yield inbox


@pytest.fixture
def settings(workspace: Path) -> MaraSettings:
    """Offline settings over the tiny workspace (no .env, no LLM)."""
    return MaraSettings(home=workspace, mode="offline", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def today() -> dt.date:
    return dt.date(2025, 11, 1)


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in list(__import__("os").environ):
        if var.startswith("MARA_"):
            monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for a browser test module (see ``tests/browser.py``)."""
    # lazy: only the browser tests need Playwright (and skip without it); the others never load it
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, sync_api

    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Make pages as :func:`tests.browser.new_page` does; their contexts close after the test."""
    # lazy: as above
    from tests.browser import new_page as make_page

    opened: list[Any] = []

    def make(*args: Any, **kwargs: Any) -> Any:
        page = make_page(browser, *args, **kwargs)
        opened.append(page.context)
        return page

    yield make
    for context in opened:
        context.close()


@pytest.fixture(scope="module")
def one_openmp_thread() -> Iterator[None]:
    """Model training on one OpenMP thread: the same fitted model (same AUC), but no thread
    spin-waiting on a loaded 2-core machine, where the first gradient-boosting fit of a process
    took 56 s instead of 15 s. Tests that train models use it; the product keeps its threads."""
    # lazy: threadpoolctl limits only runtimes already loaded; this loads scikit-learn's OpenMP
    import sklearn.ensemble  # noqa: F401

    with threadpool_limits(limits=1, user_api="openmp"):
        yield
