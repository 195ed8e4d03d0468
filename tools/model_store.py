"""Saved propensity models: joblib + JSON metadata under ``<home>/models``, listing (scoring: :mod:`tools.propensity_scoring`).

A model is written as ``<id>.joblib`` (estimator, feature spec, metadata) and then ``<id>.json``
(metadata only), each through a temporary file and an atomic rename, so a failed or interrupted
training never leaves a half-saved model, and only models with both files are listed.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foundation.errors import NotFoundError
from foundation.settings import open_private, private_dir, write_private

if TYPE_CHECKING:
    from tools.propensity_features import FeatureSpec


class ModelNotFoundError(NotFoundError):
    """No saved model has this id."""


@dataclass(slots=True)
class TrainedModel:
    """A fitted model with its validation report (before saving)."""

    estimator: Any
    chosen: str
    metrics: dict[str, Any]
    baseline: dict[str, Any]
    drivers: list[dict[str, Any]]


def models_path(home: Path) -> Path:
    return Path(home) / "models"


def save_model(
    trained: TrainedModel,
    spec: FeatureSpec,
    meta: dict[str, Any],
    notes: list[str],
    models_dir: Path | None,
) -> dict[str, Any]:
    """Write ``<id>.joblib`` then ``<id>.json`` (atomic renames); returns the metadata."""
    # lazy: joblib, numpy load slowly; only this path needs them
    import joblib

    name = meta.get("label") or meta.get("target") or "model"
    model_id = (
        f"{re.sub(r'[^a-z0-9]+', '-', str(name).lower()).strip('-')}-"
        f"{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    )
    metadata = {
        "model_id": model_id,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
        "model": trained.chosen,
        "features": spec.names,
        "metrics": trained.metrics,
        "baseline": trained.baseline,
        "drivers": trained.drivers,
        "notes": notes,
    }
    if models_dir is None:
        metadata["saved"] = False
        return metadata
    private_dir(models_dir)
    tmp = models_dir / f".{model_id}.tmp"
    with open_private(tmp, "wb") as handle:
        joblib.dump({"estimator": trained.estimator, "spec": spec, "meta": metadata}, handle)
    tmp.replace(models_dir / f"{model_id}.joblib")
    tmp_json = models_dir / f".{model_id}.json.tmp"
    write_private(tmp_json, json.dumps(metadata, indent=1, default=str))
    tmp_json.replace(models_dir / f"{model_id}.json")
    metadata["saved"] = True
    return metadata


def list_models(models_dir: Path) -> list[dict[str, Any]]:
    """Saved models' metadata, newest first (only complete saves are listed)."""
    out = []
    for path in sorted(Path(models_dir).glob("*.json")):
        if (path.with_suffix(".joblib")).exists():
            meta = json.loads(path.read_text())
            out.append(
                {
                    k: meta.get(k)
                    for k in (
                        "model_id",
                        "created",
                        "kind",
                        "table",
                        "target",
                        "label",
                        "horizon_days",
                        "model",
                    )
                }
                | {"auc": meta.get("metrics", {}).get("auc")}
            )
    return sorted(out, key=lambda m: str(m["created"]), reverse=True)


def load_model(models_dir: Path, model_id: str) -> dict[str, Any]:
    # lazy: joblib, numpy load slowly; only this path needs them
    import joblib

    path = Path(models_dir) / f"{model_id}.joblib"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", model_id) or not path.exists():
        known = (
            [m["model_id"] for m in list_models(models_dir)] if Path(models_dir).exists() else []
        )
        raise ModelNotFoundError(
            f"No saved model '{model_id}'.",
            hint=f"Saved: {', '.join(known[:10])}."
            if known
            else "Train one with 'mara model train'.",
        )
    bundle: dict[str, Any] = joblib.load(path)
    return bundle
