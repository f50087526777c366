"""Score a batch with the production version: read it chunk by chunk (files by reference, any other
source from where it lives), check each chunk by the version's schema, score it (on the live
endpoint or in process, or all of it on Spark), write the partitioned output and keep a seeded
sample for the drift check.

Its artifacts are what a person needs, not copies of the data: the batch's reference and
fingerprint, the sample, the row count and the predictions' summary (linked to the model version).
"""

import time
from collections.abc import Iterator
from typing import Annotated, Any, Tuple

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.client import Client
from zenml.logger import get_logger

from core.batch_scoring import (
    BatchPredictions,
    PartitionedOutput,
    ReservoirSample,
    frame_chunks,
    predictions_summary,
    score_chunks,
)
from core.batches import BatchFiles, Chunk, arrow_types, list_batch, read_chunks
from core.drift import DriftConfig
from core.errors import ConfigError
from core.lineage import data_fingerprint
from core.scoring import OutputConfig, ScoringConfig, score_in_process, score_on_endpoint
from core.sources import DataConfig, FilesSource, describe_source
from core.v2_client import Predictions, V2Client, V2RequestError
from core.validation import FeatureSchema
from stacks.deployers import deployed_base_url
from steps.filesystems import filesystem_for
from steps.ingest import read_source
from steps.materializers import HashedDataFrameMaterializer
from steps.names import BATCH_INPUT, BATCH_ROWS, DRIFT_SAMPLE, FEATURE_SCHEMA, MODEL, PREDICTIONS
from steps.version_artifacts import load_version_artifact

logger = get_logger(__name__)


@step(enable_cache=False, output_materializers={DRIFT_SAMPLE: HashedDataFrameMaterializer})
def score_batch(
    data: DataConfig,
    scoring: ScoringConfig,
    output: OutputConfig,
    drift: DriftConfig,
) -> Tuple[
    Annotated[dict[str, Any], BATCH_INPUT],
    Annotated[pd.DataFrame, DRIFT_SAMPLE],
    Annotated[int, BATCH_ROWS],
    Annotated[BatchPredictions, PREDICTIONS],
]:
    started = time.perf_counter()
    context = get_step_context()
    model = context.model
    version = str(model.number)
    schema: FeatureSchema = load_version_artifact(FEATURE_SCHEMA)
    location = f"{output.folder.rstrip('/')}/{model.name}-v{version}-{context.pipeline_run.name}"
    written = PartitionedOutput(filesystem_for(location), location, output.format)
    if scoring.engine == "spark":
        from stacks.spark.scoring import score_on_spark  # PySpark: the `spark` extra

        assert isinstance(data.source, FilesSource)  # BatchInferenceParameters refuses any other
        batch = list_batch(data.source, filesystem_for(data.source.location()))
        reference = _files_reference(data.source, batch)
        model_artifact = load_version_artifact(MODEL)
        scored = score_on_spark(batch, model_artifact, schema, version, written, scoring.spark, drift)
        summary, sample = scored.summary, scored.sample
    else:
        chunks, reference = _chunks(data, schema, scoring.chunk_rows)
        scorer = _Scorer(scoring, model.name, version)
        reservoir = ReservoirSample(drift.sample_rows, drift.seed)
        try:
            totals = score_chunks(chunks, schema, scorer, written, reservoir)
            summary = predictions_summary(totals, written, version, scorer.scored_by, started)
            written.publish(summary.model_dump())
        except BaseException:
            written.discard()
            raise
        sample = reservoir.rows
    logger.info(
        "Scored %d rows in %.1f s (%s); predictions in %s",
        summary.rows,
        summary.seconds,
        summary.scored_by,
        summary.location,
    )
    log_metadata(
        metadata={
            "predictions_location": summary.location,
            "scored_by": summary.scored_by,
            "n_rows": summary.rows,
            "rows_per_second": round(summary.rows / max(summary.seconds, 1e-9)),
            "batch_fingerprint": reference["fingerprint"],
        },
        run_id_name_or_prefix=context.pipeline_run.id,
    )
    return reference, sample, summary.rows, summary


def _chunks(data: DataConfig, schema: FeatureSchema, rows: int) -> tuple[Iterator[Chunk], dict[str, Any]]:
    """The batch's chunks and its reference: files are listed and read as they are scored; any
    other source is read whole (a database query, a stream's batch), then cut into chunks."""
    source = data.source
    if isinstance(source, FilesSource):
        fs = filesystem_for(source.location())
        batch = list_batch(source, fs)
        return read_chunks(batch, fs, rows, arrow_types(schema)), _files_reference(source, batch)
    frame, version = read_source(source)
    reference = {
        "source": describe_source(source),
        "rows": len(frame),
        "fingerprint": data_fingerprint(frame),
        **version,
    }
    return frame_chunks(frame, rows, describe_source(source)), reference


def _files_reference(source: FilesSource, batch: BatchFiles) -> dict[str, Any]:
    return {"source": describe_source(source), **batch.reference()}


class _Scorer:
    """Scores a chunk on the live endpoint while it serves the version, else in process.

    The first chunk decides: with `mode: auto` an endpoint that is missing or serves another version
    means in process for the whole batch; an endpoint failing later fails the run rather than mix
    answers. Each request batch checks the served version first (`score_on_endpoint`).
    """

    def __init__(self, scoring: ScoringConfig, model_name: str, version: str) -> None:
        self.scoring, self.model_name, self.version = scoring, model_name, version
        self.scored_by: str = ""
        self._client: V2Client | None = None
        self._model: Any = None

    def __call__(self, features: pd.DataFrame) -> Predictions:
        if not self.scored_by:
            self.scored_by = "in_process"
            if self.scoring.mode != "in_process":
                try:
                    url = deployed_base_url(Client().active_stack.model_deployer, self.model_name)
                    client = V2Client(url, self.model_name)
                    predictions = score_on_endpoint(client, features, self.version, self.scoring.request_rows)
                    self._client, self.scored_by = client, url
                    return predictions
                except (ConfigError, V2RequestError) as error:
                    if self.scoring.mode == "endpoint":
                        raise
                    logger.info("Scoring in process: %s", error)
        if self._client is not None:
            return score_on_endpoint(self._client, features, self.version, self.scoring.request_rows)
        if self._model is None:
            self._model = load_version_artifact(MODEL)
        return score_in_process(self._model, features, self.version)
