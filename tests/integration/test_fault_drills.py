"""Fault drills on the embedded stack: a training run killed with -9 mid-way, and two runs at once.

Each drill trains a model of its own name, so production of the other tests' models is untouched.
(The S3 server dying mid-run is drilled in test_local_servers; a killed MLServer and a model that
fails readiness in test_deployment.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from zenml.client import Client
from zenml.enums import ExecutionStatus, ModelStages

from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import make_multiclass_frame

pytestmark = pytest.mark.store


def _start_training(model_name: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "run.py", "--pipeline", "training", "--model-name", model_name, *extra],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _versions(model_name: str) -> list[Any]:
    return list(Client().list_model_versions(model_name, size=50).items)


def _production(model_name: str) -> list[Any]:
    return [version for version in _versions(model_name) if version.stage == ModelStages.PRODUCTION]


def _runs(model_name: str) -> list[Any]:
    """The model's training runs, oldest first (the store holds the other tests' runs too)."""
    runs = Client().list_pipeline_runs(pipeline="training", sort_by="desc:created", size=50).items
    return [run for run in reversed(runs) if run.model_version and run.model_version.model.name == model_name]


def test_run_killed_mid_way_then_rerun_reuses_its_cached_steps(tmp_path: Path) -> None:
    """On a data file no other run has seen, so every cached step comes from the killed run."""
    model, data = "drill_killed_run", tmp_path / "unseen.csv"
    make_multiclass_frame(seed=20261126).to_csv(data, index=False)
    training = ("--data", str(data), "--target", "species")
    killed = _start_training(model, *training)
    assert killed.stdout is not None
    output = []
    for line in killed.stdout:
        output.append(line)
        if "train_model" in line and "has started" in line:  # ingest, validate, split are done
            os.kill(killed.pid, signal.SIGKILL)
            break
    assert killed.wait(60) == -signal.SIGKILL, "".join(output)[-3000:]
    assert _production(model) == []  # it never reached promotion

    rerun = subprocess.run(
        [sys.executable, "run.py", "--pipeline", "training", "--model-name", model, *training],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    first, second = _runs(model)[-2:]
    assert first.status != ExecutionStatus.COMPLETED
    second = Client().get_pipeline_run(second.id)
    assert second.status == ExecutionStatus.COMPLETED
    cached = {name for name, step in second.steps.items() if step.status == ExecutionStatus.CACHED}
    assert cached == {"validate_data", "split_data"}  # ingest always re-reads; train never finished
    production = _production(model)
    assert second.model_version is not None
    assert [version.number for version in production] == [second.model_version.number]
    assert production[0].run_metadata["promotion"]["promoted"] is True


def test_two_runs_at_once_leave_one_consistent_production_version() -> None:
    model = "drill_concurrent_runs"
    runs = [_start_training(model, "--no-cache") for _ in range(2)]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]

    versions = {version.number: version for version in _versions(model)}
    assert len(versions) == 2
    production = _production(model)
    assert len(production) == 1
    # The decisions were taken one after the other: the first found no production version, the
    # second compared itself with the first's model (equal here, so it was promoted over it).
    decisions = {number: version.run_metadata["promotion"] for number, version in versions.items()}
    first = next(number for number, decision in decisions.items() if decision["champion_version"] is None)
    second = next(number for number in versions if number != first)
    assert decisions[second]["champion_version"] == str(first)
    assert production[0].number == second and decisions[second]["promoted"] is True


def test_manual_promotion_during_a_training_promotion_waits_and_sees_its_result() -> None:
    """`model promote` started while a training run's promote step decides: it waits for the
    model's lock, then records the training's new version as the production it replaced."""
    model = "drill_concurrent_runs"  # two versions from the drill above
    earlier = min(version.number for version in _versions(model))
    training = _start_training(model, "--no-cache")
    assert training.stdout is not None
    output = []
    for line in training.stdout:
        output.append(line)
        if "promote_model" in line and "started" in line:
            break
    promoted = subprocess.run(
        [
            sys.executable,
            "run.py",
            "model",
            "promote",
            str(earlier),
            "--reason",
            "drill",
            "--model-name",
            model,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output.append(training.communicate(timeout=900)[0])
    assert training.returncode == 0, "".join(output)[-3000:]
    assert promoted.returncode == 0, promoted.stdout[-2000:] + promoted.stderr[-2000:]

    newest = max(_versions(model), key=lambda version: version.number)
    assert newest.run_metadata["promotion"]["promoted"] is True
    production = _production(model)
    assert [version.number for version in production] == [earlier]
    assert production[0].run_metadata["manual_promotion"]["previous_production"] == str(newest.number)


FIRST_USE = (
    "from zenml.utils import source_utils; source_utils.set_custom_source_root('.'); "
    "from pipelines.execution import prepare_stack; print(prepare_stack().name)"
)


def test_runs_started_together_on_a_new_zenml_config_share_one_new_store(tmp_path: Path) -> None:
    """Each run creates and migrates the local store and registers the project's stack on first
    use; three at once on a new config (a user's first runs, started together) all get there."""
    env = {**os.environ, "ZENML_CONFIG_PATH": str(tmp_path / "zenml")}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]

    assert [output.strip().splitlines()[-1] for output in outputs] == ["local"] * 3, outputs
