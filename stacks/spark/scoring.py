"""Score a batch's files on Spark with the production version's fitted pipeline, saved as an MLflow
model whose pyfunc answers `predict_proba` and loaded on the executors by `mlflow.pyfunc.spark_udf`.

The output has the local engine's columns and types (the checked rows, `prediction`, a `proba_<class>`
per class, `model_version`), written by Spark under the same hidden folder and published the same
way, after the batch's rules held on all of it.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.batch_scoring import BatchPredictions, BatchTotals, PartitionedOutput
from core.batches import BatchFiles
from core.dependencies import pyfunc_requirements
from core.drift import DriftConfig
from core.errors import DataSourceError, DataValidationError
from core.rules import UNIQUE
from core.scoring import PREDICTION_COLUMN, VERSION_COLUMN, SparkConfig
from core.validation import FeatureSchema, check_null_shares, features_validator
from stacks.spark.session import spark_session

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType, StructType
    from sklearn.pipeline import Pipeline

FILE_COLUMN = "__input_file"
PROBABILITIES_COLUMN = "__probabilities"
# How a user-facing error raised on an executor reaches the driver: inside Spark's PythonException.
EXECUTOR_ERROR = re.compile(r"core\.errors\.(?:DataValidationError|DataSourceError): (.+)")
PYTHON_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception): ")


@dataclass(frozen=True)
class SparkScores:
    summary: BatchPredictions
    sample: pd.DataFrame


def score_on_spark(
    batch: BatchFiles,
    model: Pipeline,
    schema: FeatureSchema,
    version: str,
    written: PartitionedOutput,
    config: SparkConfig,
    drift: DriftConfig,
) -> SparkScores:
    """Read, check, score and write the batch on Spark into `written`'s hidden folder; published only
    when every row was scored and the whole batch keeps the model's contract, else removed."""
    started = time.perf_counter()
    staging = str(written.fs.unstrip_protocol(written.staging))
    with spark_session(config) as spark, tempfile.TemporaryDirectory(prefix="spark-model-") as scratch:
        try:
            scored = _scored(
                spark, batch, model, schema, version, _mlflow_model(model, Path(scratch)), config
            )
            writer = scored.write.mode("error")
            try:
                writer.parquet(staging) if written.format == "parquet" else writer.csv(staging, header=True)
            except Exception as error:
                raise _user_facing(error) from None
            result = spark.read.parquet(staging) if written.format == "parquet" else scored
            totals, missing = _totals(result, schema, model)
            _check_unique(result, schema)
            check_null_shares(schema.contract, missing, totals.rows)
            sample = _sample(result.select(*schema.features), totals.rows, drift)
            parts = len([name for name in written.fs.ls(written.staging, detail=False) if "/part-" in name])
            summary = BatchPredictions(
                location=written.uri,
                format=written.format,
                files=parts,
                rows=totals.rows,
                model_version=version,
                scored_by=f"spark ({config.master})",
                label_counts=totals.labels,
                mean_probabilities=totals.mean_probabilities,
                seconds=round(time.perf_counter() - started, 3),
            )
            written.publish(summary.model_dump())
        except BaseException:
            written.discard()
            raise
    return SparkScores(summary=summary, sample=sample)


def _mlflow_model(model: Pipeline, folder: Path) -> str:
    """The fitted pipeline as an MLflow model whose pyfunc returns `predict_proba`."""
    import mlflow.sklearn
    import skops.io

    path = folder / "model"
    mlflow.sklearn.save_model(
        model,
        str(path),
        pyfunc_predict_fn="predict_proba",
        pip_requirements=pyfunc_requirements(model),
        # Built in this project's training step: the types it holds are the ones to trust on load.
        skops_trusted_types=skops.io.get_untrusted_types(data=skops.io.dumps(model)),
    )
    return str(path)


