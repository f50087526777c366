"""What the CLI prints after a run: a short, readable summary with rich."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.launch import DeploymentSummary, TrainingSummary

console = Console(soft_wrap=True)


def print_training_summary(summary: TrainingSummary) -> None:
    decision = summary.decision
    table = Table(title=f"Training run {summary.run_name} on stack '{summary.stack}'", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("model", f"{summary.model_name} version {summary.model_version}")
    table.add_row("stage", summary.stage or "(none)")
    for name, value in sorted(summary.metrics.items()):
        table.add_row(name, f"{value:.4f}")
    table.add_row("promoted", "[green]yes[/]" if decision.promoted else "[yellow]no[/]")
    table.add_row("reason", decision.reason)
    table.add_row("mlflow run", summary.mlflow_run_id or "(no experiment tracker on this stack)")
    table.add_row("cached steps", f"{summary.cached_steps} of {summary.total_steps}")
    console.print(table)


def print_stack_info(stack: str, tracking_uri: str | None, dashboard_url: str | None) -> None:
    console.print(f"active stack: [bold]{stack}[/]")
    if tracking_uri is None:
        console.print("MLflow: the active stack has no experiment tracker")
    else:
        console.print(f"MLflow tracking URI: {tracking_uri}")
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
