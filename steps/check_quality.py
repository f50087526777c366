"""Check quality: the production version scored on a labeled batch, against floors and its own
held-out scores. Evidently's classification report is an artifact the dashboard shows; the scores
become run metadata and, when configured, Prometheus metrics."""

from typing import Annotated, Any, Tuple

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger
from zenml.types import HTMLString

from core.modeling import prepare_features
from core.quality import QualityConfig, QualityResult, assess_quality, classification_report_html
from core.types import METRIC_NAMES
from core.validation import FeatureSchema
from stacks.prometheus.metrics import MonitoringConfig, export_quality_metrics
from steps.names import FEATURE_SCHEMA, MODEL, QUALITY_REPORT, QUALITY_RESULT, TEST_SET
from steps.version_artifacts import load_version_artifact

logger = get_logger(__name__)

NO_LABELS_REPORT = "<p>No labels have arrived for these rows yet: quality was not judged.</p>"


@step(enable_cache=False)
def check_model_quality(
    batch: pd.DataFrame, label_coverage: float, quality: QualityConfig, monitoring: MonitoringConfig
) -> Tuple[Annotated[HTMLString, QUALITY_REPORT], Annotated[QualityResult, QUALITY_RESULT]]:
    context = get_step_context()
    version = context.model
    schema: FeatureSchema = load_version_artifact(FEATURE_SCHEMA)
    model = load_version_artifact(MODEL)
    metadata: dict[str, Any] = version.run_metadata
    held_out: dict[str, float] = {name: metadata[name] for name in METRIC_NAMES if name in metadata}
    features, labels = prepare_features(batch, schema), batch[schema.target]
    result = assess_quality(model, features, labels, held_out, quality)
    test_set = load_version_artifact(TEST_SET)
    html = (
        NO_LABELS_REPORT
        if batch.empty
        else classification_report_html(
            model,
            features.assign(**{schema.target: labels}),
            prepare_features(test_set, schema).assign(**{schema.target: test_set[schema.target]}),
            schema.features,
            schema.target,
            result,
        )
    )
    log_metadata(
        metadata={
            "quality_dropped": result.dropped,
            "quality_scores": result.scores,
            "quality_held_out": result.held_out,
            "quality_degraded": result.degraded,
            "quality_not_computed": result.not_computed,
        },
        run_id_name_or_prefix=context.pipeline_run.id,
    )
    exported = export_quality_metrics(result, label_coverage, version.name, str(version.number), monitoring)
    for target in exported:
        logger.info("Quality metrics exported to %s", target)
    return HTMLString(html), result
