"""Thin ZenML steps, one module per lifecycle stage, over the plain functions in `core/`."""
