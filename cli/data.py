"""`simulate`: seeded batches of new data, clean or shifted, to walk the drift loop offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def simulate(
    out: Annotated[Path, typer.Option(help="Where to write the batch (.csv or .parquet).")],
    drift: Annotated[
        float, typer.Option(help="Shift of every feature in standard deviations: 0 clean, 1.0 drifted.")
    ] = 0.0,
    rows: Annotated[int, typer.Option(help="Rows in the batch.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same batch.")] = 0,
    label_noise: Annotated[
        float, typer.Option(help="Share of rows given another class: quality drops, features do not drift.")
    ] = 0.0,
    labeled: Annotated[
        bool, typer.Option("--labeled/--unlabeled", help="Keep the target column (continuous training).")
    ] = True,
) -> None:
    """Write a seeded batch from the demo data, clean, shifted or mislabeled, for the drift loop."""
    from core.scoring import write_table
    from core.simulate import simulate_batch

    batch = simulate_batch(drift=drift, rows=rows, seed=seed, labeled=labeled, label_noise=label_noise)
    write_table(batch, out)
    noise = f", label noise {label_noise}" if label_noise else ""
    typer.echo(f"{len(batch)} rows (drift {drift}{noise}, seed {seed}) written to {out}")
