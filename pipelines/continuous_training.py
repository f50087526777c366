"""Continuous training, first stage: a labeled batch -> validate -> drift check -> retrain decision.

When the decision is to retrain, the launcher (pipelines/launch.py) runs the training pipeline on the
production version's data plus this batch, then the deployment pipeline if the new version was
promoted: each is a plain static pipeline, so the loop runs on every orchestrator.
"""

from zenml import pipeline

from lifecycle.config import DataConfig, MonitoringConfig, ValidationConfig
from lifecycle.drift import DriftConfig
from steps.check_drift import check_data_drift
from steps.decide_retraining import decide_retraining
from steps.ingest import ingest_data
from steps.validate_batch import validate_new_batch


@pipeline(name="continuous_training", enable_cache=False)
def continuous_training(
    data: DataConfig, validation: ValidationConfig, drift: DriftConfig, monitoring: MonitoringConfig
) -> None:
    raw_data = ingest_data(data)
    batch = validate_new_batch(raw_data, validation, labeled=True)
    _, drift_result = check_data_drift(batch, drift, monitoring)
    decide_retraining(drift_result)
