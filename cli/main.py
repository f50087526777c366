"""`python run.py`: run a pipeline on the active ZenML stack, and the commands around it.

Imports of ZenML, MLflow and scikit-learn happen inside the commands, so `--help` and a bad option
answer at once; configs and data files are checked before ZenML starts. `main` is the one error
boundary: a user-facing error from any command is one line on stderr and exit code 1; anything
else (from ZenML, MLflow, a server) is one line naming the error and the file that holds its
traceback, and exit code 2; `--debug` prints the traceback instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cli import data, deployment, labels, models, servers, stacks
from core.errors import ConfigError, UserFacingError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIGS = PROJECT_ROOT / "configs"
PIPELINES = ("training", "deployment", "batch-inference", "continuous-training")
ALL = "all"  # every pipeline in lifecycle order, each with its own config

os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("ZENML_AUTO_OPEN_DASHBOARD", "false")

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Run the ML lifecycle on the active ZenML stack.",
)
app.add_typer(stacks.stack_app, name="stack")
app.add_typer(deployment.deployment_app, name="deployment")
app.add_typer(servers.servers_app, name="servers")
app.add_typer(models.model_app, name="model")
app.command("predict")(deployment.predict)
app.command("simulate")(data.simulate)
app.command("labels")(labels.labels)
app.command("info")(stacks.info)


_debug = False  # set by --debug: unexpected errors print their traceback


def main() -> None:
    """Run the CLI; a user-facing error becomes one line and exit code 1, any other error one line
    and the path of its traceback, and exit code 2."""
    try:
        app()
    except UserFacingError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        raise SystemExit(1) from None
    except Exception as error:
        if _debug:
            raise
        from cli.failures import one_line, save_traceback

        where = save_traceback(error)
        typer.secho(
            f"error: {one_line(error)} (traceback in {where}; run again with --debug to print it)",
            err=True,
            fg=typer.colors.RED,
        )
        raise SystemExit(2) from None


@app.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    pipeline: Annotated[
        str | None,
        typer.Option(
            help=f"Pipeline to run: {' | '.join(PIPELINES)} | {ALL} (all four, in that order).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Run config YAML (default: configs/PIPELINE.yaml); with --pipeline all, a folder of them.",
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            help="CSV or Parquet file replacing the configured data source; for batch inference also a "
            "folder of them or a URI (s3://, gs://, az://)."
        ),
    ] = None,
    target: Annotated[str | None, typer.Option(help="Label column, overriding the config.")] = None,
    model_name: Annotated[
        str | None,
        typer.Option(
            help="Model name in the Model Control Plane (for a new data set).",
            callback=deployment.checked_model_name,
        ),
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
    debug: Annotated[
        bool, typer.Option("--debug", help="Print the traceback of an unexpected error (any command).")
    ] = False,
) -> None:
    global _debug
    _debug = debug
    if ctx.invoked_subcommand is not None:
        return
    choices = ", ".join((*PIPELINES, ALL))
    if pipeline is None:
        raise ConfigError(f"--pipeline is required; choose one of: {choices}")
    if pipeline not in (*PIPELINES, ALL):
        raise ConfigError(f"--pipeline: unknown pipeline '{pipeline}'; choose one of: {choices}")
    if (dry_run or manifest_out) and (pipeline != "deployment" or not (dry_run and manifest_out)):
        raise ConfigError("--dry-run and --manifest-out PATH go together, with --pipeline deployment")
    if pipeline == ALL and config is not None and not config.is_dir():
        raise ConfigError(
            f"--config: with --pipeline all, give a folder of pipeline configs, not the file '{config}'"
        )
    from cli import console
    from pipelines.preflight import check_data

    stages = PIPELINES if pipeline == ALL else (pipeline,)
    # Every data file, then every config, is read and checked before ZenML starts: the data first,
    # as the config's estimator check imports scikit-learn.
    for stage in stages:
        if stage != "deployment":
            check_data(stage, _config_file(stage, config, pipeline == ALL), data, target)
    from pipelines.run_config import load_pipeline_config, retraining_configs, with_overrides

    run_configs = {
        stage: with_overrides(
            load_pipeline_config(stage, _config_file(stage, config, pipeline == ALL)),
            data=data if stage != "deployment" else None,
            target=target if stage != "deployment" else None,
            model_name=model_name,
            no_cache=no_cache,
        )
        for stage in stages
    }
    for stage, run_config in run_configs.items():
        if stage == "continuous-training":
            retraining_configs(run_config)
    if manifest_out is not None:
        from pipelines.deployment import render_deployment_manifest

        console.print_manifest(
            render_deployment_manifest(run_configs["deployment"], manifest_out), manifest_out
        )
        return
    with console.console.status("Loading ZenML and preparing the stack..."):
        from pipelines.execution import prepare_stack

        active = prepare_stack(stack)
    if config is None and data is None:  # the stack may read its own data (local-servers: captures)
        from pipelines.run_config import with_stack_parameters

        run_configs = {s: with_stack_parameters(c, active.name, s) for s, c in run_configs.items()}
    for stage, run_config in run_configs.items():
        if stage == "training":
            from pipelines.training import run_training

            console.print_training_summary(run_training(run_config, active))
        elif stage == "deployment":
            from pipelines.deployment import run_deployment

            console.print_deployment_summary(run_deployment(run_config, active))
        elif stage == "batch-inference":
            from pipelines.batch_inference import run_batch_inference

            console.print_batch_inference_summary(run_batch_inference(run_config, active))
        else:
            from pipelines.continuous_training import run_continuous_training

            console.print_continuous_training_summary(run_continuous_training(run_config, active))


def _config_file(pipeline: str, config: Path | None, is_folder: bool) -> Path:
    """The pipeline's config: `--config` itself, or its file in the `--config` folder (with `all`)."""
    name = f"{pipeline.replace('-', '_')}.yaml"
    if config is None:
        return CONFIGS / name
    return config / name if is_folder else config
