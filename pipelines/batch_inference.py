"""Batch inference: ingest -> validate (training schema) -> drift check (Evidently) -> predict."""

from __future__ import annotations

from zenml import pipeline

from core.drift import DriftConfig
from core.scoring import OutputConfig, ScoringConfig
from core.sources import DataConfig
from core.validation import ValidationConfig
from pipelines.execution import ActiveStack, production_version, run_pipeline, zenml_run_options
from pipelines.parameters import BatchInferenceParameters
from pipelines.run_config import RunConfig
from pipelines.stream_entries import acknowledge_entries
from pipelines.summaries import BatchInferenceSummary
from stacks.prometheus.metrics import MonitoringConfig
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


def run_batch_inference(
    config: RunConfig[BatchInferenceParameters], stack: ActiveStack
) -> BatchInferenceSummary:
    version = production_version(config.model_name)
    params = config.parameters
    run = run_pipeline(
        batch_inference,
        zenml_run_options(config, stack),
        data=params.data,
        validation=params.validation,
        drift=params.drift,
        scoring=params.scoring,
        output=params.output,
        monitoring=params.monitoring,
    )
    metadata = run.run_metadata
    acknowledged = acknowledge_entries(params.data.source, run)
    return BatchInferenceSummary(
        run_name=run.name,
        stack=stack.name,
        model_name=config.model_name,
        model_version=str(version.number),
        drift=run.steps["check_data_drift"].outputs["drift_result"][0].load(),
        predictions_path=str(metadata["predictions_path"]),
        scored_by=str(metadata["scored_by"]),
        stream_entries=acknowledged,
    )
