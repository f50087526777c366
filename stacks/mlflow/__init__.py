"""MLflow experiment tracking of training runs."""
