"""Command line of the template: `python run.py --pipeline training` and friends.

Imports of ZenML, MLflow and scikit-learn happen inside the commands, so `--help` and a bad
option answer at once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

T = TypeVar("T")
PROJECT_ROOT = Path(__file__).resolve().parent
CONFIGS = PROJECT_ROOT / "configs"
PIPELINES = ("training", "deployment", "batch-inference", "continuous-training", "all")
ALL = ("training", "deployment")  # `--pipeline all`: train (and promote), then serve production

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
deployment_app = typer.Typer(help="See or stop the model's deployment on the active stack.")
app.add_typer(deployment_app, name="deployment")
servers_app = typer.Typer(
    help="Real servers on 127.0.0.1 for the server-backed stacks (configs/servers.yaml)."
)
app.add_typer(servers_app, name="servers")


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
        typer.Option(
            help="Run config YAML (default: configs/PIPELINE.yaml); with --pipeline all, a folder of them.",
            show_default=False,
        ),
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
    stack: Annotated[
        str | None,
        typer.Option(help="Run on this registered stack instead of the active one (this run only)."),
    ] = None,
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
    if pipeline == "all" and config is not None and not config.is_dir():
        raise fail(
            f"--config: with --pipeline all, give a folder of pipeline configs, not the file '{config}'"
        )
    from lifecycle.errors import UserFacingError
    from lifecycle.run_config import load_run_config, with_overrides

    stages = ALL if pipeline == "all" else (pipeline,)
    try:
        from lifecycle import console

        # Every config is read and checked before anything runs.
        run_configs = {
            stage: with_overrides(
                load_run_config(_config_file(stage, config, pipeline == "all"), _parameters_type(stage)),
                data=data if stage != "deployment" else None,
                target=target if stage != "deployment" else None,
                model_name=model_name,
                no_cache=no_cache,
            )
            for stage in stages
        }
        if manifest_out is not None:
            from pipelines.launch import render_deployment_manifest

            run_config = run_configs["deployment"]
            console.print_manifest(render_deployment_manifest(run_config, manifest_out), manifest_out)
            return
        with console.console.status("Loading ZenML and preparing the stack..."):
            from pipelines import launch

            active = launch.prepare_stack(stack)
        for stage, run_config in run_configs.items():
            if stage == "training":
                console.print_training_summary(launch.run_training(run_config, active))
            elif stage == "deployment":
                console.print_deployment_summary(launch.run_deployment(run_config, active))
            elif stage == "batch-inference":
                console.print_batch_inference_summary(launch.run_batch_inference(run_config, active))
            else:
                console.print_continuous_training_summary(launch.run_continuous_training(run_config, active))
    except UserFacingError as error:
        raise fail(str(error)) from None


def _config_file(pipeline: str, config: Path | None, is_folder: bool) -> Path:
    """The pipeline's config: `--config` itself, or its file in the `--config` folder (with `all`)."""
    name = f"{pipeline.replace('-', '_')}.yaml"
    if config is None:
        return CONFIGS / name
    return config / name if is_folder else config


def _parameters_type(pipeline: str) -> Any:
    """The pydantic model of a pipeline's `parameters` section."""
    from lifecycle import config

    return {
        "training": config.TrainingParameters,
        "deployment": config.DeploymentParameters,
        "batch-inference": config.BatchInferenceParameters,
        "continuous-training": config.ContinuousTrainingParameters,
    }[pipeline]


@app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Option(help="Where to write the batch (.csv or .parquet).")],
    drift: Annotated[
        float, typer.Option(help="Shift of every feature in standard deviations: 0 clean, 1.0 drifted.")
    ] = 0.0,
    rows: Annotated[int, typer.Option(help="Rows in the batch.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same batch.")] = 0,
    labeled: Annotated[
        bool, typer.Option("--labeled/--unlabeled", help="Keep the target column (continuous training).")
    ] = True,
) -> None:
    """Write a seeded batch from the demo data, clean or shifted, for the drift loop."""
    from lifecycle.errors import UserFacingError
    from lifecycle.predictions import write_table
    from lifecycle.simulate import simulate_batch

    try:
        batch = simulate_batch(drift=drift, rows=rows, seed=seed, labeled=labeled)
        write_table(batch, out)
    except UserFacingError as error:
        raise fail(str(error)) from None
    typer.echo(f"{len(batch)} rows (drift {drift}, seed {seed}) written to {out}")


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


