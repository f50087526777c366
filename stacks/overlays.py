"""Per-stack run settings: `configs/overlays/<stack>.yaml`, laid over every pipeline's run config.

What differs between stacks (Docker settings for images, the orchestrator's settings, and where a
pipeline reads its data by default, such as the captured traffic of `local-servers`) lives here,
so pipeline code and the pipeline configs stay the same on every stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.config_files import expand_env, read_yaml_mapping

OVERLAYS_DIR = Path(__file__).resolve().parents[1] / "configs" / "overlays"
PARAMETERS = "parameters"  # the pipelines' parameter defaults on the stack, not ZenML options


def load_overlay(stack_name: str, folder: Path = OVERLAYS_DIR) -> dict[str, Any]:
    """The ZenML options of `stack_name`'s overlay with `${VAR:-default}` filled in; empty if the
    stack has none."""
    overlay = _read(stack_name, folder)
    overlay.pop(PARAMETERS, None)
    return overlay


def stack_parameters(stack_name: str, pipeline: str, folder: Path = OVERLAYS_DIR) -> dict[str, Any]:
    """The overlay's defaults for `pipeline`'s parameters (`parameters.<pipeline>`, the pipeline's
    config name: continuous_training...): what the pipeline reads on this stack when it is run with
    its shipped config and no `--data`."""
    defaults = _read(stack_name, folder).get(PARAMETERS) or {}
    return dict(defaults.get(pipeline.replace("-", "_")) or {})


def _read(stack_name: str, folder: Path) -> dict[str, Any]:
    path = folder / f"{stack_name}.yaml"
    if not path.is_file():
        return {}
    return dict(expand_env(read_yaml_mapping(path, "stack overlay", empty_ok=True), path))


def merged(base: dict[str, Any], overlay: dict[str, Any], whole_if: str | None = None) -> dict[str, Any]:
    """`base` with `overlay` laid over it: mappings merge key by key, anything else is replaced, and
    so is a mapping holding the key `whole_if` (a source's `kind`: one source never mixes with
    another's fields)."""
    result = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict) and whole_if not in value:
            result[key] = merged(result[key], value, whole_if)
        else:
            result[key] = value
    return result