def _scored(
    spark: SparkSession,
    batch: BatchFiles,
    model: Pipeline,
    schema: FeatureSchema,
    version: str,
    model_uri: str,
    config: SparkConfig,
) -> DataFrame:
    import mlflow.pyfunc
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, DoubleType

    paths = [file.path for file in batch.files]
    try:
        if batch.format == "parquet":
            rows = spark.read.parquet(*paths)
        else:
            rows = spark.read.csv(paths, header=True, sep=batch.separator, encoding=batch.encoding)
    except Exception as error:
        raise _user_facing(error) from None
    columns = rows.columns
    checked_schema = _checked_schema(rows.schema, schema)

    def check(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        # Each partition's rows; null shares and uniqueness are judged on the whole output after.
        validate = features_validator(schema, per_chunk=True)
        for frame in frames:
            where = str(frame[FILE_COLUMN].iloc[0]).removeprefix("file://") if len(frame) else "?"
            try:
                yield validate(frame.drop(columns=FILE_COLUMN))[columns]
            except DataValidationError as error:
                raise DataValidationError(f"{where}: {error}") from None

    checked = rows.withColumn(FILE_COLUMN, F.input_file_name()).mapInPandas(check, checked_schema)
    predict = mlflow.pyfunc.spark_udf(
        spark, model_uri, result_type=ArrayType(DoubleType()), env_manager=config.env_manager
    )
    classes = [value.item() if hasattr(value, "item") else value for value in model.classes_]
    probabilities = F.col(PROBABILITIES_COLUMN)
    label = F.element_at(
        F.array(*(F.lit(value).cast(_spark_type(value)) for value in classes)),
        F.array_position(probabilities, F.array_max(probabilities)).cast("int"),
    )
    return checked.withColumn(PROBABILITIES_COLUMN, predict(F.struct(*schema.features))).select(
        *columns,
        label.alias(PREDICTION_COLUMN),
        *(probabilities[index].alias(f"proba_{name}") for index, name in enumerate(classes)),
        F.lit(version).alias(VERSION_COLUMN),
    )


def _spark_type(value: Any) -> str:
    """The Spark type of a class label as the local engine writes it (numpy's int64, float64, ...)."""
    if isinstance(value, bool):
        return "boolean"
    return {int: "long", float: "double"}.get(type(value), "string")


def _checked_schema(read: StructType, schema: FeatureSchema) -> StructType:
    """The rows' Spark schema after the checks: features as the validation leaves them."""
    from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType, StructField, StructType

    kinds: dict[str, DataType] = {
        "numeric": DoubleType(),
        "integer": LongType(),
        "boolean": BooleanType(),
        "categorical": StringType(),
    }
    return StructType(
        [
            StructField(field.name, kinds[schema.columns[field.name]], True)
            if field.name in schema.columns
            else field
            for field in read.fields
        ]
    )


def _totals(result: DataFrame, schema: FeatureSchema, model: Any) -> tuple[BatchTotals, pd.Series]:
    """Rows, labels, mean probabilities and missing values per feature, in one pass over the output."""
    from pyspark.sql import functions as F

    classes = [str(value) for value in model.classes_]
    aggregates = [F.count(F.lit(1)).alias("rows")]
    aggregates += [
        F.sum(F.col(name).isNull().cast("long")).alias(f"missing {name}") for name in schema.features
    ]
    aggregates += [F.sum(f"proba_{name}").alias(f"sum {name}") for name in classes]
    found = result.agg(*aggregates).first()
    assert found is not None
    counted = result.groupBy(PREDICTION_COLUMN).count().collect()
    totals = BatchTotals(
        rows=int(found["rows"]),
        labels={str(row[PREDICTION_COLUMN]): int(row["count"]) for row in counted},
        probability_sums={name: float(found[f"sum {name}"] or 0.0) for name in classes},
    )
    missing = pd.Series({name: int(found[f"missing {name}"] or 0) for name in schema.features}, dtype="int64")
    return totals, missing


def _check_unique(result: DataFrame, schema: FeatureSchema) -> None:
    """The contract's unique columns hold no value twice in the whole batch."""
    from pyspark.sql import functions as F

    for name, declared in schema.contract.rules.items():
        if not declared.unique:
            continue
        repeated = (
            result.where(F.col(name).isNotNull())
            .groupBy(name)
            .count()
            .where(F.col("count") > 1)
            .limit(3)
            .collect()
        )
        if repeated:
            shown = ", ".join(str(row[name]) for row in repeated)
            raise DataValidationError(f"column '{name}': {UNIQUE} (e.g. {shown})")


def _sample(features: DataFrame, rows: int, drift: DriftConfig) -> pd.DataFrame:
    """A seeded sample of about `drift.sample_rows` rows for the drift check (Spark's Bernoulli
    sampling, a little over the fraction, then cut to size)."""
    if drift.sample_rows is None or rows <= drift.sample_rows:
        return features.toPandas()
    fraction = min(1.0, 1.1 * drift.sample_rows / rows)
    return features.sample(fraction=fraction, seed=drift.seed).limit(drift.sample_rows).toPandas()


def _user_facing(error: Exception) -> Exception:
    """An executor's DataValidationError as itself; any other Spark failure as one line."""
    found = EXECUTOR_ERROR.search(str(error))
    if found:
        return DataValidationError(found.group(1).strip())
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    python = [line for line in lines if PYTHON_ERROR_LINE.match(line)]  # a worker's own error, if any
    reason = python[-1] if python else lines[0] if lines else type(error).__name__
    return DataSourceError(f"Spark failed: {reason}")
