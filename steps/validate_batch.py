"""Validate a batch by the production version's contract: the rules its training data kept."""

from typing import Annotated, Tuple

import pandas as pd
from zenml import get_step_context, log_metadata, step

from core.validation import Labels, labeled_rows, validate_batch
from steps.materializers import HashedDataFrameMaterializer
from steps.names import BATCH, FEATURE_SCHEMA, LABEL_COVERAGE, LABELED_BATCH
from steps.version_artifacts import load_version_artifact


@step(output_materializers={BATCH: HashedDataFrameMaterializer, LABELED_BATCH: HashedDataFrameMaterializer})
def validate_new_batch(
    raw_data: pd.DataFrame, labels: Labels
) -> Tuple[
    Annotated[pd.DataFrame, BATCH], Annotated[pd.DataFrame, LABELED_BATCH], Annotated[float, LABEL_COVERAGE]
]:
    """The batch (what drift is judged on), its labeled rows (what quality is judged on and
    retraining learns from) and the share of its rows labeled, also run metadata."""
    schema = load_version_artifact(FEATURE_SCHEMA)
    batch = validate_batch(raw_data, schema, labels)
    labeled = labeled_rows(batch, schema)
    coverage = len(labeled) / len(batch)
    log_metadata(
        metadata={"labeled_rows": len(labeled), "label_coverage": coverage},
        run_id_name_or_prefix=get_step_context().pipeline_run.id,
    )
    return batch, labeled, coverage
