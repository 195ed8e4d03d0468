"""Finding 4: the workspace is owner-only whatever the umask, and a loose one is reported at start.

The attack: with the usual umask 022 every workspace file was created 0644, so another local
user read ``keys.sqlite`` (the session secret), the warehouse and stored conversations.
Expected: folders 0700, files 0600, and ``mara serve``/``mara chat`` warn about loose paths
with the ``chmod`` that fixes them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from typer.testing import CliRunner

from foundation.settings import MaraSettings, get_settings, permission_warnings
from tests.conftest import build_tiny_warehouse

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
runner = CliRunner()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def everyday_umask() -> Iterator[None]:
    """The umask most systems ship (022): files 0644 unless Mara sets the mode itself."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "ws"  # not created yet: Mara creates it


@pytest.fixture
def settings(home: Path) -> MaraSettings:
    return MaraSettings(home=home, mode="offline", _env_file=None)  # type: ignore[call-arg]


def test_keys_file_with_the_session_secret_is_owner_only(home: Path) -> None:
    from assistant.keys import KeyStore

    KeyStore.for_home(home).create("ci", scopes=["chat"])
    assert (mode(home), mode(home / "keys.sqlite")) == (0o700, 0o600)


def test_conversations_and_audit_are_owner_only(settings: MaraSettings, home: Path) -> None:
    from assistant.audit import open_audit
    from assistant.conversations import open_checkpointer

    with ExitStack() as stack:
        open_checkpointer(settings, stack)
    open_audit(settings)
    assert mode(home / "conversations.sqlite") == 0o600
    assert mode(home / "audit.sqlite") == 0o600


def test_warehouse_loaded_from_csv_is_owner_only(settings: MaraSettings, home: Path, tmp_path: Path) -> None:
    from tools.data_load import load_file

    source = tmp_path / "customers.csv"
    source.write_text("customer_id,email\n1,anna@example.com\n")
    load_file(settings.duckdb_path, source)
    assert (mode(home), mode(settings.duckdb_path)) == (0o700, 0o600)


def test_artifacts_brand_and_semantic_files_are_owner_only(settings: MaraSettings, home: Path) -> None:
    from knowledge.brand import BrandProfile, save_profile
    from tools.results import ArtifactStore
    from tools.warehouse import QueryResult

    store = ArtifactStore.for_settings(settings)
    artifact_id = store.save_table(QueryResult(columns=["email"], rows=[("anna@example.com",)]))
    save_profile(BrandProfile(name="Trailhead"), home / "brand.yaml")
    assert mode(store.root) == 0o700
    assert mode(store.root / f"{artifact_id}.csv") == 0o600
    assert mode(store.root / f"{artifact_id}.json") == 0o600
    assert mode(home / "brand.yaml") == 0o600


def test_export_outside_the_workspace_is_owner_only(tmp_path: Path) -> None:
    from tools.audiences import export_audience, save_audience
    from tools.warehouse import DuckDBWarehouse

    ws = tmp_path / "ws2"
    ws.mkdir()
    build_tiny_warehouse(ws / "warehouse.duckdb")
    warehouse = DuckDBWarehouse(ws / "warehouse.duckdb")
    save_audience(warehouse, ws, "all", "query", {"sql": "SELECT customer_id FROM customers"})
    out = tmp_path / "shared" / "all.csv"
    out.parent.mkdir()
    export_audience(warehouse, ws, "all", out, columns=["customer_id", "email"])
    assert mode(out) == 0o600


def test_loose_workspace_is_reported_with_the_fix(tmp_path: Path) -> None:
    home = tmp_path / "loose"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    (home / "keys.sqlite").write_text("")
    os.chmod(home / "keys.sqlite", 0o644)
    warnings = permission_warnings(home)
    assert any(str(home) in w and f"chmod 700 {home}" in w for w in warnings)
    assert any(f"chmod 600 {home / 'keys.sqlite'}" in w for w in warnings)


def test_private_workspace_has_no_warning(tmp_path: Path) -> None:
    from foundation.settings import private_dir, write_private

    home = private_dir(tmp_path / "ok")
    write_private(home / "keys.sqlite", "")
    assert permission_warnings(home) == []


def test_mara_serve_warns_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from assistant.cli import app

    home = tmp_path / "loose"
    home.mkdir()
    os.chmod(home, 0o755)
    build_tiny_warehouse(home / "warehouse.duckdb")
    os.chmod(home / "warehouse.duckdb", 0o644)
    monkeypatch.setenv("MARA_HOME", str(home))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"chmod 600 {home / 'warehouse.duckdb'}" in result.stderr
