"""Batch inference: ingest -> validate (training schema) -> drift check (Evidently) -> predict."""

from zenml import pipeline

from lifecycle.config import DataConfig, MonitoringConfig, OutputConfig, ScoringConfig, ValidationConfig
from lifecycle.drift import DriftConfig
from steps.check_drift import check_data_drift
from steps.ingest import ingest_data
from steps.predict import predict_batch
from steps.validate_batch import validate_new_batch


@pipeline(name="batch_inference", enable_cache=False)
def batch_inference(
    data: DataConfig,
    validation: ValidationConfig,
    drift: DriftConfig,
    scoring: ScoringConfig,
    output: OutputConfig,
    monitoring: MonitoringConfig,
) -> None:
    raw_data = ingest_data(data)
    batch = validate_new_batch(raw_data, validation, labeled=False)
    check_data_drift(batch, drift, monitoring)
    predict_batch(batch, scoring, output, after="check_data_drift")
