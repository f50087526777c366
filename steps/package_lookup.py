"""One scan of the installed distributions per process, not one per stored artifact (ZenML 0.98).

ZenML records which package each artifact's type comes from: its `_get_package_for_module` calls
`importlib.metadata.packages_distributions()`, which reads the metadata of every installed
distribution (about 0.4 s here), once for every artifact a step stores, ten times in a training
run. The installed distributions do not change while a process runs, so here the mapping is read
once and the answer is the same. Installed by importing the `steps` package, so it is in place in
every process that runs steps, on every orchestrator.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib.metadata import packages_distributions

from zenml.utils import source_utils


@functools.cache
def _distributions_by_top_level_module() -> Mapping[str, list[str]]:
    return packages_distributions()


def package_for_module(module_name: str) -> str | None:
    """The distribution that provides `module_name`, or None if none or several do (as ZenML's)."""
    names = _distributions_by_top_level_module().get(module_name.split(".", maxsplit=1)[0], [])
    return names[0] if len(names) == 1 else None


ORIGINAL = source_utils._get_package_for_module
source_utils._get_package_for_module = package_for_module
