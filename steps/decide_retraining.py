"""Decide retraining: drift over the threshold means retrain; the decision is run metadata."""

from typing import Annotated

from zenml import get_step_context, log_metadata, step

from core.drift import DriftResult, RetrainDecision, retraining_decision


@step(enable_cache=False)
def decide_retraining(drift_result: DriftResult) -> Annotated[RetrainDecision, "retrain_decision"]:
    decision = retraining_decision(drift_result)
    log_metadata(
        metadata={"retrain_triggered": decision.retrain, "retrain_reason": decision.reason},
        run_id_name_or_prefix=get_step_context().pipeline_run.id,
    )
    return decision
