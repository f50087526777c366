"""Model card and lineage: what the model is for and its limits (the config's `model` section), with
what made it (data, code, config) and what the run found (metrics, plots, promotion). The lineage is
the version's `lineage` metadata; the card is an artifact of the version and sits in MLflow beside
the model."""

from typing import Annotated, Any

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.types import MarkdownString

from core.dependencies import model_requirements
from core.promotion import PromotionDecision
from core.reports import TITLES, CardFacts, model_card_markdown
from core.sources import LabeledDataConfig, describe_source
from core.validation import FeatureSchema
from stacks.mlflow import tracking
from steps.names import MODEL_CARD, RAW_DATA
from steps.version_artifacts import run_output

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
    provenance: dict[str, Any],
) -> Annotated[MarkdownString, MODEL_CARD]:
    """`provenance`: the code's commit and library versions and the config's hash, taken at launch."""
    context = get_step_context()
    version = context.model
    training = context.inputs["model"][0].run_metadata
    raw_data = run_output(Client().get_pipeline_run(context.pipeline_run.id), RAW_DATA)
    data_artifact = context.inputs["validated_data"][0]
    lineage: dict[str, Any] = {
        "source": describe_source(data.source),
        "data_fingerprint": raw_data.run_metadata["data_fingerprint"],
        "rows": len(validated_data),
        "columns": len(validated_data.columns),
        "data_artifact": f"validated_data version {data_artifact.version} ({data_artifact.id})",
        **{
            key: raw_data.run_metadata[key]
            for key in ("dvc", "stream_entries")
            if key in raw_data.run_metadata
        },
        **provenance,
        "model_packages": model_requirements(model),  # what loading it needs, wherever it is served
        "pipeline_run": context.pipeline_run.name,
    }
    # The contract the version was trained under, as `model show` prints it.
    contract = feature_schema.model_dump(mode="json", include={"target", "columns", "contract"})
    log_metadata(metadata={"lineage": lineage, "data_contract": contract}, infer_model=True)
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
            "source": lineage["source"],
            "rows": lineage["rows"],
            "feature columns": len(feature_schema.features),
            "target": feature_schema.target,
            "rows per class": {str(k): int(v) for k, v in labels.value_counts().sort_index().items()},
            "fingerprint (sha256 of the content)": lineage["data_fingerprint"],
            "ZenML artifact": lineage["data_artifact"],
            "data contract": "; ".join(feature_schema.describe_contract()),
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
            "code": _code(provenance),
            "config hash": provenance.get("config_hash"),
            "libraries": provenance.get("libraries"),
        },
    )
    card = model_card_markdown(facts)
    # Beside the model in the MLflow run that trained it (a run that reused the model from ZenML's
    # cache has none of its own), one card per version that serves this model.
    run_id = training.get("mlflow_run_id")
    if run_id is not None:
        tracking.log_text(str(run_id), card, f"model_cards/{version.name}-v{version.number}.md")
    return MarkdownString(card)


def _code(provenance: dict[str, Any]) -> str | None:
    commit = provenance.get("git_commit")
    if commit is None:
        return None
    return f"git {commit}" + (" with uncommitted changes" if provenance.get("git_dirty") else "")
