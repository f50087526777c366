"""The reference pages that the code can tell: the configuration keys and the command line.

`reference/configuration.md` comes from the pydantic models that validate the configs (a key's
meaning is its field docstring), `reference/cli.md` from the typer app (`typer ... utils docs`).
They are made when the MkDocs site is built (this file is a hook in mkdocs.yml), never stored, so
they cannot drift from the code. To read one in a terminal:
Usage: python scripts/reference_docs.py configuration|cli
"""

from __future__ import annotations

import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.sources import Source  # noqa: E402
from pipelines.parameters import PARAMETERS  # noqa: E402

HEADER = """# Configuration reference

<!-- Made from the pydantic models by scripts/reference_docs.py when the site is built. -->

Each pipeline reads `configs/<pipeline>.yaml`, a ZenML run configuration: `model` (name,
description, tags, license; `version: production` for the pipelines that use the production
version) and any other ZenML run option (`settings`, `steps`, `enable_cache`) go to ZenML, and
`parameters` are the pipeline's arguments, listed here. They are checked before anything runs: an
unknown key or a wrong type is refused with one line naming the key. A shipped config lists only
what differs from these defaults.
"""


def pages() -> dict[str, str]:
    """The generated pages by their path in the docs."""
    return {"reference/configuration.md": configuration_page(), "reference/cli.md": cli_page()}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """MkDocs hook: add the generated pages to the site being built."""
    for path, text in pages().items():
        files.append(File.generated(config, path, content=text))
    return files


def main() -> int:
    page = sys.argv[1] if len(sys.argv) > 1 else ""
    if page not in ("configuration", "cli"):
        print("usage: python scripts/reference_docs.py configuration|cli", file=sys.stderr)
        return 2
    print(configuration_page() if page == "configuration" else cli_page(), end="")
    return 0


def cli_page() -> str:
    """typer's own Markdown of every command, option and help text."""
    command = [str(Path(sys.executable).with_name("typer")), "cli.main", "utils", "docs"]
    command += ["--name", "python run.py", "--title", "Command line"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    return result.stdout.strip() + "\n"


def configuration_page() -> str:
    parts = [HEADER]
    for pipeline, model in PARAMETERS.items():
        config = f"configs/{pipeline.replace('-', '_')}.yaml"
        parts.append(f"## `{pipeline}` (`{config}`)\n\n{_doc(model)}\n")
        parts.append(_table(_rows(model, "parameters")))
    parts.append("## Data sources (`data.source`)\n\n`kind` chooses the source; each has its own keys.\n")
    for source in get_args(get_args(Source)[0]):
        kind = get_args(source.model_fields["kind"].annotation)[0]
        parts.append(f"### `kind: {kind}`\n\n{_doc(source)}\n")
        rows = [row for row in _rows(source, "data.source") if row[0] != "`data.source.kind`"]
        parts.append(_table(rows) if rows else "No other keys.\n")
    return "\n".join(parts)


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}.{name}"
        section = _section_model(field.annotation)
        if section is not None and section is not _SOURCE_MARK:
            if not field.is_required() and _default(field) == "null":  # an optional section
                rows.append((f"`{key}`", "section or null", "null", _describe(field)))
            rows += _rows(section, key)
            continue
        kind = "one of the [data sources](#data-sources-datasource)" if section is _SOURCE_MARK else None
        rows.append((f"`{key}`", kind or _type_name(field.annotation), _default(field), _describe(field)))
        items = _item_model(field.annotation)
        if items is not None:  # a mapping or list of sections: each item's keys, under a placeholder
            rows += _rows(items[1], f"{key}{items[0]}")
    return rows


def _item_model(annotation: Any) -> tuple[str, type[BaseModel]] | None:
    """For `dict[str, Model]` or `list[Model]`: how an item's key is written, and its model."""
    origin, args = get_origin(annotation), get_args(annotation)
    item = args[-1] if origin in (dict, list) and args else None
    if isinstance(item, type) and issubclass(item, BaseModel):
        return (".<name>" if origin is dict else "[]"), item
    return None


_SOURCE_MARK = BaseModel  # stands for the source union, documented in its own section


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The config section a field holds (a model, optional or not), or None for a plain value."""
    if annotation == get_args(Source)[0]:
        return _SOURCE_MARK
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    members = [arg for arg in get_args(annotation) if arg is not type(None)]
    if get_origin(annotation) in (types.UnionType, typing.Union) and len(members) == 1:
        return _section_model(members[0])
    return None


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{value}`" for value in args)
    if origin in (types.UnionType, typing.Union):
        named = " or ".join(_type_name(arg) for arg in args if arg is not type(None))
        return named + " or null" if type(None) in args else named
    if origin in (list, dict):
        return f"{origin.__name__} of " + ", ".join(_type_name(arg) for arg in args)
    if get_origin(annotation) is typing.Annotated:
        return _type_name(args[0])
    return getattr(annotation, "__name__", str(annotation)).replace("NoneType", "null")


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel):
        return "(section defaults)"
    if value is None:
        return "null"
    return f"`{str(value).lower()}`" if isinstance(value, bool) else f"`{value}`"


def _describe(field: FieldInfo) -> str:
    return " ".join((field.description or "").split()).replace("|", "\\|")


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def _table(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    lines += [f"| {key} | {kind} | {default} | {meaning} |" for key, kind, default, meaning in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
