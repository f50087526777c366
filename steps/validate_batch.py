"""Validate a batch: the production model's feature schema and quality rules, the same as in training."""

from typing import Annotated

import pandas as pd
from zenml import step

from core.validation import ValidationConfig, validate_batch
from steps.materializers import HashedDataFrameMaterializer
from steps.version_artifacts import load_version_artifact


@step(output_materializers={"batch": HashedDataFrameMaterializer})
def validate_new_batch(
    raw_data: pd.DataFrame, rules: ValidationConfig, labeled: bool
) -> Annotated[pd.DataFrame, "batch"]:
    schema = load_version_artifact("feature_schema")
    return validate_batch(raw_data, schema, rules, labeled)
