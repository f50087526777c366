"""The one place that talks to MLflow: parameters, metrics and the model of a training run.

Every function is a no-op returning None when no MLflow run is active, i.e. when the active stack
has no experiment tracker; the caller logs that once instead of failing.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from core.dependencies import pyfunc_requirements

MODEL_ARTIFACT_NAME = "model"
INPUT_EXAMPLE_ROWS = 5
# ZenML 0.98's tracker disables autologging framework by framework after each step and warns about
# `mlflow.fastai`, which MLflow 3 no longer has, so there is nothing to disable: nobody can act on it.
ZENML_TRACKER_LOGGER = "zenml.integrations.mlflow.experiment_trackers.mlflow_experiment_tracker"
NOTHING_TO_DISABLE = "Failed to disable MLflow autologging for the following frameworks: ['fastai']."


class _NothingToDisable(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != NOTHING_TO_DISABLE


logging.getLogger(ZENML_TRACKER_LOGGER).addFilter(_NothingToDisable())


def active_run_id() -> str | None:
    import mlflow

    run = mlflow.active_run()
    return run.info.run_id if run else None


def log_training_run(model: Pipeline, params: dict[str, Any], features: pd.DataFrame) -> str | None:
    """Log the estimator's parameters and the fitted pipeline with its signature and an example."""
    import mlflow
    import mlflow.sklearn
    import skops.io
    from mlflow.models import infer_signature

    run_id = active_run_id()
    if run_id is None:
        return None
    mlflow.log_params({f"estimator.{k}": v for k, v in params.items()})
    example = features.head(INPUT_EXAMPLE_ROWS)
    signature = infer_signature(example, model.predict_proba(example))
    mlflow.sklearn.log_model(
        model,
        name=MODEL_ARTIFACT_NAME,
        signature=signature,
        input_example=example,
        pip_requirements=pyfunc_requirements(model),
        # MLflow stores sklearn models with skops, which asks which types to trust on load. The model
        # was built in this process, so the types it contains are exactly the ones to trust.
        skops_trusted_types=skops.io.get_untrusted_types(data=skops.io.dumps(model)),
    )
    return run_id


def log_metrics(metrics: dict[str, float], prefix: str = "test_") -> str | None:
    import mlflow

    run_id = active_run_id()
    if run_id is not None:
        mlflow.log_metrics({f"{prefix}{name}": value for name, value in metrics.items()})
    return run_id


def log_text(run_id: str, text: str, path: str) -> bool:
    """A text file in the artifacts of a given run, from a step that has no MLflow run of its own:
    the active stack's tracker sets the tracking URI and credentials. False when it has none."""
    import mlflow
    from zenml.client import Client

    configure = getattr(Client().active_stack.experiment_tracker, "configure_mlflow", None)
    if configure is None:
        return False
    configure()
    mlflow.MlflowClient().log_text(run_id, text, path)
    return True


def log_files(files: dict[str, bytes | str], folder: str | None = None) -> str | None:
    """Files (plots, a report) in the active run's artifacts, under `folder` if given."""
    import tempfile
    from pathlib import Path

    import mlflow

    run_id = active_run_id()
    if run_id is None:
        return None
    with tempfile.TemporaryDirectory() as directory:
        for name, content in files.items():
            path = Path(directory) / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        mlflow.log_artifacts(directory, folder)
    return run_id
