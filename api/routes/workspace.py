"""The workspace behind the web chat's panel: data files, the semantic model, the brand profile
and saved models.

Who may do what (see SECURITY.md):

- **Reading** (``data:read``): ``GET /v1/data/model`` — each table's row count and Mara's
  reading of every column (money, date, flag, category, personal, …) with its description and
  synonyms; ``GET /v1/brand``; ``GET /v1/data/models`` (saved prediction models;
  ``/v1/models`` stays the OpenAI-compatible model list).
- **Data writes** (``data:write``): ``POST /v1/data/tables`` loads a CSV / TSV / Parquet /
  JSON-lines / Excel file with :func:`tools.data_load.load_file` — the checks and messages of
  ``mara data load`` — up to ``MARA_MAX_DATA_UPLOAD_BYTES`` (413 above it, 415 for another file
  type, 422 for a file that cannot be loaded, 409 for a taken name without ``replace``);
  ``PATCH /v1/data/model/{table}`` edits descriptions and synonyms. The warehouse is shared by
  every key, so these writes need their own scope; open mode allows them on loopback only.
- **Brand writes** (``kb:write``, like knowledge uploads): ``PUT /v1/brand`` validates with
  :func:`knowledge.brand.parse_profile` (the checks of ``mara brand``); 422 names the bad key.

Hostile values: an upload's file name only chooses the suffix and (sanitised) table name; the
bytes go to a private temporary file in the workspace, removed afterwards. Table and column
names must exist in the warehouse; text fields are length-capped.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import threading
import time
import unicodedata
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES, ApiError
from api.models import ErrorResponse
from api.runtime import Runtime, get_runtime
from api.uploads import upload_name
from foundation.errors import DataLoadError
from foundation.settings import open_private, private_dir
from tools.data_load import ENCODINGS, READERS, load_file_staged, table_name_for
from tools.model_store import list_models, models_path
from tools.schema_profile import load_profile

router = APIRouter(prefix="/v1", tags=["workspace"])

_TEXT = 500
_SYNONYMS = 20
_PROGRESS_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"

# --- the semantic model's reading of each column ----------------------------------------------


class ColumnReading(BaseModel):
    """One column as Mara reads it."""

    name: str
    type: str
    reading: str = Field(description="money, date, flag, category, personal, id, number or text.")
    description: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    values: list[str] = Field(default_factory=list, description="A category's commonest values.")


class TableReading(BaseModel):
    """One table: rows, what a row is, its columns."""

    name: str
    rows: int
    grain: str | None = None
    description: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    columns: list[ColumnReading]


class ModelReading(BaseModel):
    tables: list[TableReading]


def _reading(column: Any) -> str:
    return "personal" if column.pii else str(column.role)


def _model_reading(runtime: Runtime) -> ModelReading:
    profile = runtime.tools.profile()
    return ModelReading(
        tables=[
            TableReading(
                name=t.name,
                rows=t.rows,
                grain=t.grain,
                description=t.description,
                synonyms=list(t.synonyms),
                columns=[
                    ColumnReading(
                        name=c.name,
                        type=c.type,
                        reading=_reading(c),
                        description=c.description,
                        synonyms=list(c.synonyms),
                        values=[] if c.pii or c.role != "category" else list(c.values[:8]),
                    )
                    for c in t.columns
                ],
            )
            for t in profile.tables
        ]
    )


@router.get(
    "/data/model",
    response_model=ModelReading,
    summary="Tables and how Mara reads each column",
    dependencies=[require("data:read")],
    responses={**AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def data_model(runtime: Runtime = Depends(get_runtime)) -> ModelReading:
    """Every table with its row count and each column's reading (personal columns show no values)."""
    return await run_in_threadpool(_model_reading, runtime)


Synonym = Field(min_length=1, max_length=60)


def _one_line(value: str | None) -> str | None:
    """A description is one line of text: it is shown to the model inside the table listing,
    where a line break could start what reads as another table or an instruction."""
    if value is None:
        return None
    line = " ".join(value.split())
    if any(unicodedata.category(ch) == "Cc" for ch in line):
        raise ValueError("control characters are not accepted in a description; use plain text")
    return line


class ColumnEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=_TEXT)
    synonyms: list[str] | None = Field(default=None, max_length=_SYNONYMS)

    @field_validator("description")
    @classmethod
    def one_line(cls, value: str | None) -> str | None:
        return _one_line(value)


