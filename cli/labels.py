"""`labels`: labels that arrived after the endpoint answered, stored for continuous training.

Each row names the request it labels by the `request_id` (and `request_row`, 0 if absent) that
`run.py predict` wrote beside its answer (any V2 client gets the id back as the response's `id`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CONTINUOUS_TRAINING_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "continuous_training.yaml"


def labels(
    data: Annotated[
        Path, typer.Option(help="CSV or Parquet file: request_id, [request_row,] and the label.")
    ],
    target: Annotated[
        str | None,
        typer.Option(help="The label column (default: configs/continuous_training.yaml's data.target)."),
    ] = None,
) -> None:
    """Store labels of requests the live endpoint answered, for continuous training to join."""
    from core.capture import REQUEST_ID, REQUEST_ROW, label_key
    from core.errors import DataValidationError
    from core.scoring import read_rows

    rows = read_rows(data)
    column = target or _configured_target()
    for name in (REQUEST_ID, column):
        if name not in rows:
            raise DataValidationError(f"{data}: column '{name}' is missing (labels name their request by it)")
    unlabeled = int(rows[column].isna().sum())
    if unlabeled:
        raise DataValidationError(f"{data}: column '{column}': {unlabeled} row(s) have no label")
    positions = rows[REQUEST_ROW] if REQUEST_ROW in rows else [0] * len(rows)
    keyed = {
        label_key(str(request), int(row)): value.item() if hasattr(value, "item") else value
        for request, row, value in zip(rows[REQUEST_ID], positions, rows[column], strict=True)
    }
    from stacks.deployers import active_model_deployer, captured_traffic
    from stacks.streams.readers import open_stream

    source, login = captured_traffic(active_model_deployer())
    store = open_stream(source, login)
    try:
        store.add_labels(keyed)
    finally:
        store.close()
    typer.echo(
        f"{len(keyed)} labels stored in '{source.labels_key()}' (a row's later label replaces its earlier)"
    )


def _configured_target() -> str:
    from pipelines.run_config import load_pipeline_config

    config = load_pipeline_config("continuous-training", CONTINUOUS_TRAINING_CONFIG)
    return str(config.parameters.data.target)
