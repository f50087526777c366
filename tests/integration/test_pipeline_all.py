"""`python run.py --pipeline all`: from data to a live endpoint in one command (train, then serve)."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_breast_cancer
from zenml.client import Client
from zenml.enums import ModelStages

from lifecycle.v2_client import V2Client
from tests.integration.conftest import run_cli

pytestmark = pytest.mark.integration

MODEL = "all_in_one"


def test_all_trains_promotes_and_serves_the_production_version() -> None:
    result = run_cli("--pipeline", "all", "--model-name", MODEL)
    try:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        production = Client().get_model_version(MODEL, ModelStages.PRODUCTION)
        run = Client().list_pipeline_runs(pipeline="deployment", sort_by="desc:created", size=1).items[0]
        client = V2Client(str(run.run_metadata["prediction_url"]), MODEL, timeout_seconds=30)

        rows = load_breast_cancer(as_frame=True).frame.drop(columns="target").head(3)

        assert client.is_ready()
        assert client.predict(rows).model_version == str(production.number)
    finally:
        run_cli("deployment", "stop", "--model-name", MODEL)