DeployedModelName = Annotated[
    str | None, typer.Option("--model-name", help="Model (default: configs/deployment.yaml's).")
]


def _ask_deployer(action: Callable[[Any, str], T], model_name: str | None) -> tuple[str, T]:
    """`action(deployer, name)` on the active stack's model deployer; a user error exits with one line."""
    from lifecycle.errors import UserFacingError

    try:
        if model_name is None:
            from lifecycle.config import DeploymentParameters
            from lifecycle.run_config import load_run_config

            model_name = load_run_config(CONFIGS / "deployment.yaml", DeploymentParameters).model_name
        from zenml.client import Client

        return model_name, action(Client().active_stack.model_deployer, model_name)
    except UserFacingError as error:
        raise fail(str(error)) from None


@deployment_app.command("status")
def deployment_status(model_name: DeployedModelName = None) -> None:
    """Which version is served where, whether it answers, and its Prometheus metrics URL."""
    from stacks.deployers import deployment_statuses

    name, statuses = _ask_deployer(deployment_statuses, model_name)
    if not statuses:
        typer.echo(f"'{name}' is not deployed on this stack")
    for status in statuses:
        state = "running" if status.running else "NOT running (`--pipeline deployment` starts it again)"
        typer.echo(f"{status.model_name} version {status.model_version}: {state}")
        typer.echo(f"  url: {status.base_url}")
        if status.metrics_url:
            typer.echo(f"  metrics: {status.metrics_url}")


@deployment_app.command("stop")
def deployment_stop(model_name: DeployedModelName = None) -> None:
    """Stop and remove the model's local MLServer deployment."""
    from stacks.deployers import stop_deployments

    name, stopped = _ask_deployer(stop_deployments, model_name)
    typer.echo(f"stopped {stopped} deployment(s) of '{name}'")


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


ServerNames = Annotated[
    list[str] | None,
    typer.Argument(
        help="Servers to start (default: all): s3 gcs azure mlflow zenml airflow.", show_default=False
    ),
]
ServersConfigPath = Annotated[Path | None, typer.Option("--config", help="Default: configs/servers.yaml.")]


def _local_servers(config: Path | None) -> Any:
    from stacks.servers import DEFAULT_CONFIG, LocalServers, load_servers_config

    return LocalServers(load_servers_config(config or DEFAULT_CONFIG))


@servers_app.command("up")
def servers_up(names: ServerNames = None, config: ServersConfigPath = None) -> None:
    """Start the servers (those already up are kept), store their credentials as a ZenML secret."""
    from lifecycle.errors import UserFacingError

    try:
        with _console_status("Starting servers..."):
            reports = _local_servers(config).up(list(names or []))
    except UserFacingError as error:
        raise fail(str(error)) from None
    _print_servers(reports)


@servers_app.command("down")
def servers_down(config: ServersConfigPath = None) -> None:
    """Stop exactly what `servers up` started."""
    from lifecycle.errors import UserFacingError

    try:
        stopped = _local_servers(config).down()
    except UserFacingError as error:
        raise fail(str(error)) from None
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@servers_app.command("status")
def servers_status(config: ServersConfigPath = None) -> None:
    """What is up, where, and where its log is."""
    from lifecycle.errors import UserFacingError

    try:
        reports = _local_servers(config).status()
    except UserFacingError as error:
        raise fail(str(error)) from None
    _print_servers(reports)
    if any(report.state != "up" for report in reports):
        raise typer.Exit(code=1)


def _console_status(message: str) -> Any:
    from lifecycle import console

    return console.console.status(message)


def _print_servers(reports: list[Any]) -> None:
    if not reports:
        typer.echo("no servers started from this run folder")
    for report in reports:
        pids = ",".join(map(str, report.pids)) or "-"
        typer.echo(f"{report.name:<8} {report.state:<8} {report.url}  pid {pids}  log {report.log}")


@app.command("info")
def info() -> None:
    """Where the active stack keeps its runs: MLflow tracking URI and how to open the dashboards."""
    from lifecycle.console import print_stack_info
    from pipelines.launch import describe_active_stack

    print_stack_info(*describe_active_stack())


if __name__ == "__main__":
    sys.exit(app())
