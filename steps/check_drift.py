"""Check drift: the batch's features, and the version's predictions on them, against its training data
and its predictions there, with Evidently. `batch` may be a sample of a larger batch of
`batch_rows` rows (batch inference streams its batch and samples it on the way).

The HTML report is an artifact the ZenML dashboard shows; its numbers become run metadata and,
when configured, Prometheus metrics.
"""

from typing import Annotated, Tuple

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger
from zenml.types import HTMLString

from core.drift import DriftConfig, DriftResult, check_drift
from stacks.prometheus.metrics import MonitoringConfig, export_drift_metrics
from steps.names import DRIFT_REPORT, DRIFT_RESULT, FEATURE_SCHEMA, MODEL, TRAIN_SET
from steps.version_artifacts import load_version_artifact

logger = get_logger(__name__)


@step(enable_cache=False)
def check_data_drift(
    batch: pd.DataFrame, drift: DriftConfig, monitoring: MonitoringConfig, batch_rows: int | None = None
) -> Tuple[Annotated[HTMLString, DRIFT_REPORT], Annotated[DriftResult, DRIFT_RESULT]]:
    context = get_step_context()
    model = context.model
    result, html = check_drift(
        load_version_artifact(TRAIN_SET),
        batch,
        load_version_artifact(FEATURE_SCHEMA),
        drift,
        model=load_version_artifact(MODEL),
        batch_rows=batch_rows,
    )
    log_metadata(
        metadata={
            "dataset_drift": result.dataset_drift,
            "drift_share": result.drift_share,
            "drifted_columns": result.drifted_columns,
            "n_rows": result.n_rows,
            "drift_compared_rows": result.compared_rows,
            "prediction_drift": {column.column: column.drifted for column in result.prediction_drift},
            "model_version": str(model.number),
        },
        run_id_name_or_prefix=context.pipeline_run.id,
    )
    for target in export_drift_metrics(result, model.name, str(model.number), monitoring):
        logger.info("Drift metrics exported to %s", target)
    return HTMLString(html), result
