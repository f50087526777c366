"""steps/package_lookup.py: ZenML's package lookup answers the same, from one scan per environment."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import sys
from collections.abc import Iterator, Mapping
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from zenml.utils import source_utils

from steps import package_lookup

MODULES = ["pandas.core.frame", "sklearn.pipeline", "zenml.types", "yaml", "core.validation", "builtins"]


@functools.cache
def zenml_original(module_name: str) -> str | None:
    """ZenML 0.98's own `_get_package_for_module`. It scans on every call; here its scans share
    one answer (the installed distributions do not change during the tests)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importlib.metadata, "packages_distributions", _one_scan)
        answer: str | None = package_lookup.ORIGINAL(module_name)
    return answer


@functools.cache
def _one_scan() -> Mapping[str, list[str]]:
    return packages_distributions()


def test_importing_the_steps_installs_it_in_zenml() -> None:
    assert source_utils._get_package_for_module is package_lookup.package_for_module


@pytest.mark.parametrize("module", MODULES)
def test_it_answers_as_zenml_does(module: str) -> None:
    assert package_lookup.package_for_module(module) == zenml_original(module)


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[int]]:
    """Counts the scans of the installed distributions, with the cache file in `tmp_path`."""
    counted: list[int] = []

    def counting() -> Mapping[str, list[str]]:
        counted.append(1)
        return packages_distributions()

    monkeypatch.setattr(package_lookup, "packages_distributions", counting)
    monkeypatch.setattr(package_lookup, "cache_path", lambda: tmp_path / package_lookup.CACHE_FILE)
    package_lookup._distributions_by_top_level_module.cache_clear()
    yield counted
    package_lookup._distributions_by_top_level_module.cache_clear()


def test_many_lookups_read_the_installed_distributions_once(scans: list[int]) -> None:
    answers = [package_lookup.package_for_module(module) for module in MODULES * 3]

    assert len(scans) == 1
    assert answers[: len(MODULES)] == [zenml_original(module) for module in MODULES]


def test_a_later_process_reads_the_answer_from_the_cache_file(scans: list[int]) -> None:
    first = [package_lookup.package_for_module(module) for module in MODULES]
    package_lookup._distributions_by_top_level_module.cache_clear()  # as a new process starts

    assert [package_lookup.package_for_module(module) for module in MODULES] == first
    assert len(scans) == 1


def test_a_changed_environment_scans_again(scans: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    package_lookup.package_for_module("pandas")
    package_lookup._distributions_by_top_level_module.cache_clear()
    monkeypatch.setattr(package_lookup, "environment_key", lambda: "a distribution was installed since")

    assert package_lookup.package_for_module("pandas") == zenml_original("pandas")
    assert len(scans) == 2


def test_processes_with_different_paths_keep_their_answers_side_by_side(
    scans: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("the CLI's path", "the test runner's path", "the CLI's path", "the test runner's path"):
        monkeypatch.setattr(package_lookup, "environment_key", lambda key=key: key)
        package_lookup._distributions_by_top_level_module.cache_clear()  # as a new process starts
        assert package_lookup.package_for_module("pandas") == zenml_original("pandas")

    assert len(scans) == 2


def test_only_the_latest_answers_are_kept(scans: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package_lookup, "KEPT_ANSWERS", 2)
    for number in range(3):
        monkeypatch.setattr(package_lookup, "environment_key", lambda number=number: f"environment {number}")
        package_lookup._distributions_by_top_level_module.cache_clear()
        package_lookup.package_for_module("pandas")
    kept = json.loads(package_lookup.cache_path().read_text(encoding="utf-8"))["answers"]

    assert list(kept) == ["environment 1", "environment 2"]


def test_installing_a_distribution_changes_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(sys, "path", [str(site)])
    before = package_lookup.environment_key()
    (site / "newpkg-1.0.dist-info").mkdir()
    os.utime(site, ns=(0, os.stat(site).st_mtime_ns + 1_000_000))  # as a later install would leave it

    assert package_lookup.environment_key() != before


def test_a_corrupt_cache_file_is_scanned_over(scans: list[int], tmp_path: Path) -> None:
    (tmp_path / package_lookup.CACHE_FILE).write_text("{not json", encoding="utf-8")

    assert package_lookup.package_for_module("yaml") == zenml_original("yaml")
    assert len(scans) == 1
    assert json.loads((tmp_path / package_lookup.CACHE_FILE).read_text(encoding="utf-8"))["answers"]
