"""Validate: schema and quality rules; a violation stops the run naming the column and rule."""

from typing import Annotated, Tuple

import pandas as pd
from zenml import step

from core.validation import FeatureSchema, ValidationConfig, validate_training_data
from steps.materializers import HashedDataFrameMaterializer
from steps.names import FEATURE_SCHEMA, VALIDATED_DATA


@step(output_materializers={VALIDATED_DATA: HashedDataFrameMaterializer})
def validate_data(
    raw_data: pd.DataFrame, target: str, rules: ValidationConfig
) -> Tuple[Annotated[pd.DataFrame, VALIDATED_DATA], Annotated[FeatureSchema, FEATURE_SCHEMA]]:
    validated, schema = validate_training_data(raw_data, target, rules)
    return validated, schema
