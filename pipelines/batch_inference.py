"""Batch inference: score the batch chunk by chunk (checked by the production version's contract,
written to a partitioned output, sampled on the way), then check the sample for drift (Evidently)."""

from __future__ import annotations

from zenml import pipeline

from core.drift import DriftConfig
from core.scoring import OutputConfig, ScoringConfig
from core.sources import DataConfig
from pipelines.execution import ActiveStack, production_version, run_pipeline, zenml_run_options
from pipelines.parameters import BatchInferenceParameters
from pipelines.run_config import RunConfig
from pipelines.stream_entries import acknowledge_entries
from pipelines.summaries import BatchInferenceSummary
from stacks.prometheus.metrics import MonitoringConfig
from steps.check_drift import check_data_drift
from steps.names import DRIFT_RESULT, PREDICTIONS
from steps.score_batch import score_batch
from steps.version_artifacts import run_output


@pipeline(name="batch_inference", enable_cache=False)
def batch_inference(
    data: DataConfig,
    drift: DriftConfig,
    scoring: ScoringConfig,
    output: OutputConfig,
    monitoring: MonitoringConfig,
) -> None:
    _, sample, rows, _ = score_batch(data, scoring, output, drift)
    check_data_drift(sample, drift, monitoring, batch_rows=rows)


def run_batch_inference(
    config: RunConfig[BatchInferenceParameters], stack: ActiveStack
) -> BatchInferenceSummary:
    version = production_version(config.model_name)
    params = config.parameters
    run = run_pipeline(
        batch_inference,
        zenml_run_options(config, stack),
        data=params.data,
        drift=params.drift,
        scoring=params.scoring,
        output=params.output,
        monitoring=params.monitoring,
    )
    acknowledged = acknowledge_entries(params.data.source, run)
    return BatchInferenceSummary(
        run_name=run.name,
        stack=stack.name,
        model_name=config.model_name,
        model_version=str(version.number),
        drift=run_output(run, DRIFT_RESULT).load(),
        predictions=run_output(run, PREDICTIONS).load(),
        stream_entries=acknowledged,
    )
