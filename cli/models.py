"""`model list|show|promote`: the model's versions in the Model Control Plane, and putting one back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.deployment import ModelName, model_name_or_default

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

model_app = typer.Typer(help="List, inspect and promote the model's versions.")


@model_app.command("list")
def list_versions(model_name: ModelName = None) -> None:
    """Every version, newest first: stage, when, the deciding metrics and whether it was promoted."""
    from cli.console import print_versions
    from pipelines.model_versions import list_versions as versions

    print_versions(versions(model_name_or_default(model_name)))


@model_app.command("show")
def show(
    version: Annotated[
        str | None, typer.Argument(help="Version number or name (default: production, else the latest).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    model_name: ModelName = None,
) -> None:
    """A version's stage, metrics, promotion decision and lineage (what data and code made it)."""
    from cli.console import print_version
    from pipelines.model_versions import describe_version

    found = describe_version(model_name_or_default(model_name), version)
    if as_json:
        typer.echo(json.dumps(found.as_json(), default=str))
    else:
        print_version(found)


@model_app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="Version number or name to put into production.")],
    reason: Annotated[str, typer.Option(help="Why: recorded on the version with who and when.")],
    model_name: ModelName = None,
    config: Annotated[
        Path, typer.Option(help="Deployment config the redeploy uses when a deployment is running.")
    ] = CONFIGS / "deployment.yaml",
) -> None:
    """Make a version (an earlier one, or any) production; a running deployment serves it next,
    switched with no failed request."""
    from cli.console import console, print_deployment_summary, print_version
    from pipelines.execution import prepare_stack
    from pipelines.manual_promotion import promote_version
    from pipelines.run_config import load_pipeline_config, with_overrides

    name = model_name_or_default(model_name)
    deployment_config = with_overrides(load_pipeline_config("deployment", config), model_name=name)
    with console.status("Loading ZenML and preparing the stack..."):
        stack = prepare_stack()
    done = promote_version(name, version, reason, deployment_config, stack)
    previous = f" (was version {done.previous})" if done.previous else ""
    console.print(f"{name} version {done.version.version} is production{previous}: {reason}")
    if done.deployment is not None:
        print_deployment_summary(done.deployment)
    print_version(done.version)
