"""The ML logic of the lifecycle, plain and testable: sources, schema and validation, modeling,
metrics, the promotion decision, drift, scoring and simulation.

It imports no ZenML, MLflow, uv or Kubernetes and starts no process (the import contracts in
pyproject.toml check it); the steps in `steps/` are thin ZenML wrappers over it.
"""
