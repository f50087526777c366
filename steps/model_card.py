"""Model card: what the model is for and its limits (the config's `model` section), with what the run
found (metrics, plots, data, promotion), stored with the version and logged to MLflow."""

from typing import Annotated, Any

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import get_step_context, step
from zenml.types import MarkdownString

from core.promotion import PromotionDecision
from core.reports import TITLES, CardFacts, model_card_markdown
from core.sources import LabeledDataConfig, describe_source
from core.validation import FeatureSchema
from stacks.mlflow import tracking

TOP_FEATURES = 5
CARD_FIELDS = (
    "description",
    "audience",
    "use_cases",
    "limitations",
    "trade_offs",
    "ethics",
    "license",
    "tags",
)


@step(enable_cache=False)
def write_model_card(
    model: Pipeline,
    validated_data: pd.DataFrame,
    feature_schema: FeatureSchema,
    metrics: dict[str, float],
    evaluation: dict[str, Any],
    promotion_decision: PromotionDecision,
    data: LabeledDataConfig,
) -> Annotated[MarkdownString, "model_card"]:
    context = get_step_context()
    version = context.model
    training = context.inputs["model"][0].run_metadata
    data_artifact = context.inputs["validated_data"][0]
    labels = validated_data[feature_schema.target]
    importance = evaluation.get("permutation_importance", {}).get("by_feature", {})
    facts = CardFacts(
        model={
            "name": version.name,
            "version": str(version.number),
            **{key: getattr(version, key) for key in CARD_FIELDS},
        },
        metrics=metrics,
        test_rows=evaluation["rows"],
        data={
            "source": describe_source(data.source),
            "rows": len(validated_data),
            "feature columns": len(feature_schema.features),
            "target": feature_schema.target,
            "rows per class": {str(k): int(v) for k, v in labels.value_counts().sort_index().items()},
            "ZenML artifact": f"validated_data version {data_artifact.version} ({data_artifact.id})",
        },
        top_features=[(name, scores["mean"]) for name, scores in list(importance.items())[:TOP_FEATURES]],
        plots=[name for name in evaluation if name in TITLES],
        unavailable=evaluation.get("not_computed", {}),
        decision=promotion_decision,
        training={
            "estimator": training.get("estimator"),
            "parameters": training.get("estimator_params"),
            "MLflow run": training.get("mlflow_run_id"),
            "pipeline run": context.pipeline_run.name,
        },
    )
    card = model_card_markdown(facts)
    # Beside the model in the MLflow run that trained it (a run that reused the model from ZenML's
    # cache has none of its own), one card per version that serves this model.
    run_id = training.get("mlflow_run_id")
    if run_id is not None:
        tracking.log_text(str(run_id), card, f"model_cards/{version.name}-v{version.number}.md")
    return MarkdownString(card)
