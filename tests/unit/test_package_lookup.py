"""steps/package_lookup.py: ZenML's package lookup answers the same, from one scan per process."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import packages_distributions

import pytest
from zenml.utils import source_utils

from steps import package_lookup

MODULES = ["pandas.core.frame", "sklearn.pipeline", "zenml.types", "yaml", "core.validation", "builtins"]


def zenml_original(module_name: str) -> str | None:
    """ZenML 0.98's own `_get_package_for_module`, which scans on every call."""
    answer: str | None = package_lookup.ORIGINAL(module_name)
    return answer


def test_importing_the_steps_installs_it_in_zenml() -> None:
    assert source_utils._get_package_for_module is package_lookup.package_for_module


@pytest.mark.parametrize("module", MODULES)
def test_it_answers_as_zenml_does(module: str) -> None:
    assert package_lookup.package_for_module(module) == zenml_original(module)


def test_many_lookups_read_the_installed_distributions_once(monkeypatch: pytest.MonkeyPatch) -> None:
    scans: list[int] = []

    def counted() -> Mapping[str, list[str]]:
        scans.append(1)
        return packages_distributions()

    monkeypatch.setattr(package_lookup, "packages_distributions", counted)
    package_lookup._distributions_by_top_level_module.cache_clear()
    try:
        answers = [package_lookup.package_for_module(module) for module in MODULES * 3]
    finally:
        package_lookup._distributions_by_top_level_module.cache_clear()

    assert len(scans) == 1
    assert answers[: len(MODULES)] == [zenml_original(module) for module in MODULES]
