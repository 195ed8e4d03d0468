"""The offline planner: Mara's embedded, key-free chat model."""

from assistant.planner.model import OfflinePlanner

__all__ = ["OfflinePlanner"]
