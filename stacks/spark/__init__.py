"""Spark: batch inference beyond one machine, with the production version's MLflow model scored by
`mlflow.pyfunc.spark_udf` (the `spark` extra)."""
