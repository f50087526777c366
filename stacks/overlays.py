"""Per-stack run settings: `configs/overlays/<stack>.yaml`, laid over every pipeline's run config.

What differs between stacks (Docker settings for images, the orchestrator's settings) lives
here, so pipeline code and the pipeline configs stay the same on every stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.config_files import expand_env, read_yaml_mapping

OVERLAYS_DIR = Path(__file__).resolve().parents[1] / "configs" / "overlays"


def load_overlay(stack_name: str, folder: Path = OVERLAYS_DIR) -> dict[str, Any]:
    """The overlay of `stack_name` with `${VAR:-default}` filled in; empty if the stack has none."""
    path = folder / f"{stack_name}.yaml"
    if not path.is_file():
        return {}
    return dict(expand_env(read_yaml_mapping(path, "stack overlay", empty_ok=True), path))


def merged(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`base` with `overlay` laid over it: mappings merge key by key, anything else is replaced."""
    result = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result
