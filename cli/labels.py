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
        typer.Option(help="The label column (default: the continuous-training config's data.target)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="The continuous-training config whose captured source the labels are for."),
    ] = None,
) -> None:
    """Store labels of requests the live endpoint answered, where continuous training joins them."""
    from core.capture import REQUEST_ID, REQUEST_ROW, label_key
    from core.errors import ConfigError, DataValidationError
    from core.scoring import read_rows
    from core.sources import CapturedSource, describe_source
    from pipelines.execution import prepare_stack
    from pipelines.run_config import load_pipeline_config, with_stack_parameters

    run_config = load_pipeline_config("continuous-training", config or CONTINUOUS_TRAINING_CONFIG)
    if config is None:  # the shipped config reads what the stack says (local-servers: its captures)
        run_config = with_stack_parameters(run_config, prepare_stack().name, "continuous-training")
    source = run_config.parameters.data.source
    if not isinstance(source, CapturedSource):
        raise ConfigError(
            f"continuous training reads {describe_source(source)} on this stack, not captured requests: "
            "labels are kept for a `kind: captured` source (the local-servers stack reads its endpoint's "
            "captures)"
        )
    rows = read_rows(data)
    column = target or str(run_config.parameters.data.target)
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
    from stacks.streams.readers import open_stream
    from steps.ingest import login_for

    store = open_stream(source, login_for(source))
    try:
        store.add_labels(keyed)
    finally:
        store.close()
    typer.echo(
        f"{len(keyed)} labels stored in '{source.labels_key()}' (a row's later label replaces its earlier)"
    )
