"""Airflow on this machine: the `local_airflow` orchestrator flavor and the operator its DAGs run."""
