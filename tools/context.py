"""What tools share in one process: settings, the warehouse, its profile, artifacts, knowledge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.results import ArtifactStore
from tools.schema_profile import SchemaProfile, load_profile
from tools.warehouse import Warehouse, open_warehouse

if TYPE_CHECKING:
    from foundation.settings import MaraSettings
    from knowledge.store import KnowledgeBase


@dataclass
class ToolContext:
    """Lazily opened resources; nothing heavy is imported until a tool needs it."""

    settings: MaraSettings
    #: Builds the configured LLM chat model for tools that write text (``draft_copy``). The
    #: assistant layer passes :func:`assistant.chat_models.make_chat_model`; ``None`` means
    #: such tools draft offline. Injected so that tools/ never imports assistant/.
    chat_model_factory: Callable[[MaraSettings], Any] | None = None
    #: Saves a schedule for the turn's caller (``schedule_briefing``); the assistant layer passes
    #: :func:`assistant.schedules.chat.make_sink`'s function. ``None``: schedules cannot be saved.
    schedule_sink: Callable[..., dict[str, Any]] | None = None
    _profile: SchemaProfile | None = field(default=None, init=False, repr=False)
    _profile_stamp: tuple[float | None, float | None] | None = field(default=None, init=False, repr=False)
    _memo: dict[str, tuple[Any, Any]] = field(default_factory=dict, init=False, repr=False)

    @cached_property
    def warehouse(self) -> Warehouse:
        return open_warehouse(self.settings)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        return ArtifactStore.for_settings(self.settings)

    def profile(self) -> SchemaProfile:
        """The live schema's profile (cached in the workspace for the embedded warehouse),
        with the declarations of the workspace's ``semantic.yaml`` applied when there is one.

        Rebuilt when the embedded warehouse file or ``semantic.yaml`` changed since it was read,
        so a table uploaded while the server runs is known to the very next question."""
        stamp = self._stamp()
        if self._profile is None or stamp != self._profile_stamp:
            # lazy: pydantic, yaml load slowly; only this path needs them
            from tools.semantic_model import FILE_NAME, apply_semantic_model, load_semantic_model

            cache = None
            if not self.settings.warehouse_url and self.settings.home.exists():
                cache = self.settings.home / "schema_profile.json"
            if self._profile is None:
                profile = load_profile(self.warehouse, cache)
            else:  # while an upload profiles its new table, keep answering from the profile we had
                found = load_profile(self.warehouse, cache, wait=False)
                if found is None:
                    return self._profile
                profile = found
            self._profile_stamp = stamp
            model = load_semantic_model(self.settings.home / FILE_NAME)
            self._profile = apply_semantic_model(profile, model) if model is not None else profile
        return self._profile

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """``build()``'s result, kept while the embedded warehouse file and ``semantic.yaml`` are
        unchanged (a catalog read once for a run of drafts); a server warehouse, whose changes
        leave no file stamp, is read each time."""
        if self.settings.warehouse_url:
            return build()
        stamp = self._stamp()
        held = self._memo.get(key)
        if held is not None and held[0] == stamp:
            return held[1]
        value = build()
        self._memo[key] = (stamp, value)
        return value

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        return open_knowledge(self.settings)

    def _stamp(self) -> tuple[float | None, float | None]:
        """Modification times of the embedded warehouse and of ``semantic.yaml`` (None: absent)."""

        def mtime(path: Path) -> float | None:
            try:
                return path.stat().st_mtime
            except OSError:
                return None

        warehouse = None if self.settings.warehouse_url else mtime(self.settings.duckdb_path)
        return warehouse, mtime(self.settings.home / "semantic.yaml")


def open_knowledge(settings: MaraSettings) -> KnowledgeBase:
    """The knowledge base the settings point at: embedded Chroma in the workspace, or a server."""
    # lazy: numpy loads slowly; only this path needs it
    from knowledge.documents import DocumentLimits
    from knowledge.embeddings import get_encoder
    from knowledge.store import KnowledgeBase

    return KnowledgeBase(
        settings.chroma_path if not settings.chroma_host else None,
        host=settings.chroma_host,
        port=settings.chroma_port,
        encoder=get_encoder(settings.embedding_model),
        embedding_precision=settings.embedding_precision,
        limits=DocumentLimits(
            max_decompressed_bytes=settings.kb_max_decompressed_bytes,
            max_paragraphs=settings.kb_max_paragraphs,
            max_chunks=settings.kb_max_chunks,
        ),
    )
