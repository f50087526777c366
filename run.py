"""Command line of the template: `python run.py --pipeline training` and friends.

Imports of ZenML, MLflow and scikit-learn happen inside the commands, so `--help` and a bad
option answer at once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

PROJECT_ROOT = Path(__file__).resolve().parent
CONFIGS = PROJECT_ROOT / "configs"
PIPELINES = ("training", "deployment")

os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("ZENML_AUTO_OPEN_DASHBOARD", "false")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Run the ML lifecycle on the active ZenML stack.",
)
stack_app = typer.Typer(help="Register the project's stacks (stacks/*.yaml) with ZenML.")
app.add_typer(stack_app, name="stack")


def fail(message: str) -> typer.Exit:
    """Print one line naming what is wrong and return the exit to raise."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    pipeline: Annotated[
        str | None,
        typer.Option(help=f"Pipeline to run: {' | '.join(PIPELINES)}.", show_default=False),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Run config YAML (default: configs/PIPELINE.yaml).", show_default=False),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="CSV or Parquet file replacing the configured data source."),
    ] = None,
    target: Annotated[str | None, typer.Option(help="Label column, overriding the config.")] = None,
    model_name: Annotated[
        str | None, typer.Option(help="Model name in the Model Control Plane (for a new data set).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step again.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Deployment: render the Seldon manifest, deploy nothing.")
    ] = False,
    manifest_out: Annotated[
        Path | None, typer.Option(help="Deployment --dry-run: where to write the SeldonDeployment YAML.")
    ] = None,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if pipeline is None:
        raise fail(f"--pipeline is required; choose one of: {', '.join(PIPELINES)}")
    if pipeline not in PIPELINES:
        raise fail(f"--pipeline: unknown pipeline '{pipeline}'; choose one of: {', '.join(PIPELINES)}")
    if (dry_run or manifest_out) and (pipeline != "deployment" or not (dry_run and manifest_out)):
        raise fail("--dry-run and --manifest-out PATH go together, with --pipeline deployment")
    from lifecycle.config import DeploymentParameters, TrainingParameters
    from lifecycle.errors import UserFacingError
    from lifecycle.run_config import load_run_config, with_overrides

    config_path = config or CONFIGS / f"{pipeline}.yaml"
    overrides: dict[str, Any] = {
        "data": data,
        "target": target,
        "model_name": model_name,
        "no_cache": no_cache,
    }
    try:
        from lifecycle import console

        if pipeline == "training":
            training_config = with_overrides(load_run_config(config_path, TrainingParameters), **overrides)
        else:
            deployment_config = with_overrides(
                load_run_config(config_path, DeploymentParameters), **overrides
            )
        if manifest_out is not None:
            from pipelines.launch import render_deployment_manifest

            console.print_manifest(render_deployment_manifest(deployment_config, manifest_out), manifest_out)
            return
        with console.console.status("Loading ZenML and preparing the stack..."):
            from pipelines import launch

            stack = launch.prepare_stack()
        if pipeline == "training":
            console.print_training_summary(launch.run_training(training_config, stack))
        else:
            console.print_deployment_summary(launch.run_deployment(deployment_config, stack))
    except UserFacingError as error:
        raise fail(str(error)) from None


@app.command("predict")
def predict(
    data: Annotated[Path, typer.Option(help="CSV or Parquet file of feature rows to score.")],
    out: Annotated[Path | None, typer.Option(help="Write predictions here (.csv or .parquet).")] = None,
    model_name: Annotated[
        str | None, typer.Option(help="Deployed model to ask (default: configs/deployment.yaml's model).")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Endpoint base URL (default: the model's running deployment).")
    ] = None,
) -> None:
    """Send a file's rows to the live V2 endpoint; print or write the predictions."""
    from lifecycle.errors import UserFacingError
    from lifecycle.predictions import predict_file

    try:
        if model_name is None:
            from lifecycle.config import DeploymentParameters
            from lifecycle.run_config import load_run_config

            model_name = load_run_config(CONFIGS / "deployment.yaml", DeploymentParameters).model_name
        if url is None:
            from pipelines.launch import deployed_url

            url = deployed_url(model_name)
        result = predict_file(data, url, model_name, out)
    except UserFacingError as error:
        raise fail(str(error)) from None
    from lifecycle.console import print_predictions

    print_predictions(result, out)


@stack_app.command("register")
def stack_register(
    name: Annotated[str | None, typer.Argument(help="Stack to register (stacks/NAME.yaml).")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Register every stack.")] = False,
) -> None:
    """Register stacks idempotently, without prompts; then `zenml stack set NAME`."""
    from lifecycle.errors import UserFacingError
    from stacks.spec import available_stacks, load_stack_spec

    if (name is None) == (not all_stacks):
        raise fail("give a stack NAME or --all (not both)")
    names = available_stacks() if all_stacks else [name]
    from zenml.client import Client

    from stacks.registry import register_stack

    client = Client()
    for stack_name in names:
        try:
            changed = register_stack(client, load_stack_spec(str(stack_name)))
        except UserFacingError as error:
            raise fail(str(error)) from None
        typer.echo(f"stack '{stack_name}': {'registered' if changed else 'already up to date'}")


@app.command("info")
def info() -> None:
    """Where the active stack keeps its runs: MLflow tracking URI and how to open the dashboards."""
    from lifecycle.console import print_stack_info
    from pipelines.launch import describe_active_stack

    print_stack_info(*describe_active_stack())


if __name__ == "__main__":
    sys.exit(app())
