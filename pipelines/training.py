"""Training: ingest -> validate -> split -> train -> evaluate -> promote -> model card, and how a run
is launched."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from zenml import pipeline

from core.evaluation import EvaluationConfig
from core.lineage import config_hash
from core.modeling import SplitConfig, TrainConfig
from core.promotion import PromotionConfig
from core.sources import LabeledDataConfig
from core.validation import ValidationConfig
from pipelines.execution import ActiveStack, run_pipeline, zenml_run_options
from pipelines.parameters import TrainingParameters
from pipelines.provenance import code_provenance
from pipelines.run_config import RunConfig
from pipelines.stream_entries import acknowledge_entries
from pipelines.summaries import TrainingSummary, summarize_training
from steps.evaluate import evaluate_model
from steps.ingest import ingest_data
from steps.model_card import write_model_card
from steps.promote import promote_model
from steps.split import split_data
from steps.train import train_model
from steps.validate import validate_data

# The steps that log to the experiment tracker; the card goes into the MLflow run of the model.
TRACKED_STEPS = ("train_model", "evaluate_model")


@pipeline(name="training")
def training(
    data: LabeledDataConfig,
    validation: ValidationConfig,
    split: SplitConfig,
    train: TrainConfig,
    evaluation: EvaluationConfig,
    promotion: PromotionConfig,
    provenance: dict[str, Any],
) -> None:
    raw_data = ingest_data(data)
    validated_data, feature_schema = validate_data(raw_data, data.target, validation)
    train_set, test_set = split_data(validated_data, data.target, split)
    model = train_model(train_set, feature_schema, train)
    metrics, _, evaluation_numbers = evaluate_model(model, test_set, feature_schema, evaluation)
    decision, _ = promote_model(model, test_set, feature_schema, metrics, promotion)
    write_model_card(
        model, validated_data, feature_schema, metrics, evaluation_numbers, decision, data, provenance
    )


def run_training(config: RunConfig[TrainingParameters], stack: ActiveStack) -> TrainingSummary:
    params = config.parameters
    run = run_pipeline(
        training,
        zenml_run_options(config, stack, TRACKED_STEPS),
        data=params.data,
        validation=params.validation,
        split=params.split,
        train=params.train,
        evaluation=params.evaluation,
        promotion=params.promotion,
        # Taken here, where the run is launched; only the never-cached model card step reads it.
        provenance={**code_provenance(), "config_hash": config_hash(params)},
    )
    summary = summarize_training(run, stack.name)
    return replace(summary, stream_entries=acknowledge_entries(params.data.source, run))