class TableEdit(BaseModel):
    """New words for a table and its columns; a field left out is kept, an empty one cleared."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=_TEXT)
    synonyms: list[str] | None = Field(default=None, max_length=_SYNONYMS)
    columns: dict[str, ColumnEdit] = Field(default_factory=dict, max_length=500)

    @field_validator("description")
    @classmethod
    def one_line(cls, value: str | None) -> str | None:
        return _one_line(value)


def _clean_synonyms(values: list[str], where: str) -> list[str]:
    out: list[str] = []
    for raw in values:
        word = " ".join(str(raw).split())
        if not word or len(word) > 60 or not re.fullmatch(r"[\w][\w .&'/-]*", word):
            raise ApiError(
                422,
                "invalid_synonym",
                f"{where}: {raw!r} is not a usable synonym; use 1-60 letters, digits, spaces "
                "and . & ' / - (it is matched against the words of questions).",
            )
        if word.lower() not in (w.lower() for w in out):
            out.append(word)
    return out


def _edit_model(runtime: Runtime, table: str, edit: TableEdit) -> None:
    # lazy: pydantic, yaml load slowly; only this path needs them
    from tools.semantic_model import (
        FILE_NAME,
        ColumnModel,
        TableModel,
        apply_semantic_model,
        load_semantic_model,
        refresh_workspace_model,
        save_semantic_model,
    )

    profile = runtime.tools.profile()
    found = profile.table(table)
    if found is None:
        known = ", ".join(t.name for t in profile.tables)
        raise ApiError(404, "unknown_table", f"No table '{table}'. Tables: {known}.")
    path = runtime.settings.home / FILE_NAME
    with _MODEL_LOCK:
        model = load_semantic_model(path) or refresh_workspace_model(runtime.settings)
        section = model.tables.setdefault(found.name, TableModel())
        if edit.description is not None:
            section.description = edit.description.strip() or None
        if edit.synonyms is not None:
            section.synonyms = _clean_synonyms(edit.synonyms, f"table {found.name}")
        for name, change in edit.columns.items():
            column = found.column(name)
            if column is None:
                valid = ", ".join(c.name for c in found.columns)
                raise ApiError(
                    422, "unknown_column", f"No column '{name}' in {found.name}. Columns: {valid}."
                )
            entry = section.columns.setdefault(column.name, ColumnModel())
            if change.description is not None:
                entry.description = change.description.strip() or None
            if change.synonyms is not None:
                entry.synonyms = _clean_synonyms(change.synonyms, f"{found.name}.{column.name}")
        # the edited model must still apply to the data (the same check as 'mara data model --check')
        cache = None if runtime.settings.warehouse_url else runtime.settings.home / "schema_profile.json"
        apply_semantic_model(load_profile(runtime.tools.warehouse, cache), model)
        save_semantic_model(model, path)


_MODEL_LOCK = threading.Lock()


@router.patch(
    "/data/model/{table}",
    response_model=ModelReading,
    summary="Edit a table's and its columns' descriptions and synonyms",
    dependencies=[require("data:write")],
    responses={
        404: {"model": ErrorResponse, "description": "No such table."},
        422: {"model": ErrorResponse, "description": "Unknown column, or an unusable synonym."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def edit_data_model(
    edit: TableEdit,
    table: str = PathParam(max_length=63),
    runtime: Runtime = Depends(get_runtime),
) -> ModelReading:
    """Save the words in ``semantic.yaml``; the next question reads them."""
    await run_in_threadpool(_edit_model, runtime, table, edit)
    return await run_in_threadpool(_model_reading, runtime)


# --- data uploads -------------------------------------------------------------------------------


class LoadProgress(BaseModel):
    stage: str = Field(description="receiving, reading, modelling, done or failed.")
    percent: float


class LoadResult(BaseModel):
    """What ``mara data load --json`` prints, plus Mara's reading of the new table."""

    table: str
    rows: int
    columns: list[dict[str, str]]
    replaced: bool
    notes: list[str]
    inferred: list[str] = Field(description="What Mara now assumes about the table, line by line.")


