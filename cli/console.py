"""What the CLI prints after a run: a short, readable summary with rich."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from core.redaction import redact_url

if TYPE_CHECKING:
    import pandas as pd

    from core.drift import DriftResult
    from pipelines.model_versions import VersionDescription
    from pipelines.summaries import (
        BatchInferenceSummary,
        ContinuousTrainingSummary,
        DeploymentSummary,
        TrainingSummary,
    )

console = Console(soft_wrap=True)
KEY_METRICS = ("accuracy", "f1_macro", "roc_auc")  # the metrics `model list` shows per version


def _summary_table(title: str) -> Table:
    """Two columns, names in bold; long values wrap instead of being cut."""
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    return table


def print_training_summary(summary: TrainingSummary) -> None:
    decision = summary.decision
    table = _summary_table(f"Training run {summary.run_name} on stack '{summary.stack}'")
    table.add_row("model", f"{summary.model_name} version {summary.model_version}")
    table.add_row("stage", summary.stage or "(none)")
    for name, value in sorted(summary.metrics.items()):
        table.add_row(name, f"{value:.4f}")
    table.add_row("promoted", "[green]yes[/]" if decision.promoted else "[yellow]no[/]")
    table.add_row("reason", decision.reason)
    table.add_row("mlflow run", summary.mlflow_run_id or "(no experiment tracker on this stack)")
    table.add_row("cached steps", f"{summary.cached_steps} of {summary.total_steps}")
    if summary.stream_entries:
        table.add_row("stream", summary.stream_entries)
    console.print(table)
    console.print(
        "Plots, this version against production, and its model card: the run's `evaluation_report`, "
        "`promotion_report` and `model_card` artifacts in the ZenML dashboard, and its MLflow run."
    )


def print_stack_info(stack: str, tracking_uri: str | None, dashboard_url: str | None) -> None:
    console.print(f"active stack: [bold]{stack}[/]")
    if tracking_uri is None:
        console.print("MLflow: the active stack has no experiment tracker")
    else:
        console.print(f"MLflow tracking URI: {redact_url(tracking_uri)}")
        if tracking_uri.startswith("sqlite:"):
            console.print(f"  open it with: mlflow ui --backend-store-uri '{tracking_uri}'")
    if dashboard_url:
        console.print(f"ZenML dashboard: {dashboard_url}")
    else:
        console.print("ZenML dashboard: run `zenml login --local` to start it on 127.0.0.1")


def print_deployment_summary(summary: DeploymentSummary) -> None:
    console.print(
        f"Deployed {summary.model_name} version {summary.model_version} on stack '{summary.stack}' "
        f"(run {summary.run_name})"
    )
    console.print(f"prediction_url: {summary.prediction_url}")
    console.print(f"  V2 inference: POST {summary.prediction_url}/v2/models/{summary.model_name}/infer")


def print_manifest(manifest: dict[str, Any], path: Path) -> None:
    console.print(
        f"SeldonDeployment '{manifest['metadata']['name']}' validated against the CRD; written to {path}"
    )


def print_predictions(predictions: pd.DataFrame, out: Path | None) -> None:
    if out is not None:
        console.print(f"{len(predictions)} predictions written to {out}")
    else:
        console.print(predictions.to_string(index=False))


def _drift_rows(table: Table, drift: DriftResult) -> None:
    table.add_row("dataset drift", "[red]yes[/]" if drift.dataset_drift else "[green]no[/]")
    table.add_row(
        "drifted columns",
        f"{len(drift.drifted_columns)} of {len(drift.columns)} (share {drift.drift_share:.2f}, "
        f"threshold {drift.drift_share_threshold:.2f})",
    )
    if drift.drifted_columns:
        shown = drift.drifted_columns[:8]
        table.add_row("", ", ".join(shown) + (", ..." if len(drift.drifted_columns) > 8 else ""))
    if drift.prediction_drift:
        drifted = [column.column for column in drift.prediction_drift if column.drifted]
        table.add_row(
            "prediction drift", f"[red]yes[/] ({', '.join(drifted)})" if drifted else "[green]no[/]"
        )
    sampled = (
        ""
        if drift.compared_rows == drift.n_rows
        else f" (drift checked on a sample of {drift.compared_rows})"
    )
    table.add_row("rows", f"{drift.n_rows}{sampled}")


def print_batch_inference_summary(summary: BatchInferenceSummary) -> None:
    table = _summary_table(f"Batch inference run {summary.run_name} on stack '{summary.stack}'")
    table.add_row("model", f"{summary.model_name} version {summary.model_version}")
    _drift_rows(table, summary.drift)
    predictions = summary.predictions
    speed = predictions.rows / max(predictions.seconds, 1e-9)
    table.add_row("scored by", f"{predictions.scored_by} ({speed:,.0f} rows/s)")
    table.add_row("predictions", predictions.location)
    if summary.stream_entries:
        table.add_row("stream", summary.stream_entries)
    console.print(table)
    console.print("The drift report is the run's `drift_report` artifact in the ZenML dashboard.")


def print_continuous_training_summary(summary: ContinuousTrainingSummary) -> None:
    table = _summary_table(f"Continuous training run {summary.run_name} on stack '{summary.stack}'")
    table.add_row("production", f"{summary.model_name} version {summary.model_version}")
    _drift_rows(table, summary.drift)
    quality = summary.quality
    for name, value in quality.scores.items():
        held_out = quality.held_out.get(name)
        versus = "" if held_out is None else f" (held-out {held_out:.4f})"
        flag = " [red]dropped[/]" if name in quality.degraded else ""
        table.add_row(f"batch {name}", f"{value:.4f}{versus}{flag}")
    for name, why in quality.not_computed.items():
        table.add_row(f"batch {name}", f"not computed: {why}")
    table.add_row(
        "retrain", f"[yellow]yes ({summary.decision.reason})[/]" if summary.decision.retrain else "no"
    )
    table.add_row("reason", summary.decision.explanation)
    if summary.stream_entries:
        table.add_row("stream", summary.stream_entries)
    console.print(table)
    console.print(
        "The drift and quality reports are the run's `drift_report` and `quality_report` artifacts."
    )
    if summary.training is not None:
        print_training_summary(summary.training)
    if summary.deployment is not None:
        print_deployment_summary(summary.deployment)
    elif summary.not_redeployed_because:
        console.print(f"Not redeployed: {summary.not_redeployed_because}")


def print_versions(versions: list[VersionDescription]) -> None:
    table = Table(title=f"Versions of {versions[0].model} (`model show VERSION` says why)")
    for column in ("version", "stage", "created", *KEY_METRICS, "promoted"):
        table.add_column(column)
    for version in versions:
        scores = [f"{version.metrics[name]:.4f}" if name in version.metrics else "" for name in KEY_METRICS]
        table.add_row(version.version, version.stage or "", version.created, *scores, _promoted(version))
    console.print(table)


def print_version(version: VersionDescription) -> None:
    table = _summary_table(f"{version.model} version {version.version}")
    table.add_row("stage", version.stage or "(none)")
    table.add_row("created", version.created)
    for name, value in version.metrics.items():
        table.add_row(name, f"{value:.4f}")
    table.add_row("promotion", _promotion_words(version))
    for key, value in (version.lineage or {}).items():
        table.add_row(key.replace("_", " "), _words(value))
    if version.data_contract is not None:
        from core.validation import FeatureSchema

        schema = FeatureSchema.model_validate({"classes": [], **version.data_contract})
        table.add_row("data contract", "\n".join(schema.describe_contract()))
    console.print(table)


def _promoted(version: VersionDescription) -> str:
    if version.manual_promotion:
        return "by hand"
    if version.promotion:
        return "yes" if version.promotion.get("promoted") else "no"
    return ""


def _promotion_words(version: VersionDescription) -> str:
    if version.manual_promotion:
        manual = version.manual_promotion
        return f"by hand, {manual['at']}, {manual['by']}: {manual['reason']}"
    if version.promotion:
        verdict = "promoted" if version.promotion.get("promoted") else "not promoted"
        return f"{verdict}: {version.promotion.get('reason', '')}"
    return ""


def _words(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)
