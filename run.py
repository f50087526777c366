"""Command line of the template: `python run.py --pipeline training` and friends.

Imports of ZenML, MLflow and scikit-learn happen inside the commands, so `--help` and a bad
option answer at once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

PROJECT_ROOT = Path(__file__).resolve().parent
CONFIGS = PROJECT_ROOT / "configs"
PIPELINES = ("training",)

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
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if pipeline is None:
        raise fail(f"--pipeline is required; choose one of: {', '.join(PIPELINES)}")
    if pipeline not in PIPELINES:
        raise fail(f"--pipeline: unknown pipeline '{pipeline}'; choose one of: {', '.join(PIPELINES)}")
    from lifecycle.errors import UserFacingError
    from lifecycle.run_config import load_run_config, with_overrides

    try:
        run_config = with_overrides(
            load_run_config(config or CONFIGS / f"{pipeline}.yaml"),
            data=data,
            target=target,
            model_name=model_name,
            no_cache=no_cache,
        )
        from lifecycle.console import console, print_training_summary

        with console.status("Loading ZenML and preparing the stack..."):
            from pipelines.launch import prepare_stack, run_training

            stack = prepare_stack()
        summary = run_training(run_config, stack)
    except UserFacingError as error:
        raise fail(str(error)) from None
    print_training_summary(summary)


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
