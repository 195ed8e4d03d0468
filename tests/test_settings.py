"""Settings come from MARA_* variables (and the conventional OPENAI_* ones) in one class."""

from __future__ import annotations

from pathlib import Path

import pytest

from foundation.settings import MaraSettings


def make(**kwargs: object) -> MaraSettings:
    return MaraSettings(_env_file=None, **kwargs)  # type: ignore[call-arg, arg-type]


def test_defaults_are_offline_in_dot_mara() -> None:
    settings = make()
    assert settings.home == Path(".mara")
    assert settings.resolved_mode == "offline"
    assert settings.duckdb_path == Path(".mara/warehouse.duckdb")


def test_openai_api_key_switches_to_llm_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = make()
    assert settings.resolved_mode == "llm"
    assert settings.llm_api_key is not None and settings.llm_api_key.get_secret_value() == "sk-test"
    assert "sk-test" not in repr(settings)


def test_base_url_alone_means_llm_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARA_LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("MARA_LLM_MODEL", "llama3.1")
    settings = make()
    assert settings.resolved_mode == "llm"
    assert settings.llm_model == "llama3.1"


def test_mode_can_be_forced_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("MARA_MODE", "offline")
    assert make().resolved_mode == "offline"


def test_home_and_limits_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MARA_HOME", str(tmp_path))
    monkeypatch.setenv("MARA_QUERY_ROW_CAP", "50")
    settings = make()
    assert settings.home == tmp_path
    assert settings.query_row_cap == 50


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("MARA_MAX_STEPS=5\nOPENAI_BASE_URL=http://127.0.0.1:9/v1\n")
    settings = MaraSettings(_env_file=env)  # type: ignore[call-arg]
    assert settings.max_steps == 5
    assert settings.resolved_mode == "llm"


def test_bad_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARA_MODE", "turbo")
    with pytest.raises(ValueError, match="mode"):
        make()


def test_embedding_precision_defaults_to_int8_and_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert make().embedding_precision == "int8"
    monkeypatch.setenv("MARA_EMBEDDING_PRECISION", "float32")
    assert make().embedding_precision == "float32"
    monkeypatch.setenv("MARA_EMBEDDING_PRECISION", "fp16")
    with pytest.raises(ValueError, match="embedding_precision") as err:
        make()
    assert "'int8' or 'float32'" in str(err.value)


def test_a_run_age_under_a_day_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARA_SCHEDULE_RUN_MAX_AGE_DAYS", "0.001")
    with pytest.raises(ValueError, match="schedule_run_max_age_days"):
        make()


@pytest.mark.parametrize("days", ["0", "1", "30"])
def test_a_run_age_of_zero_or_whole_days_is_accepted(monkeypatch: pytest.MonkeyPatch, days: str) -> None:
    monkeypatch.setenv("MARA_SCHEDULE_RUN_MAX_AGE_DAYS", days)
    assert make().schedule_run_max_age_days == float(days)
