"""Prompts and other text data, versioned as files and loaded by name.

``load_prompt("system")`` reads ``prompts/system.yaml`` and returns its ``template``
with ``{placeholders}`` filled from keyword arguments.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

# libyaml's C loader parses the large data files ~10x faster than the pure-Python one (start-up time)
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PromptNotFoundError(KeyError):
    """No prompt file of that name ships with Mara."""


@lru_cache(maxsize=32)
def load_data(name: str) -> dict[str, Any]:
    """The parsed YAML file ``prompts/<name>.yaml``."""
    path = resources.files(__package__).joinpath(f"{name}.yaml")
    if not path.is_file():
        available = sorted(p.name.removesuffix(".yaml") for p in resources.files(__package__).iterdir() if p.name.endswith(".yaml"))
        raise PromptNotFoundError(f"No prompt named {name!r}; available: {', '.join(available)}")
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    if not isinstance(data, dict):
        raise ValueError(f"prompts/{name}.yaml must hold a mapping")
    return data


def load_prompt(name: str, **values: Any) -> str:
    """The prompt ``name`` (its ``template`` field) with ``values`` filled in."""
    template = str(load_data(name)["template"])
    return template.format(**values) if values else template
