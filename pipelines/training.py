"""Training: ingest -> validate -> split -> train -> evaluate -> promote."""

from zenml import pipeline

from lifecycle.config import DataConfig, PromotionConfig, SplitConfig, TrainConfig, ValidationConfig
from steps.evaluate import evaluate_model
from steps.ingest import ingest_data
from steps.promote import promote_model
from steps.split import split_data
from steps.train import train_model
from steps.validate import validate_data

TRACKED_STEPS = ("train_model", "evaluate_model")


@pipeline(name="training")
def training(
    data: DataConfig,
    validation: ValidationConfig,
    split: SplitConfig,
    train: TrainConfig,
    promotion: PromotionConfig,
) -> None:
    raw_data = ingest_data(data)
    validated_data, feature_schema = validate_data(raw_data, data.target, validation)
    train_set, test_set = split_data(validated_data, data.target, split)
    model = train_model(train_set, feature_schema, train)
    metrics = evaluate_model(model, test_set, feature_schema)
    promote_model(model, test_set, feature_schema, metrics, promotion)
