"""Drift numbers as Prometheus metrics: pushed to a Pushgateway and/or written as a textfile.

MLServer exports request rate and latency itself (its `/metrics` port); this adds what a batch or a
continuous-training run learned about the data, so one Grafana dashboard shows both.
"""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile
from pydantic import field_validator

from core.drift import DriftResult
from core.errors import ConfigError
from core.types import StrictModel

PREFIX = "mlops"


class MonitoringConfig(StrictModel):
    """Where drift numbers go besides run metadata: a Prometheus Pushgateway and/or a textfile
    (node_exporter's textfile collector format)."""

    pushgateway_url: str | None = None
    """A Prometheus Pushgateway to push the drift gauges to, e.g. http://127.0.0.1:9091."""
    textfile: Path | None = None
    """A node_exporter textfile to write the drift gauges to."""
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
    scores = Gauge(
        f"{PREFIX}_column_drift_score",
        "Per-column drift score (p-value or distance, see the test label)",
        [*labels, "column", "test"],
        registry=registry,
    )
    for column in result.columns:
        scores.labels(**labels, column=column.column, test=column.test).set(column.score)
    return registry


def export_drift_metrics(
    result: DriftResult, model_name: str, model_version: str, config: MonitoringConfig
) -> list[str]:
    """Send the metrics where the config says; returns where they went (empty if nowhere)."""
    if config.pushgateway_url is None and config.textfile is None:
        return []
    registry = drift_registry(result, model_name, model_version)
    exported = []
    if config.textfile is not None:
        config.textfile.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(config.textfile), registry)
        exported.append(str(config.textfile))
    if config.pushgateway_url is not None:
        try:
            push_to_gateway(
                config.pushgateway_url,
                job=config.job,
                registry=registry,
                grouping_key={"model": model_name},
                timeout=10,
            )
        except OSError as error:
            raise ConfigError(
                f"monitoring.pushgateway_url {config.pushgateway_url}: push failed ({error})"
            ) from None
        exported.append(config.pushgateway_url)
    return exported
