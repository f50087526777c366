"""`deployment status|stop` and `predict`: the live endpoint of the model on the active stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.model_names import checked_name

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

deployment_app = typer.Typer(help="See or stop the model's deployment on the active stack.")


def checked_model_name(name: str | None) -> str | None:
    """`--model-name`, checked as it is parsed: the name becomes a folder name, and a bad one fails
    before any command starts."""
    return None if name is None else checked_name(name, "--model-name")


ModelName = Annotated[
    str | None,
    typer.Option(
        "--model-name", help="Model (default: configs/deployment.yaml's).", callback=checked_model_name
    ),
]


def model_name_or_default(model_name: str | None) -> str:
    if model_name is not None:
        return model_name
    from pipelines.run_config import load_pipeline_config

    return load_pipeline_config("deployment", CONFIGS / "deployment.yaml").model_name


@deployment_app.command("status")
def status(model_name: ModelName = None) -> None:
    """Which version is served where, whether it answers, and its Prometheus metrics URL."""
    from stacks.deployers import active_model_deployer, deployment_statuses

    name = model_name_or_default(model_name)
    statuses = deployment_statuses(active_model_deployer(), name)
    if not statuses:
        typer.echo(f"'{name}' is not deployed on this stack")
    for found in statuses:
        state = "running" if found.running else "NOT running (`--pipeline deployment` starts it again)"
        typer.echo(f"{found.model_name} version {found.model_version}: {state}")
        typer.echo(f"  url: {found.base_url}")
        if found.serving:
            typer.echo(f"  runtime: {found.serving.runtime} ({found.serving.reason})")
        if found.metrics_url:
            typer.echo(f"  metrics: {found.metrics_url}")


@deployment_app.command("stop")
def stop(model_name: ModelName = None) -> None:
    """Stop and remove the model's local MLServer deployment."""
    from stacks.deployers import active_model_deployer, stop_deployments

    name = model_name_or_default(model_name)
    typer.echo(f"stopped {stop_deployments(active_model_deployer(), name)} deployment(s) of '{name}'")


def predict(
    data: Annotated[Path, typer.Option(help="CSV or Parquet file of feature rows to score.")],
    out: Annotated[
        Path | None, typer.Option(help="Write the rows with their predictions here (.csv or .parquet).")
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option(
            help="Deployed model to ask (default: configs/deployment.yaml's model).",
            callback=checked_model_name,
        ),
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Endpoint base URL (default: the model's running deployment).")
    ] = None,
) -> None:
    """Send a file's rows to the live V2 endpoint; print the predictions, or write the rows with them."""
    from cli.console import print_predictions
    from core.scoring import predict_rows, read_rows

    rows = read_rows(data)  # a bad file fails before ZenML starts
    name = model_name_or_default(model_name)
    if url is None:
        from stacks.deployers import active_model_deployer, deployed_base_url

        url = deployed_base_url(active_model_deployer(), name)
    answers = predict_rows(rows, url, name, out)
    print_predictions(answers.drop(columns=rows.columns), out)
