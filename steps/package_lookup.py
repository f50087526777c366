"""ZenML's package lookup from one scan of the installed distributions per environment (ZenML 0.98).

ZenML records which package each artifact's type comes from: its `_get_package_for_module` calls
`importlib.metadata.packages_distributions()`, which reads the metadata of every installed
distribution (about 0.5 s here), once for every artifact a step stores, ten times in a training
run. Here the mapping is read once and kept in ZenML's config folder, keyed by the interpreter and
the modification times of the folders on `sys.path` (installing, upgrading or removing a
distribution adds or renames a folder there, which changes its time), so a later process with the
same distributions reads the answer instead of scanning again. The file keeps the answers of the last
few keys: the CLI, a test runner and an orchestrator's step process see different `sys.path`s and
share one config folder, and would otherwise overwrite each other's answer. The answers are ZenML's.
Installed by importing the `steps` package, so it is in place in every process that runs steps, on
every orchestrator.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Mapping
from importlib.metadata import packages_distributions
from pathlib import Path

from zenml.utils import io_utils, source_utils

CACHE_FILE = "package-distributions.json"
KEPT_ANSWERS = 8


def environment_key() -> str:
    """What the answer depends on: the interpreter and the state of every folder it finds packages in."""
    parts = [sys.executable]
    for entry in sys.path:
        try:
            parts.append(f"{entry}:{os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            parts.append(f"{entry}:-")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def cache_path() -> Path:
    return Path(io_utils.get_global_config_directory()) / CACHE_FILE


@functools.cache
def _distributions_by_top_level_module() -> Mapping[str, list[str]]:
    key, path = environment_key(), cache_path()
    try:
        answers: dict[str, dict[str, list[str]]] = json.loads(path.read_text(encoding="utf-8"))["answers"]
        if not isinstance(answers, dict):
            raise TypeError("answers")
    except (OSError, ValueError, KeyError, TypeError):
        answers = {}
    if key in answers:
        return answers[key]
    answers[key] = mapping = dict(packages_distributions())
    _write_atomically(path, {"answers": dict(list(answers.items())[-KEPT_ANSWERS:])})
    return mapping


def _write_atomically(path: Path, payload: object) -> None:
    """Readers see the old file or the whole new one; a folder that cannot be written is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(payload, out)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)


def package_for_module(module_name: str) -> str | None:
    """The distribution that provides `module_name`, or None if none or several do (as ZenML's)."""
    names = _distributions_by_top_level_module().get(module_name.split(".", maxsplit=1)[0], [])
    return names[0] if len(names) == 1 else None


ORIGINAL = source_utils._get_package_for_module
source_utils._get_package_for_module = package_for_module
