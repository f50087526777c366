"""Drift and quality numbers as Prometheus metrics: pushed to a Pushgateway and/or written as a textfile.

MLServer exports request rate and latency itself (its `/metrics` port); this adds what a batch or a
continuous-training run learned about the data and the model, so one Grafana dashboard shows all.
Each check (`drift`, `quality`) is its own Pushgateway group and its own textfile, so one never
replaces the other's numbers.
"""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile
from pydantic import field_validator

from core.drift import DriftResult
from core.errors import ConfigError
from core.quality import QualityResult
from core.types import StrictModel

PREFIX = "mlops"


class MonitoringConfig(StrictModel):
    """Where drift and quality numbers go besides run metadata: a Prometheus Pushgateway and/or a
    textfile (node_exporter's textfile collector format)."""

    pushgateway_url: str | None = None
    """A Prometheus Pushgateway to push the gauges to, e.g. http://127.0.0.1:9091."""
    textfile: Path | None = None
    """A node_exporter textfile for the drift gauges; the quality gauges go beside it, named
    `<name>-quality<suffix>` (e.g. drift.prom and drift-quality.prom)."""
    job: str = "zenml_mlops_template"
    """The Pushgateway job name."""

    @field_validator("pushgateway_url")
    @classmethod
    def _http_only(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url


def drift_registry(result: DriftResult, model_name: str, model_version: str) -> CollectorRegistry:
    """A fresh registry holding the drift gauges of one check, labelled with the model version."""
    registry = CollectorRegistry()
    labels = {"model": model_name, "model_version": model_version}

    def gauge(name: str, help_text: str, value: float) -> None:
        Gauge(f"{PREFIX}_{name}", help_text, list(labels), registry=registry).labels(**labels).set(value)

    gauge("dataset_drift", "1 if the share of drifted columns reached the threshold", result.dataset_drift)
    gauge("drift_share", "Share of the model's feature columns that drifted", result.drift_share)
    gauge("drifted_columns", "Number of feature columns that drifted", len(result.drifted_columns))
    gauge(
        "drift_share_threshold",
        "Share of drifted columns from which the batch counts as drifted",
        result.drift_share_threshold,
    )
    gauge("batch_rows", "Rows in the checked batch", result.n_rows)
    gauge("drift_check_timestamp_seconds", "When the drift check ran (Unix time)", time.time())
    for name, help_text, columns in (
        (
            "column_drift_score",
            "Per-column drift score (p-value or distance, see the test label)",
            result.columns,
        ),
        (
            "prediction_drift_score",
            "Drift score of the predicted class and probabilities against those on the training data",
            result.prediction_drift,
        ),
    ):
        scores = Gauge(f"{PREFIX}_{name}", help_text, [*labels, "column", "test"], registry=registry)
        for column in columns:
            scores.labels(**labels, column=column.column, test=column.test).set(column.score)
    return registry


def quality_registry(
    result: QualityResult, label_coverage: float, model_name: str, model_version: str
) -> CollectorRegistry:
    """The production version's scores on a batch's labeled rows, its held-out scores, the verdict,
    and the share of the batch's rows that were labeled (on captured traffic, those whose labels
    arrived)."""
    registry = CollectorRegistry()
    labels = {"model": model_name, "model_version": model_version}
    per_metric = [*labels, "metric"]
    scores = Gauge(
        f"{PREFIX}_model_quality",
        "The production version's score on the labeled batch",
        per_metric,
        registry=registry,
    )
    held_out = Gauge(
        f"{PREFIX}_model_quality_held_out",
        "The same version's score on its held-out set",
        per_metric,
        registry=registry,
    )
    for name, value in result.scores.items():
        scores.labels(**labels, metric=name).set(value)
        if name in result.held_out:
            held_out.labels(**labels, metric=name).set(result.held_out[name])
    for name, help_text, value in (
        ("quality_dropped", "1 if a quality metric fell under its floor or margin", result.dropped),
        ("quality_batch_rows", "Labeled rows the quality was measured on", result.n_rows),
        ("label_coverage", "Share of the checked batch's rows that carried a label", label_coverage),
        ("quality_check_timestamp_seconds", "When the quality check ran (Unix time)", time.time()),
    ):
        Gauge(f"{PREFIX}_{name}", help_text, list(labels), registry=registry).labels(**labels).set(value)
    return registry


def export_drift_metrics(
    result: DriftResult, model_name: str, model_version: str, config: MonitoringConfig
) -> list[str]:
    """Send the drift gauges where the config says; returns where they went (empty if nowhere)."""
    return _export(drift_registry(result, model_name, model_version), "drift", model_name, config)


def export_quality_metrics(
    result: QualityResult,
    label_coverage: float,
    model_name: str,
    model_version: str,
    config: MonitoringConfig,
) -> list[str]:
    """Send the quality gauges where the config says; returns where they went (empty if nowhere)."""
    registry = quality_registry(result, label_coverage, model_name, model_version)
    return _export(registry, "quality", model_name, config)


def _export(registry: CollectorRegistry, check: str, model_name: str, config: MonitoringConfig) -> list[str]:
    exported = []
    if config.textfile is not None:
        path = config.textfile
        if check != "drift":
            path = path.with_name(f"{path.stem}-{check}{path.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), registry)
        exported.append(str(path))
    if config.pushgateway_url is not None:
        try:
            push_to_gateway(
                config.pushgateway_url,
                job=config.job,
                registry=registry,
                grouping_key={"model": model_name, "check": check},
                timeout=10,
            )
        except OSError as error:
            raise ConfigError(
                f"monitoring.pushgateway_url {config.pushgateway_url}: push failed ({error})"
            ) from None
        exported.append(config.pushgateway_url)
    return exported
