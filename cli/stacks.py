"""`stack register` and `info`: the project's stacks in ZenML, and where the active one keeps things."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import ConfigError

stack_app = typer.Typer(help="Register the project's stacks (stacks/*.yaml) with ZenML.")


@stack_app.command("register")
def register(
    name: Annotated[str | None, typer.Argument(help="Stack to register (stacks/NAME.yaml).")] = None,
    all_stacks: Annotated[bool, typer.Option("--all", help="Register every stack.")] = False,
) -> None:
    """Register stacks idempotently, without prompts; then `zenml stack set NAME`."""
    from stacks.spec import available_stacks, load_stack_spec

    if (name is None) == (not all_stacks):
        raise ConfigError("give a stack NAME or --all (not both)")
    specs = [load_stack_spec(stack) for stack in (available_stacks() if all_stacks else [str(name)])]
    from zenml.client import Client

    from stacks.registry import register_stack

    client = Client()
    for spec in specs:
        changed = register_stack(client, spec)
        typer.echo(f"stack '{spec.name}': {'registered' if changed else 'already up to date'}")


def info() -> None:
    """Where the active stack keeps its runs: MLflow tracking URI and how to open the dashboards."""
    from cli.console import print_stack_info
    from pipelines.execution import describe_active_stack

    print_stack_info(*describe_active_stack())
