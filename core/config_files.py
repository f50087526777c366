"""The one way the project reads a YAML file: a mapping, `${VAR}` filled in, validated by a pydantic
model, and every problem as one line that names the file and the key."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")


def read_yaml_mapping(path: Path, what: str = "config file", empty_ok: bool = False) -> dict[str, Any]:
    """The YAML mapping in `path`; a missing file, bad YAML or anything but a mapping (or, with
    `empty_ok`, an empty file) is a ConfigError."""
    if not path.is_file():
        raise ConfigError(f"{what} '{path}': no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{what} '{path}': not valid YAML ({str(error).splitlines()[0]})") from None
    if raw is None and empty_ok:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{what} '{path}': must be a mapping of keys to values")
    return raw


def validate(
    model: type[M], raw: Any, where: str, prefix: str = "", context: dict[str, Any] | None = None
) -> M:
    """`raw` as `model` (with pydantic's validation `context`); a ValidationError becomes a
    ConfigError `where: key.path: problem`."""
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as error:
        raise ConfigError(f"{where}: {describe_validation_error(error, prefix, raw)}") from None


def describe_validation_error(error: ValidationError, prefix: str, raw: Any = None) -> str:
    """One line naming the first offending key as the user wrote it, e.g. `parameters.train.params: ...`.

    pydantic puts the chosen member of a tagged union (a source's `kind`) into the location; with
    the `raw` input at hand, such a part is left out, since the user never wrote it.
    """
    problems = error.errors()
    # What the user wrote wrong first; a key they left out only when nothing they wrote is wrong.
    first = next((problem for problem in problems if problem["type"] != "missing"), problems[0])
    parts = [str(part) for part in (prefix, *_as_written(first["loc"], raw)) if part != ""]
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    extra = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{'.'.join(parts)}: {message}{extra}"


def _as_written(location: tuple[int | str, ...], raw: Any) -> list[int | str]:
    written: list[int | str] = []
    node, tagged = raw, None
    for part in location:
        if isinstance(node, dict) and node is not tagged and node.get("kind") == part:
            tagged = node  # the union's tag, not a key (even when a key has its name: `stream`)
            continue
        written.append(part)
        node = node.get(part) if isinstance(node, dict) else None
    return written


def expand_env(value: Any, path: Path) -> Any:
    """`value` with `${VAR}` / `${VAR:-default}` filled in from the environment, recursively.

    `${VAR:-}` alone, with VAR unset or empty, becomes None: the component's own default applies.
    `path` names the file when a variable without a default is unset.
    """
    if isinstance(value, dict):
        return {key: expand_env(item, path) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item, path) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise ConfigError(f"{path}: environment variable {name} is not set")
        return default

    expanded = ENV_REFERENCE.sub(substitute, value)
    return None if expanded == "" and ENV_REFERENCE.fullmatch(value) else expanded
