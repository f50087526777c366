"""A Spark session for one batch: the configured master and settings over defaults that keep a
local-mode Spark on 127.0.0.1, without its web UI, with its scratch space in a folder of its own."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from core.errors import ConfigError
from core.scoring import SparkConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

APP_NAME = "mlops-template batch inference"


@contextmanager
def spark_session(config: SparkConfig) -> Iterator[SparkSession]:
    """Started for the batch and stopped after it, with its JVM (a local master runs inside it)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("scoring.engine: spark needs PySpark: bash scripts/setup.sh spark") from None
    with tempfile.TemporaryDirectory(prefix="spark-") as scratch:
        settings = {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.ui.enabled": "false",
            "spark.local.dir": scratch,
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.sql.session.timeZone": "UTC",
            **config.conf,
        }
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        if config.master.startswith("local"):
            # Python workers run this interpreter, whose environment has the model's packages (a
            # cluster's executors name theirs with spark.pyspark.python).
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.master(config.master).appName(APP_NAME)
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            spark = builder.getOrCreate()
        except Exception as error:  # Py4J and the JVM launcher raise their own kinds
            text = str(error).strip().splitlines()
            raise ConfigError(
                f"scoring.spark: Spark did not start ({text[0] if text else type(error).__name__}); "
                "check `master` and that Java 17 or newer is installed"
            ) from None
        spark.sparkContext.setLogLevel(config.log_level)
        try:
            yield spark
        finally:
            spark.stop()
