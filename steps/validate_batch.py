"""Validate a batch by the production version's contract: the rules its training data kept."""

from typing import Annotated

import pandas as pd
from zenml import step

from core.validation import validate_batch
from steps.materializers import HashedDataFrameMaterializer
from steps.names import BATCH, FEATURE_SCHEMA
from steps.version_artifacts import load_version_artifact


@step(output_materializers={BATCH: HashedDataFrameMaterializer})
def validate_new_batch(raw_data: pd.DataFrame, labeled: bool) -> Annotated[pd.DataFrame, BATCH]:
    schema = load_version_artifact(FEATURE_SCHEMA)
    return validate_batch(raw_data, schema, labeled)
