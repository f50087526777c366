"""A new step between train and evaluate, added by following docs/how-to/add-a-step.md to the letter
in a copy of the project: its files written and its diffs applied as the how-to shows them, then
the training run it names, which now holds the step and stops on a model that breaks its promise."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.docs_blocks import doc_block, journey_blocks
from tests.journeys.conftest import model_show
from tests.journeys.workspace import Workspace

pytestmark = pytest.mark.journey


@pytest.fixture(scope="module")
def changed(adopter: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The project with the how-to's changes made."""
    copy = adopter.private_copy(tmp_path_factory.mktemp("new-step") / "project")
    for block in journey_blocks("add-a-step"):
        assert block.title, f"a block of the how-to names no file: {block.text[:80]}"
        if block.language == "diff":
            subprocess.run(
                ["git", "apply", "--verbose", "-"],
                input=block.text,
                cwd=copy.root,
                check=True,
                text=True,
                capture_output=True,
                timeout=60,
            )
        else:
            target = copy.root / block.title
            assert not target.exists(), f"the how-to would overwrite {block.title}"
            target.write_text(block.text, encoding="utf-8")
    return copy


def test_the_training_run_now_has_the_step_and_promotes_a_model_that_keeps_its_promise(
    changed: Workspace,
) -> None:
    output = changed.bash(doc_block("add-a-step-run"))

    assert "cached steps      │ 0 of 8" in output
    assert model_show(changed)["stage"] == "production"
    checked = changed.python_json(
        "import json\n"
        "from zenml.client import Client\n"
        "run = Client().list_pipeline_runs(pipeline='training', sort_by='desc:created', size=1).items[0]\n"
        "step = run.steps['check_model_promises']\n"
        "print(json.dumps({'promises': step.outputs['promises'][0].load(), "
        "'evaluated_after': run.steps['evaluate_model'].start_time >= step.end_time}))\n"
    )
    assert checked == {"promises": 2, "evaluated_after": True}


def test_a_model_that_breaks_the_promise_stops_the_run_and_nothing_is_promoted(
    changed: Workspace, tmp_path: Path
) -> None:
    config = yaml.safe_load((changed.root / "configs" / "training.yaml").read_text(encoding="utf-8"))
    config["parameters"]["train"] = {"estimator": "sklearn.dummy.DummyClassifier"}
    config["parameters"]["promotion"] = {"gates": {}}
    path = tmp_path / "collapsed.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")

    code, error = changed.cli_fails("--pipeline", "training", "--config", str(path))

    assert code == 1
    assert error.strip().splitlines()[-1] == (
        "error: step check_model_promises: held-out rows: the model never predicts class 0"
    )
    production = model_show(changed)
    assert production["version"] == "1"


def test_a_bug_in_the_new_step_is_one_line_naming_the_step_and_its_log(changed: Workspace) -> None:
    """An error nobody foresaw (here a typo in the user's new step): no traceback on the screen,
    one line naming the step, the error and the step's log, which holds the traceback."""
    step = changed.root / "steps" / "check_promises.py"
    step.write_text(
        step.read_text(encoding="utf-8").replace("feature_schema.classes", "feature_schema.clases")
    )

    code, error = changed.cli_fails("--pipeline", "training", "--no-cache")

    line = error.strip().splitlines()[-1]
    assert code == 1
    assert line.startswith("error: step check_model_promises of run training-")
    assert "failed: AttributeError: 'FeatureSchema' object has no attribute 'clases' (its log: " in line
    log = Path(line.rsplit("(its log: ", 1)[1].removesuffix(")"))
    assert "AttributeError" in log.read_text(encoding="utf-8")
