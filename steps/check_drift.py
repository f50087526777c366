"""Check drift: the batch against the training data kept with the model version, with Evidently.

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

logger = get_logger(__name__)


@step(enable_cache=False)
def check_data_drift(
    batch: pd.DataFrame, drift: DriftConfig, monitoring: MonitoringConfig
) -> Tuple[Annotated[HTMLString, "drift_report"], Annotated[DriftResult, "drift_result"]]:
    context = get_step_context()
    model = context.model
    result, html = check_drift(
        model.load_artifact("train_set"), batch, model.load_artifact("feature_schema"), drift
    )
    log_metadata(
        metadata={
            "dataset_drift": result.dataset_drift,
            "drift_share": result.drift_share,
            "drifted_columns": result.drifted_columns,
            "n_rows": result.n_rows,
            "drift_compared_rows": result.compared_rows,
            "model_version": str(model.number),
        },
        run_id_name_or_prefix=context.pipeline_run.id,
    )
    for target in export_drift_metrics(result, model.name, str(model.number), monitoring):
        logger.info("Drift metrics exported to %s", target)
    return HTMLString(html), result
