"""What a run leaves for the person who started it: the figures the CLI prints after each pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.batch_scoring import BatchPredictions
from core.drift import DriftResult
from core.promotion import PromotionDecision
from core.quality import QualityResult
from core.retraining import RetrainDecision
from steps.names import METRICS, PROMOTION_DECISION
from steps.version_artifacts import run_output


@dataclass(frozen=True)
class TrainingSummary:
    run_name: str
    stack: str
    model_name: str
    model_version: str
    stage: str | None
    metrics: dict[str, float]
    decision: PromotionDecision
    mlflow_run_id: str | None
    cached_steps: int
    total_steps: int
    stream_entries: str | None = None  # what was acknowledged, for a stream source


@dataclass(frozen=True)
class DeploymentSummary:
    run_name: str
    stack: str
    model_name: str
    model_version: str
    prediction_url: str


@dataclass(frozen=True)
class BatchInferenceSummary:
    run_name: str
    stack: str
    model_name: str
    model_version: str
    drift: DriftResult
    predictions: BatchPredictions
    stream_entries: str | None = None  # what was acknowledged, for a stream source


@dataclass(frozen=True)
class ContinuousTrainingSummary:
    run_name: str
    stack: str
    model_name: str
    model_version: str
    drift: DriftResult
    quality: QualityResult
    decision: RetrainDecision
    training: TrainingSummary | None
    deployment: DeploymentSummary | None
    not_redeployed_because: str | None
    stream_entries: str | None = None  # what was acknowledged, for a stream source


def summarize_training(run: Any, stack: str) -> TrainingSummary:
    from zenml.enums import ExecutionStatus

    run = run.get_hydrated_version()
    model_version = run.model_version
    steps = run.steps
    decision: PromotionDecision = run_output(run, PROMOTION_DECISION).load()
    metrics: dict[str, float] = run_output(run, METRICS).load()
    metadata = model_version.run_metadata
    model_version = model_version.get_hydrated_version()
    return TrainingSummary(
        run_name=run.name,
        stack=stack,
        model_name=model_version.model.name,
        model_version=str(model_version.number),
        stage=model_version.stage,
        metrics=metrics,
        decision=decision,
        mlflow_run_id=metadata.get("mlflow_run_id"),
        cached_steps=sum(s.status == ExecutionStatus.CACHED for s in steps.values()),
        total_steps=len(steps),
    )
