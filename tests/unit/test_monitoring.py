"""stacks/prometheus/metrics.py: drift numbers in Prometheus' text format, to a file and a real socket."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.drift import ColumnDrift, DriftResult
from core.errors import ConfigError
from core.quality import QualityResult
from stacks.prometheus.metrics import MonitoringConfig, export_drift_metrics, export_quality_metrics

RESULT = DriftResult(
    dataset_drift=True,
    drift_share=0.5,
    drifted_columns=["a"],
    n_rows=1234,
    n_reference_rows=999,
    compared_rows=1000,
    compared_reference_rows=999,
    drift_share_threshold=0.5,
    columns=[
        ColumnDrift(column="a", test="K-S p_value", threshold=0.05, score=0.001, drifted=True),
        ColumnDrift(column="b", test="K-S p_value", threshold=0.05, score=0.4, drifted=False),
    ],
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_textfile_holds_the_drift_gauges_labelled_by_version(tmp_path: Path) -> None:
    path = tmp_path / "textfile" / "drift.prom"

    exported = export_drift_metrics(RESULT, "churn", "7", MonitoringConfig(textfile=path))

    assert exported == [str(path)]
    found = samples(path.read_text())
    version = (("model", "churn"), ("model_version", "7"))
    assert found[("mlops_drift_share", version)] == 0.5
    assert found[("mlops_dataset_drift", version)] == 1.0
    assert found[("mlops_drifted_columns", version)] == 1.0
    assert found[("mlops_batch_rows", version)] == 1234.0
    column_a = tuple(sorted((*version, ("column", "a"), ("test", "K-S p_value"))))
    assert found[("mlops_column_drift_score", column_a)] == 0.001


def test_nothing_configured_exports_nothing() -> None:
    assert export_drift_metrics(RESULT, "churn", "7", MonitoringConfig()) == []


def test_unreachable_pushgateway_is_named() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"

    with pytest.raises(ConfigError, match=rf"monitoring.pushgateway_url {url}: push failed"):
        export_drift_metrics(RESULT, "churn", "7", MonitoringConfig(pushgateway_url=url))


def test_quality_gauges_go_beside_the_drift_textfile_without_replacing_it(tmp_path: Path) -> None:
    path = tmp_path / "drift.prom"
    quality = QualityResult(
        n_rows=300,
        scores={"accuracy": 0.61, "roc_auc": 0.7},
        held_out={"accuracy": 0.98},
        not_computed={},
        unseen_labels=[],
        degraded={"accuracy": "0.6100 vs 0.9800 held-out (allowed drop 0.05)"},
    )

    export_drift_metrics(RESULT, "churn", "7", MonitoringConfig(textfile=path))
    exported = export_quality_metrics(quality, 0.25, "churn", "7", MonitoringConfig(textfile=path))

    assert exported == [str(tmp_path / "drift-quality.prom")]
    version = (("model", "churn"), ("model_version", "7"))
    found = samples((tmp_path / "drift-quality.prom").read_text())
    assert found[("mlops_model_quality", tuple(sorted((*version, ("metric", "accuracy")))))] == 0.61
    assert found[("mlops_model_quality_held_out", tuple(sorted((*version, ("metric", "accuracy")))))] == 0.98
    assert ("mlops_model_quality_held_out", tuple(sorted((*version, ("metric", "roc_auc"))))) not in found
    assert found[("mlops_quality_dropped", version)] == 1.0
    assert found[("mlops_quality_batch_rows", version)] == 300.0
    assert found[("mlops_label_coverage", version)] == 0.25
    assert samples(path.read_text())[("mlops_drift_share", version)] == 0.5
