"""Promote: champion/challenger in the Model Control Plane, with the evidence as metadata.

Never cached: production may have changed since an earlier run with the same inputs.
"""

from typing import Annotated, Any, Tuple

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.enums import ModelStages
from zenml.logger import get_logger
from zenml.types import HTMLString

from core.metrics import compute_metrics
from core.modeling import prepare_features
from core.promotion import Champion, PromotionConfig, PromotionDecision, decide_promotion
from core.reports import promotion_html
from core.validation import FeatureSchema
from steps.locks import model_lock
from steps.names import FEATURE_SCHEMA, MODEL, PROMOTION_DECISION, PROMOTION_REPORT

logger = get_logger(__name__)


@step(enable_cache=False)
def promote_model(
    model: Pipeline,
    test_set: pd.DataFrame,
    feature_schema: FeatureSchema,
    metrics: dict[str, float],
    config: PromotionConfig,
) -> Tuple[Annotated[PromotionDecision, PROMOTION_DECISION], Annotated[HTMLString, PROMOTION_REPORT]]:
    context = get_step_context()
    challenger_artifact = context.inputs["model"][0]
    with model_lock(context.model.name):
        champion = _current_champion(context.model.name, challenger_artifact.id, test_set, feature_schema)
        decision = decide_promotion(metrics, champion, config)
        log_metadata(
            metadata={
                **metrics,
                **challenger_artifact.run_metadata,
                "n_test_rows": len(test_set),
                "promotion": decision.model_dump(),
            },
            infer_model=True,
        )
        if decision.promoted:
            context.model.set_stage(ModelStages.PRODUCTION, force=True)
    if decision.promoted:
        logger.info("Promoted version %s to production: %s", context.model.version, decision.reason)
    else:
        logger.info("Not promoted: %s", decision.reason)
    report = promotion_html(str(context.model.version), metrics, champion, config, decision)
    return decision, HTMLString(report)


def _current_champion(
    model_name: str, challenger_artifact_id: Any, test_set: pd.DataFrame, schema: FeatureSchema
) -> Champion | None:
    """The production version evaluated on this run's held-out data, if there is one."""
    try:
        version = Client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None
    champion = Champion(version=str(version.number))
    artifact = version.get_model_artifact(MODEL)
    schema_artifact = version.get_data_artifact(FEATURE_SCHEMA)
    if artifact is None or schema_artifact is None:
        return champion.model_copy(update={"error": "its model or feature schema is missing"})
    if artifact.id == challenger_artifact_id:
        return champion.model_copy(update={"same_model": True})
    try:
        champion_schema: FeatureSchema = schema_artifact.load()
        features = prepare_features(test_set, champion_schema)
        scores = compute_metrics(artifact.load(), features, test_set[schema.target])
    except (KeyError, ValueError, TypeError) as error:
        return champion.model_copy(update={"error": f"{type(error).__name__}: {error}"})
    return champion.model_copy(update={"metrics": scores})
