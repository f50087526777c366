"""Journeys: what a new user types in their first week, in the environment README command 1 makes,
checked by what it leaves behind (the model versions, the endpoint's answers, the files written),
not by exit codes alone. See tests/journeys/workspace.py for the environment."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from tests.journeys.workspace import Workspace, adopter_project

PREDICTION_URL = re.compile(r"prediction_url: (http://\S+)")


@pytest.fixture(scope="module")
def adopter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The shared project copy with no extras, and this module's own ZenML config; whatever the
    module deployed is stopped afterwards."""
    workspace = Workspace(root=adopter_project(), home=tmp_path_factory.mktemp("journey"))
    yield workspace
    stop_deployments(workspace)


def stop_deployments(workspace: Workspace) -> None:
    """`deployment stop` for every model of the journey's ZenML store that has a deployment."""
    models = workspace.python_json(
        "import json\n"
        "from zenml.client import Client\n"
        "from stacks.deployers import active_model_deployer\n"
        "deployer = active_model_deployer()\n"
        "names = [model.name for model in Client().list_models(size=100).items]\n"
        "print(json.dumps([name for name in names if deployer is not None and deployer.services_of(name)]))\n"
    )
    for model in models:
        workspace.cli("deployment", "stop", "--model-name", model)


def prediction_url(output: str) -> str:
    found = PREDICTION_URL.search(output)
    assert found, output[-2000:]
    return found.group(1)


def infer(base_url: str, model: str, rows: pd.DataFrame) -> dict[str, Any]:
    """One V2 request with the rows' columns, as any client sends it; the decoded answer."""
    inputs = []
    for name in rows.columns:
        column = rows[name]
        numeric = pd.api.types.is_numeric_dtype(column)
        values = [None if pd.isna(v) else (float(v) if numeric else str(v)) for v in column.tolist()]
        inputs.append(
            {"name": name, "datatype": "FP64" if numeric else "BYTES", "shape": [len(rows)], "data": values}
        )
    response = requests.post(f"{base_url}/v2/models/{model}/infer", json={"inputs": inputs}, timeout=60)
    body: dict[str, Any] = response.json()
    body["status_code"] = response.status_code
    return body


def answers_in_memory(workspace: Workspace, model: str, version: str, rows: Path) -> dict[str, Any]:
    """What the version's fitted pipeline, loaded from the Model Control Plane, answers for the rows
    of a file: the yardstick the served and batch answers must equal."""
    return workspace.python_json(
        "import json\n"
        "from zenml.client import Client\n"
        "from core.modeling import prepare_features\n"
        "from core.sources import load_source, source_for_path\n"
        "from pathlib import Path\n"
        f"version = Client().get_model_version({model!r}, {version!r})\n"
        "pipeline = version.get_model_artifact('model').load()\n"
        "schema = version.get_data_artifact('feature_schema').load()\n"
        f"rows = load_source(source_for_path(Path({str(rows)!r})))\n"
        "probabilities = pipeline.predict_proba(prepare_features(rows, schema))\n"
        "classes = [c.item() if hasattr(c, 'item') else c for c in pipeline.classes_]\n"
        "print(json.dumps({'classes': classes, 'probabilities': probabilities.tolist(), "
        "'labels': [classes[i] for i in probabilities.argmax(axis=1)]}))\n"
    )


def model_show(workspace: Workspace, *args: str) -> dict[str, Any]:
    """`run.py model show ... --json`, as a script reads it."""
    output = workspace.cli("model", "show", *args, "--json")
    line = next(line for line in reversed(output.splitlines()) if line.startswith("{"))
    return json.loads(line)