class _Loads:
    """Progress of running loads, by (caller, client-chosen id); one load at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # one load writes the warehouse at a time
        self._progress: dict[tuple[str, str], tuple[str, float, float]] = {}
        self._guard = threading.Lock()

    def set(self, who: str, pid: str | None, stage: str, percent: float) -> None:
        if pid is None:
            return
        now = time.monotonic()
        with self._guard:
            self._progress[(who, pid)] = (stage, percent, now)
            for key in [k for k, v in self._progress.items() if now - v[2] > 600]:
                del self._progress[key]

    def get(self, who: str, pid: str) -> LoadProgress | None:
        with self._guard:
            found = self._progress.get((who, pid))
        return LoadProgress(stage=found[0], percent=found[1]) if found else None


LOADS = _Loads()


@router.post(
    "/data/tables",
    response_model=LoadResult,
    status_code=201,
    summary="Upload a data file into the warehouse",
    responses={
        409: {"model": ErrorResponse, "description": "A table of that name exists (send replace=true)."},
        413: {"model": ErrorResponse, "description": "Larger than MARA_MAX_DATA_UPLOAD_BYTES."},
        415: {"model": ErrorResponse, "description": "A file type that is not accepted."},
        422: {"model": ErrorResponse, "description": "The file cannot be loaded (the message says why)."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def upload_table(
    file: UploadFile = File(description=f"A data file: {', '.join(sorted(READERS))}."),
    table: str | None = Form(default=None, max_length=63, pattern=_NAME),
    replace: bool = Form(default=False),
    encoding: str = Form(default="utf-8", description=f"CSV/TSV text encoding: {', '.join(ENCODINGS)}."),
    progress_id: str | None = Form(
        default=None, description="Any 8-64 letters, digits or '-': poll GET /v1/data/loads/{id}."
    ),
    runtime: Runtime = Depends(get_runtime),
    caller: Caller = require("data:write"),
) -> LoadResult:
    """Load the file atomically (all rows or nothing) and update ``semantic.yaml``; the next
    chat question can use the table. Same checks and messages as ``mara data load``."""
    settings = runtime.settings
    if settings.warehouse_url:
        raise ApiError(
            409,
            "external_warehouse",
            "MARA_WAREHOUSE_URL points at an external database; load data there with its own tools.",
        )
    name = upload_name(file.filename, READERS)
    target = table or table_name_for(Path(name))
    if progress_id is not None and not _PROGRESS_ID.fullmatch(progress_id):
        raise ApiError(422, "invalid_progress_id", "progress_id: 8-64 letters, digits or '-'.")
    who = caller.actor
    LOADS.set(who, progress_id, "reading", 0.0)

    def load() -> LoadResult:
        folder = private_dir(settings.home / ".loading")
        staged = folder / f"upload-{threading.get_ident()}-{time.monotonic_ns()}{Path(name).suffix.lower()}"
        try:
            with open_private(staged, "wb") as out:
                file.file.seek(0)
                shutil.copyfileobj(file.file, out, 1 << 20)
            with LOADS.lock:
                try:
                    report = load_file_staged(
                        settings.duckdb_path, staged, target, replace=replace, encoding=encoding,
                        progress=lambda p: LOADS.set(who, progress_id, "reading", round(p * 0.9, 1)),
                    )
                except DataLoadError as err:
                    if "already exists" in err.message:
                        raise ApiError(
                            409, "table_exists",
                            f"Table '{target}' already exists. Tick 'replace' (replace=true) to "
                            "replace it, or choose another table name.",
                        ) from None
                    raise ApiError(422, "data_load_error", str(err).replace(staged.name, name)) from None
                LOADS.set(who, progress_id, "modelling", 92.0)
                lines = _refresh_model(settings, report.table, report.money_columns)
        finally:
            staged.unlink(missing_ok=True)
        LOADS.set(who, progress_id, "done", 100.0)
        return LoadResult(
            table=report.table, rows=report.rows, columns=report.columns, replaced=report.replaced,
            notes=report.notes, inferred=lines,
        )

    try:
        return await run_in_threadpool(load)
    except BaseException:
        LOADS.set(who, progress_id, "failed", 100.0)
        raise


def _refresh_model(settings: Any, table: str, money: list[str]) -> list[str]:
    """As ``mara data load`` does after loading: forget the profile cache, update semantic.yaml."""
    # lazy: pydantic, yaml load slowly; only this path needs them
    from tools.semantic_model import Inference, refresh_workspace_model

    (settings.home / "schema_profile.json").unlink(missing_ok=True)
    inferences: list[Inference] = []
    with _MODEL_LOCK:
        refresh_workspace_model(settings, changed=[table], money={table: money}, report=inferences)
    return [line for info in inferences for line in info.lines()]


@router.get(
    "/data/loads/{progress_id}",
    response_model=LoadProgress,
    summary="Progress of a data upload",
    responses={404: {"model": ErrorResponse, "description": "No load of yours with that id."}, **AUTH_RESPONSES},
)
async def load_progress(progress_id: str, caller: Caller = require("data:write")) -> LoadProgress:
    """Stage and percentage of the caller's own upload (other keys' ids are not found)."""
    found = LOADS.get(caller.actor, progress_id)
    if found is None:
        raise ApiError(404, "unknown_load", f"No upload of yours with id {progress_id!r}.")
    return found


# --- brand profile ------------------------------------------------------------------------------


class BrandDocument(BaseModel):
    exists: bool = Field(description="False: no brand.yaml yet; the sample brand's profile is shown.")
    profile: dict[str, Any]


@router.get(
    "/brand",
    response_model=BrandDocument,
    summary="The brand profile copy is checked against",
    dependencies=[require("data:read")],
    responses={**AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def get_brand(runtime: Runtime = Depends(get_runtime)) -> BrandDocument:
    """As ``mara brand show --json`` (without the server path)."""

    def read() -> BrandDocument:
        # lazy: pydantic, yaml load slowly; only this path needs them
        from knowledge.brand import load_profile, profile_path, suggest_profile
        from knowledge.sample import sample_brand_path

        path = profile_path(runtime.settings.home)
        exists = path.is_file()
        profile = load_profile(path) if exists else suggest_profile([sample_brand_path()])
        return BrandDocument(exists=exists, profile=profile.model_dump(mode="json"))

    return await run_in_threadpool(read)


@router.put(
    "/brand",
    response_model=BrandDocument,
    summary="Replace the brand profile",
    dependencies=[require("kb:write")],
    responses={
        422: {"model": ErrorResponse, "description": "The profile is invalid (the bad key is named)."},
        **AUTH_RESPONSES,
        **ERROR_RESPONSES,
    },
)
async def put_brand(body: dict[str, Any], runtime: Runtime = Depends(get_runtime)) -> BrandDocument:
    """Validate as ``mara brand`` does and save ``brand.yaml`` (owner-only file); copy drafted
    afterwards is checked against it."""

    def write() -> BrandDocument:
        # lazy: pydantic, yaml load slowly; only this path needs them
        from knowledge.brand import BrandProfileError, parse_profile, profile_path, save_profile

        try:
            profile = parse_profile(body, "The brand profile")
        except BrandProfileError as err:
            raise ApiError(422, "invalid_brand_profile", str(err)) from None
        save_profile(profile, profile_path(runtime.settings.home))
        return BrandDocument(exists=True, profile=profile.model_dump(mode="json"))

    return await run_in_threadpool(write)


# --- saved models -------------------------------------------------------------------------------


class SavedModel(BaseModel):
    model_id: str
    created: str | None = None
    kind: str | None = None
    table: str | None = None
    target: str | None = None
    label: str | None = None
    summary: str = Field(description="The validation result in plain words.")
    metrics: dict[str, Any] = Field(default_factory=dict)


def summary_in_words(meta: dict[str, Any]) -> str:
    """How well a saved model did on customers it had not seen, in a marketer's words."""
    metrics = meta.get("metrics") or {}
    what = meta.get("target") or meta.get("label") or "the outcome"
    auc = metrics.get("auc")
    lift = metrics.get("lift_top_decile")
    if auc is None:
        return f"Predicts {what}; no validation result was saved with it."
    auc = float(auc)
    grade = (
        "very well" if auc >= 0.85 else "well" if auc >= 0.75 else "fairly" if auc >= 0.65
        else "only slightly better than chance" if auc > 0.55 else "no better than chance"
    )
    text = (
        f"Predicts {what}. On held-back customers it ranks who will and who won't {grade}: "
        f"it puts a random positive above a random negative {auc:.0%} of the time."
    )
    if lift is not None:
        text += f" Its top 10% holds {float(lift):.1f}× the average rate."
    return text


@router.get(
    "/data/models",
    response_model=list[SavedModel],
    summary="Saved prediction models",
    dependencies=[require("data:read")],
    responses={**AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def get_models(runtime: Runtime = Depends(get_runtime)) -> list[SavedModel]:
    """Every saved model, newest first, with its validation summary in plain words."""

    def read() -> list[SavedModel]:
        folder = models_path(runtime.settings.home)
        if not folder.exists():
            return []
        out = []
        for item in list_models(folder):
            meta: dict[str, Any] = {}
            with contextlib.suppress(OSError, ValueError):
                meta = json.loads((folder / f"{item['model_id']}.json").read_text())
            metrics = {k: v for k, v in (meta.get("metrics") or {}).items() if isinstance(v, int | float)}
            out.append(
                SavedModel(
                    model_id=str(item["model_id"]), created=_text(item.get("created")),
                    kind=_text(item.get("kind")), table=_text(item.get("table")),
                    target=_text(item.get("target")), label=_text(item.get("label")),
                    summary=summary_in_words(meta or item), metrics=metrics,
                )
            )
        return out

    return await run_in_threadpool(read)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
