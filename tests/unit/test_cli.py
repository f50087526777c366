"""The CLI's contract for mistakes made before any work starts: one line, non-zero, no ZenML import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

RUN = str(PROJECT_ROOT / "run.py")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, RUN, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_help_lists_pipelines_without_importing_zenml_or_mlflow() -> None:
    probe = (
        "import runpy, sys\n"
        f"sys.argv = [{RUN!r}, '--help']\n"
        "try:\n"
        f"    runpy.run_path({RUN!r}, run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "heavy = sorted(m for m in ('zenml', 'mlflow', 'sklearn', 'pandas') if m in sys.modules)\n"
        "print('HEAVY:', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )

    assert "--pipeline" in result.stdout and "training" in result.stdout
    assert "HEAVY: []" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--pipeline", "nope"),
            "error: --pipeline: unknown pipeline 'nope'; choose one of: training, deployment",
        ),
        (("--config", "x.yaml"), "error: --pipeline is required; choose one of: training, deployment"),
        (
            ("--pipeline", "training", "--config", "/no/such.yaml"),
            "error: config file '/no/such.yaml': no such file",
        ),
        (
            ("--pipeline", "training", "--data", "/no/such.csv"),
            "error: --data: data file '/no/such.csv': no such file",
        ),
    ],
    ids=["unknown-pipeline", "no-pipeline", "missing-config", "missing-data"],
)
def test_mistakes_get_one_line_and_exit_1(args: tuple[str, ...], expected: str) -> None:
    result = run(*args)

    assert result.returncode == 1
    assert result.stderr.strip() == expected
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("model: {name: m}\nparameters: {train: {estimatr: x}}\n", "parameters.train.estimatr: unknown key"),
        (
            "model: {name: m}\nparameters: {split: {test_size: big}}\n",
            "parameters.split.test_size: Input should be a valid number",
        ),
        (
            "model: {name: m}\nparameters: {split: {test_size: 1.5}}\n",
            "parameters.split.test_size: Input should be less than 1",
        ),
        ("model: {name: m}\nparameters: {promotion: {gates: {accuracy: 2}}}\n", "gate for 'accuracy' is 2.0"),
        ("parameters: {}\n", "model.name: required"),
        ("model: [\n", "not valid YAML"),
    ],
    ids=["unknown-key", "wrong-type", "impossible-split", "impossible-gate", "no-model", "bad-yaml"],
)
def test_invalid_config_names_the_key(tmp_path: Path, yaml_text: str, expected: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)

    result = run("--pipeline", "training", "--config", str(config))

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {config}") or lines[0].startswith("error: config file")
    assert expected in lines[0]


def test_data_file_of_unknown_type_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data.xlsx"
    data.write_bytes(b"PK")

    result = run("--pipeline", "training", "--data", str(data))

    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"error: --data {data}: unsupported file type '.xlsx'; use .csv, .tsv or .parquet"
    )
