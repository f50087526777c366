"""What a run would refuse in its data file, found first: before the rest of the config is
validated and before ZenML starts, by the same core functions the steps call.

Only the config's `data` and `validation` sections are read here; the rest is validated next, and
its estimator check imports scikit-learn (about a second more), so a bad file fails in about a
second. A section that is itself invalid is left to that validation, which names the key. Only
file sources are read (a database or URL is left to the ingest step); what needs the production
model's schema (a batch's columns and types) is left to the pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.config_files import read_yaml_mapping
from core.errors import ConfigError
from core.sources import CsvSource, DataConfig, FilesSource, ParquetSource, data_option_source, load_source
from core.validation import ValidationConfig, check_labels, validate_training_data


def check_data(pipeline: str, config_file: Path, data: str | None, target: str | None) -> None:
    """Raise the user-facing error `pipeline` would fail with on its data file, if it reads one:
    `--data` (and `--target`) when given, else the file the config names. A batch inference's
    files on local disk are listed and their headers checked; nothing else of them is read."""
    parameters = read_yaml_mapping(config_file).get("parameters") or {}
    overrides: dict[str, Any] = {}
    if data is not None:
        overrides["source"] = data_option_source(data, by_reference=pipeline == "batch-inference")
    if target is not None:
        overrides["target"] = target
    try:
        section = DataConfig.model_validate({**(parameters.get("data") or {}), **overrides})
        rules = ValidationConfig.model_validate(parameters.get("validation") or {})
    except (ValidationError, AttributeError, TypeError):
        return
    if isinstance(section.source, FilesSource):
        _check_local_files(section.source)
        return
    if not isinstance(section.source, CsvSource | ParquetSource):
        return
    frame = load_source(section.source)
    if section.target is None:
        return
    if pipeline == "training":
        validate_training_data(frame, section.target, rules)
    elif pipeline == "continuous-training":
        check_labels(frame, section.target)


def _check_local_files(source: FilesSource) -> None:
    """A local batch's listing and headers; a URI needs the stack's credentials, so the step checks it."""
    import fsspec

    from core.batches import list_batch

    if "$" in source.uri:
        return  # its `$VARS` are read where the step runs, which may be another machine
    fs, _ = fsspec.core.url_to_fs(source.uri)
    if "file" in fs.protocol:
        if not Path(source.uri).exists():
            raise ConfigError(f"--data: data file or folder '{source.uri}': no such file or folder")
        list_batch(source, fs)
