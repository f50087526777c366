"""What a run would refuse, found before ZenML starts: the data file read and checked by the same
core functions the steps call, so a bad file fails in about a second, not after ZenML's start-up.

Only file sources are read here (a database or URL is left to the ingest step); what needs the
production model's schema (a batch's columns and types) is left to the pipeline.
"""

from __future__ import annotations

from typing import Any

from core.sources import CsvSource, ParquetSource, load_source
from core.validation import check_labels, validate_training_data
from pipelines.run_config import RunConfig


def check_data(pipeline: str, config: RunConfig[Any]) -> None:
    """Raise the user-facing error the run would fail with on its data file, if there is one."""
    data = getattr(config.parameters, "data", None)
    if data is None or not isinstance(data.source, CsvSource | ParquetSource):
        return
    frame = load_source(data.source)
    if pipeline == "training":
        validate_training_data(frame, data.target, config.parameters.validation)
    elif pipeline == "continuous-training":
        check_labels(frame, data.target)
