"""The retraining decision of continuous training: data drift, quality drop, both, or neither."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from core.drift import DriftResult
from core.quality import QualityResult

RetrainReason = Literal["drift", "quality", "both", "none"]


class RetrainDecision(BaseModel):
    """Whether continuous training retrains, which trigger fired (`reason`) and, in words, why."""

    model_config = ConfigDict(frozen=True)

    retrain: bool
    reason: RetrainReason
    explanation: str


def retraining_decision(drift: DriftResult, quality: QualityResult) -> RetrainDecision:
    """Retrain when Evidently calls the batch drifted (share of drifted columns >= threshold) or
    when a quality metric fell under its floor or too far under the version's held-out score."""
    counted = (
        f"{len(drift.drifted_columns)} of {len(drift.columns)} feature columns drifted "
        f"(share {drift.drift_share:.2f}, threshold {drift.drift_share_threshold:.2f})"
    )
    if drift.dataset_drift:
        shown = ", ".join(drift.drifted_columns[:5]) + (", ..." if len(drift.drifted_columns) > 5 else "")
        drift_words = f"dataset drift: {counted}: {shown}"
    else:
        drift_words = f"no dataset drift: {counted}"
    if quality.dropped:
        quality_words = "quality dropped: " + "; ".join(
            f"{name} {why}" for name, why in quality.degraded.items()
        )
    else:
        judged = ", ".join(
            f"{name} {value:.4f}" for name, value in quality.scores.items() if name in quality.held_out
        )
        quality_words = f"quality holds ({judged or 'no metric judged'})"
    reasons: dict[tuple[bool, bool], RetrainReason] = {
        (True, True): "both",
        (True, False): "drift",
        (False, True): "quality",
        (False, False): "none",
    }
    reason = reasons[(drift.dataset_drift, quality.dropped)]
    if reason != "none" and quality.n_rows == 0:  # captured requests whose labels have not arrived
        return RetrainDecision(
            retrain=False,
            reason="none",
            explanation=f"{drift_words}; no labeled rows to retrain on yet: not retrained",
        )
    return RetrainDecision(
        retrain=reason != "none", reason=reason, explanation=f"{drift_words}; {quality_words}"
    )
