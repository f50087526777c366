"""Continuous training: a labeled batch -> validate -> drift check + quality check -> retrain decision,
and the loop that acts on the decision.

Drift compares the batch's features with the production version's training data; quality scores the
production version on the batch's labels. When either calls for it, `run_continuous_training` runs
the training pipeline on the production version's data plus this batch, then the deployment pipeline
if the new version was promoted: each is a plain static pipeline, so the loop runs on every
orchestrator (ZenML's dynamic pipelines do not run on Airflow or Kubeflow). A scheduler (cron, CI,
Airflow) runs the loop.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from zenml import log_metadata, pipeline
from zenml.client import Client

from core.drift import DriftConfig
from core.errors import ConfigError
from core.quality import QualityConfig
from core.retraining import RetrainDecision
from core.sources import ArtifactsSource, CapturedSource, LabeledDataConfig
from pipelines.deployment import run_deployment
from pipelines.execution import ActiveStack, production_version, run_pipeline, zenml_run_options
from pipelines.parameters import ContinuousTrainingParameters, TrainingParameters
from pipelines.run_config import RunConfig, retraining_configs
from pipelines.stream_entries import acknowledge_entries
from pipelines.summaries import ContinuousTrainingSummary, TrainingSummary
from pipelines.training import run_training
from stacks.prometheus.metrics import MonitoringConfig
from steps.check_drift import check_data_drift
from steps.check_quality import check_model_quality
from steps.decide_retraining import decide_retraining
from steps.ingest import ingest_data
from steps.names import DRIFT_RESULT, LABELED_BATCH, QUALITY_RESULT, RETRAIN_DECISION, VALIDATED_DATA
from steps.validate_batch import validate_new_batch
from steps.version_artifacts import run_output


@pipeline(name="continuous_training", enable_cache=False)
def continuous_training(
    data: LabeledDataConfig,
    drift: DriftConfig,
    quality: QualityConfig,
    monitoring: MonitoringConfig,
) -> None:
    raw_data = ingest_data(data)
    # Captured requests are labeled as labels arrive; a batch handed in is labeled on every row.
    labels = "where_arrived" if isinstance(data.source, CapturedSource) else "every_row"
    batch, labeled, label_coverage = validate_new_batch(raw_data, labels)
    _, drift_result = check_data_drift(batch, drift, monitoring)
    _, quality_result = check_model_quality(labeled, label_coverage, quality, monitoring)
    decide_retraining(drift_result, quality_result)


def run_continuous_training(
    config: RunConfig[ContinuousTrainingParameters], stack: ActiveStack
) -> ContinuousTrainingSummary:
    """Drift and quality checks; on drift or a quality drop, the training pipeline on the production
    data plus the batch, then the deployment pipeline if the new version was promoted and the stack
    can deploy."""
    params = config.parameters
    training_config, deployment_config = retraining_configs(config)
    version = production_version(config.model_name)
    run = run_pipeline(
        continuous_training,
        zenml_run_options(config, stack),
        data=params.data,
        drift=params.drift,
        quality=params.quality,
        monitoring=params.monitoring,
    )
    decision: RetrainDecision = run_output(run, RETRAIN_DECISION).load()
    summary = ContinuousTrainingSummary(
        run_name=run.name,
        stack=stack.name,
        model_name=config.model_name,
        model_version=str(version.number),
        drift=run_output(run, DRIFT_RESULT).load(),
        quality=run_output(run, QUALITY_RESULT).load(),
        decision=decision,
        training=None,
        deployment=None,
        not_redeployed_because=None,
    )
    if not decision.retrain:
        return replace(summary, stream_entries=acknowledge_entries(params.data.source, run))
    batch = run_output(run, LABELED_BATCH)
    training = run_training(_on_reference_and_batch(training_config, version, batch, params), stack)
    log_metadata(
        metadata={"retrain_run": training.run_name, "retrained_version": training.model_version},
        run_id_name_or_prefix=run.id,
    )
    summary = replace(summary, training=training)
    reason = _why_not_redeploy(training, params.redeploy)
    if reason is not None:
        return replace(
            summary,
            not_redeployed_because=reason,
            stream_entries=acknowledge_entries(params.data.source, run),
        )
    deployment = run_deployment(deployment_config, stack)
    log_metadata(metadata={"redeployed_url": deployment.prediction_url}, run_id_name_or_prefix=run.id)
    return replace(
        summary, deployment=deployment, stream_entries=acknowledge_entries(params.data.source, run)
    )


def _on_reference_and_batch(
    training: RunConfig[TrainingParameters], version: Any, batch: Any, params: ContinuousTrainingParameters
) -> RunConfig[TrainingParameters]:
    """The training config reading the production version's validated data plus the new batch."""
    reference = version.get_data_artifact(VALIDATED_DATA)
    if reference is None:
        raise ConfigError(f"model version {version.number} has no validated_data to retrain on")
    source = ArtifactsSource(kind="artifacts", ids=[str(reference.id), str(batch.id)])
    data = training.parameters.data.model_copy(update={"source": source, "target": params.data.target})
    return replace(training, parameters=training.parameters.model_copy(update={"data": data}))


def _why_not_redeploy(training: TrainingSummary, redeploy: bool) -> str | None:
    if not training.decision.promoted:
        return f"version {training.model_version} was not promoted"
    if not redeploy:
        return "redeploy is off in the config"
    if Client().active_stack.model_deployer is None:
        return "the active stack has no model deployer"
    return None
