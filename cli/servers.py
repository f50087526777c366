"""`servers up|down|status`: real servers on 127.0.0.1 for the server-backed stacks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from stacks.servers.supervisor import LocalServers, ServerReport

servers_app = typer.Typer(
    help="Real servers on 127.0.0.1 for the server-backed stacks (configs/servers.yaml)."
)

Names = Annotated[
    list[str] | None,
    typer.Argument(
        help="Servers to start (default: all): s3 gcs azure mlflow zenml airflow.", show_default=False
    ),
]
ConfigPath = Annotated[Path | None, typer.Option("--config", help="Default: configs/servers.yaml.")]


def _local_servers(config: Path | None) -> LocalServers:
    from stacks.servers.config import DEFAULT_CONFIG, load_servers_config
    from stacks.servers.supervisor import LocalServers

    return LocalServers(load_servers_config(config or DEFAULT_CONFIG))


@servers_app.command("up")
def up(names: Names = None, config: ConfigPath = None) -> None:
    """Start the servers (those already up are kept), store their credentials as ZenML secrets."""
    from cli.console import console
    from stacks.extras import require_extra

    require_extra("servers", "`servers up`")
    with console.status("Starting servers..."):
        reports = _local_servers(config).up(list(names or []))
    _print(reports)


@servers_app.command("down")
def down(config: ConfigPath = None) -> None:
    """Stop exactly what `servers up` started."""
    stopped = _local_servers(config).down()
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@servers_app.command("status")
def status(config: ConfigPath = None) -> None:
    """What is up, where, and where its log is; exit code 1 if something is down."""
    reports = _local_servers(config).status()
    _print(reports)
    if any(report.state != "up" for report in reports):
        raise typer.Exit(code=1)


def _print(reports: list[ServerReport]) -> None:
    if not reports:
        typer.echo("no servers started from this run folder")
    for report in reports:
        pids = ",".join(map(str, report.pids)) or "-"
        typer.echo(f"{report.name:<8} {report.state:<8} {report.url}  pid {pids}  log {report.log}")
