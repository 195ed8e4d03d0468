"""Schemathesis over ``/openapi.json``: generated requests to every operation, no 5xx.

Runs against a real uvicorn server (offline assistant, tiny warehouse) with an admin key, so
every route is reached past auth. The example count per operation is kept small (about a
minute in all); raise ``MARA_SCHEMATHESIS_EXAMPLES`` for a deeper run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from assistant.keys import KeyStore
from foundation.settings import MaraSettings
from tests.conftest import build_tiny_warehouse
from tests.test_api import LiveServer

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
hypothesis = pytest.importorskip("hypothesis")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

EXAMPLES = int(os.environ.get("MARA_SCHEMATHESIS_EXAMPLES", "8"))
#: Operations whose generated bodies run whole assistant turns or embeddings: fewer examples.
SLOW = {
    "POST /v1/chat",
    "POST /v1/chat/completions",
    "POST /v1/kb/documents",
    "POST /v1/copy/batch",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("fuzz") / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    _, key = KeyStore.for_home(home).create("fuzzer", ["admin"])
    settings = MaraSettings(  # type: ignore[call-arg]
        home=home, mode="offline", api_auth="required", rate_limit_per_minute=0, _env_file=None
    )
    with LiveServer(create_app(settings)) as live:
        yield {"url": live.url, "key": key}


def test_generated_requests_never_get_a_server_error(server: dict[str, Any]) -> None:
    url = server["url"]
    headers = {"Authorization": f"Bearer {server['key']}"}
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: list[str] = []
    seen: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        seen.append(label)
        examples = max(2, EXAMPLES // 3) if label in SLOW else EXAMPLES
        run(operation, label, examples, url, headers, failures)
    assert "POST /v1/query" in seen and "POST /v1/chat" in seen
    assert not failures, "\n".join(failures[:10])


def run(
    operation: Any,
    label: str,
    examples: int,
    url: str,
    headers: dict[str, str],
    failures: list[str],
) -> None:
    """Send ``examples`` generated requests to one operation; record any 5xx."""
    from hypothesis import HealthCheck, Phase, given, settings

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(base_url=url, headers=headers, timeout=60)
        if response.status_code >= 500:
            failures.append(f"{label} → {response.status_code}: {response.text[:300]}")
        body = response.text
        assert "Traceback" not in body, label

    check()
