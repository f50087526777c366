"""Validate a batch: the production model's feature schema and quality rules, the same as in training."""

from typing import Annotated

import pandas as pd
from zenml import get_step_context, step

from core.validation import ValidationConfig, validate_batch
from steps.materializers import HashedDataFrameMaterializer


@step(output_materializers={"batch": HashedDataFrameMaterializer})
def validate_new_batch(
    raw_data: pd.DataFrame, rules: ValidationConfig, labeled: bool
) -> Annotated[pd.DataFrame, "batch"]:
    schema = get_step_context().model.load_artifact("feature_schema")
    return validate_batch(raw_data, schema, rules, labeled)
