"""The GitHub workflows: valid for actionlint, and running what the README says they run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"


def actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert found, "actionlint is part of the dev extra; run scripts/setup.sh dev"
    return found


def test_workflows_pass_actionlint() -> None:
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yml"))
    result = subprocess.run([actionlint(), *files], capture_output=True, text=True, timeout=120, check=False)

    assert len(files) == 2
    assert result.returncode == 0, result.stdout + result.stderr


def steps_run(name: str) -> list[str]:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def test_test_workflow_runs_the_readme_test_command() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    test_command = quick_start.strip().splitlines()[1]

    assert test_command in steps_run("test.yml")
    assert test_command in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_continuous_training_workflow_is_scheduled_and_runs_the_loop() -> None:
    workflow = yaml.safe_load((WORKFLOWS / "continuous-training.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean

    assert triggers["schedule"][0]["cron"]
    assert any(
        "run.py --pipeline continuous-training" in step for step in steps_run("continuous-training.yml")
    )
