"""Champion/challenger: promote only a version that passes every gate and beats production."""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.metrics import is_better_or_equal, passes_gate
from core.model_names import checked_name
from core.types import MetricName, StrictModel


class PromotionConfig(StrictModel):
    """Absolute gates and the metric that decides champion vs challenger.

    A gate is a minimum, except for `log_loss`, where it is a maximum.
    """

    metric: MetricName = "f1_macro"
    """The metric that decides champion vs challenger, on the same held-out data."""
    gates: dict[MetricName, float] = Field(default_factory=dict)
    """Minimum per metric every new version must reach (`log_loss`: a maximum)."""

    @field_validator("gates")
    @classmethod
    def _gates_reachable(cls, gates: dict[str, float]) -> dict[str, float]:
        for metric, minimum in gates.items():
            if metric != "log_loss" and not 0.0 <= minimum <= 1.0:
                raise ValueError(f"gate for '{metric}' is {minimum}; it must be within [0, 1]")
        return gates


class Champion(BaseModel):
    """The production version as seen by this run: its metrics on the same held-out data,
    or why they could not be computed, and whether it is the very model just trained."""

    model_config = ConfigDict(frozen=True)

    version: str
    metrics: dict[str, float] | None = None
    error: str | None = None
    same_model: bool = False


class PromotionDecision(BaseModel):
    """The decision and its evidence, stored as model-version metadata and as an artifact."""

    model_config = ConfigDict(frozen=True)

    promoted: bool
    reason: str
    metric: MetricName
    challenger_score: float | None
    champion_version: str | None = None
    champion_score: float | None = None
    failed_gates: dict[str, str] = {}


def decide_promotion(
    challenger: dict[str, float], champion: Champion | None, config: PromotionConfig
) -> PromotionDecision:
    """Gates first, then the comparison with production on the same held-out data."""
    metric = config.metric
    score = challenger.get(metric)
    evidence = {
        "metric": metric,
        "challenger_score": score,
        "champion_version": champion.version if champion else None,
    }

    def reject(reason: str, **extra: object) -> PromotionDecision:
        return PromotionDecision(promoted=False, reason=reason, **evidence, **extra)  # type: ignore[arg-type]

    if score is None:
        return reject(f"metric '{metric}' cannot be computed for this data")
    failed = {
        name: f"{challenger[name]:.4f} vs threshold {threshold}"
        if name in challenger
        else f"not computed for this data (threshold {threshold})"
        for name, threshold in config.gates.items()
        if name not in challenger or not passes_gate(name, challenger[name], threshold)
    }
    if failed:
        reasons = "; ".join(f"{name} {why}" for name, why in failed.items())
        return reject(f"failed gates: {reasons}", failed_gates=failed)
    if champion is None:
        return PromotionDecision(
            promoted=True,
            reason="passed all gates; no production version yet",
            **evidence,  # type: ignore[arg-type]
        )
    if champion.same_model:
        return reject(f"this model is already in production as version {champion.version}")
    if champion.metrics is None:
        return reject(
            f"production version {champion.version} cannot be evaluated on this data "
            f"({champion.error or 'no evaluation'}); train under a new model name (--model-name) "
            "for a new data set"
        )
    champion_score = champion.metrics.get(metric)
    if champion_score is None:
        return reject(
            f"production version {champion.version} has no '{metric}' on this data, so the two "
            "cannot be compared"
        )
    beats = is_better_or_equal(metric, score, champion_score)
    verdict = "at least as good as" if beats else "worse than"
    return PromotionDecision(
        promoted=beats,
        reason=f"{metric} {score:.4f} is {verdict} production version {champion.version} "
        f"({champion_score:.4f}) on the same held-out data",
        champion_score=champion_score,
        **evidence,  # type: ignore[arg-type]
    )


def model_lock(model_name: str, folder: Path, timeout_seconds: float = 600) -> FileLock:
    """The one lock of a model, held while a run changes what is production or what serves it:
    automatic promotion (read production, decide, promote), a manual promotion and its rollback,
    and a deployment (switch, reload, rollback). Two runs at once then act one after the other, and
    the second sees the first's result.

    It serialises runs that share `folder` (the ZenML config folder: one machine); across
    machines, `steps/locks.py` adds a lease in the ZenML server's store.
    """
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / f"model-{checked_name(model_name, 'model name')}.lock", timeout=timeout_seconds)
