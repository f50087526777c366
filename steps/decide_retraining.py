"""Decide retraining: drift over the threshold or a quality drop means retrain; the decision is run
metadata (`retrain_reason`: drift, quality, both or none)."""

from typing import Annotated

from zenml import get_step_context, log_metadata, step

from core.drift import DriftResult
from core.quality import QualityResult
from core.retraining import RetrainDecision, retraining_decision
from steps.names import RETRAIN_DECISION


@step(enable_cache=False)
def decide_retraining(
    drift_result: DriftResult, quality_result: QualityResult
) -> Annotated[RetrainDecision, RETRAIN_DECISION]:
    decision = retraining_decision(drift_result, quality_result)
    log_metadata(
        metadata={
            "retrain_triggered": decision.retrain,
            "retrain_reason": decision.reason,
            "retrain_explanation": decision.explanation,
        },
        run_id_name_or_prefix=get_step_context().pipeline_run.id,
    )
    return decision
