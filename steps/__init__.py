"""Thin ZenML steps, one module per lifecycle stage, over the plain functions in `core/`."""

from steps import package_lookup  # noqa: F401  (installs the one-scan package lookup for ZenML)
